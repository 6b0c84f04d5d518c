import Glibc
import Strata
import ToolSupport

// strata-stress: random multi-threaded operations against a database with
// an expected-state oracle (RocksDB's db_stress), and the SIGKILL crash test
// that drives it (db_crashtest.py). See docs/durability.md.

let usage = """
    usage:
      strata-stress --db=DIR [--seed=N] [--threads=N] [--keys=N] [--duration=SECONDS]
                    [--sync_percent=P] [--range_deletes=0|1] [--disable_wal] [--expected_state=FILE]
          Verifies DIR against the expected state, prints "ready", then runs
          puts, deletes, batches, range deletions, gets, scans, snapshot
          reads, flushes and compactions on N threads (each owns a key range)
          until the duration ends. Any wrong read or error: exit status 1.
      strata-stress --db=DIR --verify_only [--keys=N] [--expected_state=FILE]
          Checks DIR against the expected state (after a crash): exit status 0
          if nothing acknowledged was lost and no read was wrong, else 3.
      strata-stress --crash_test [--cycles=N] [--seed=N] [--db=DIR] [--threads=N]
                    [--keys=N] [--kill_min_ms=MS] [--kill_max_ms=MS] [--max_seconds=S]
          Repeats: start a run, SIGKILL it after a seeded random delay, verify
          in a fresh process. Prints one line per cycle and
          "N cycles, L lost acknowledged writes, W wrong reads"; exit status 0
          only if both are 0. Without --db uses (and then removes) a temporary
          directory.
      --disable_wal is a negative control: a kill then loses acknowledged
      writes, and the crash test must report them.
      The expected state defaults to DIR.expected (beside the database).
    """

func runMain() -> Int32 {
    do {
        let flags = try ParsedFlags(arguments: Array(CommandLine.arguments.dropFirst()))
        let allowed: Set<String> = ["db", "seed", "threads", "keys", "duration", "sync_percent", "expected_state",
                                    "verify_only", "crash_test", "range_deletes", "disable_wal", "cycles", "kill_min_ms", "kill_max_ms", "max_seconds",
                                    "help"]
        if flags.bool("help") {
            print(usage)
            return 0
        }
        if let unknown = flags.unknownFlags(allowed: allowed).first {
            throw ToolError("unknown flag --\(unknown)\n\(usage)")
        }
        var temporary: String? = nil
        var db = flags.string("db") ?? ""
        if db.isEmpty {
            guard flags.bool("crash_test") else { throw ToolError("--db=DIR is required\n\(usage)") }
            var template = Array("/tmp/strata-crash-test-XXXXXX".utf8CString)
            guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw ToolError("mkdtemp failed")
            }
            temporary = String(cString: made)
            db = temporary! + "/db"
        }
        var config = StressConfig(db: db, expectedPath: flags.string("expected_state") ?? db + ".expected")
        config.seed = UInt64(try flags.int("seed") ?? 1)
        config.threads = min(ExpectedState.maxThreads, max(1, try flags.int("threads") ?? 4))
        config.keys = max(config.threads, try flags.int("keys") ?? 10_000)
        config.duration = Double(flags.string("duration") ?? "60") ?? 60
        config.syncPercent = try flags.int("sync_percent") ?? 5
        config.rangeDeletes = (try flags.int("range_deletes") ?? 1) != 0
        config.disableWAL = flags.bool("disable_wal")

        if flags.bool("crash_test") {
            var driver = CrashDriver(config: config)
            driver.cycles = try flags.int("cycles") ?? 10
            driver.killMinMilliseconds = try flags.int("kill_min_ms") ?? 200
            driver.killMaxMilliseconds = max(driver.killMinMilliseconds, try flags.int("kill_max_ms") ?? 2000)
            driver.maxSeconds = Double(flags.string("max_seconds") ?? "0") ?? 0
            let status = try driver.run()
            if let temporary {
                if status == 0 {
                    _ = rmTree(temporary)
                } else {
                    print("database kept for inspection: \(db) (expected state \(config.expectedPath))")
                }
            }
            return status
        }

        let state = try ExpectedState(path: config.expectedPath, keys: config.keys)
        let database = try Database.open(at: config.db, options: config.options)
        let verification = try Verifier.verify(database, state)
        print(verification)
        fflush(nil)
        if flags.bool("verify_only") {
            try database.close()
            return verification.lost == 0 && verification.wrong == 0 ? 0 : 3
        }
        guard verification.lost == 0 && verification.wrong == 0 else {
            try? database.close()
            return 3
        }
        print("ready: seed \(config.seed), \(config.threads) threads, \(config.keys) keys")
        fflush(nil)
        let workers = StressWorkers(db: database, state: state, config: config)
        workers.run(until: now() + config.duration)
        if let failure = workers.failure {
            printError("strata-stress: \(failure)")
            try? database.close()
            return 1
        }
        try database.close()
        print("done: \(state.acknowledgedTotal) acknowledged writes in total")
        return 0
    } catch {
        printError("strata-stress: \(error)")
        return 1
    }
}

/// Removes a directory tree (the crash test's temporary directory).
func rmTree(_ path: String) -> Bool {
    guard let dir = opendir(path) else { return unlink(path) == 0 }
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
        }
        if name == "." || name == ".." { continue }
        let child = path + "/" + name
        var st = stat()
        if lstat(child, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            _ = rmTree(child)
        } else {
            unlink(child)
        }
    }
    closedir(dir)
    return rmdir(path) == 0
}

exit(runMain())
