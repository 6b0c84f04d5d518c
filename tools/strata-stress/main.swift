import Glibc
import Strata
import ToolSupport

// strata-stress: random multi-threaded operations against a database with
// an expected-state oracle (RocksDB's db_stress), and the SIGKILL crash test
// that drives it (db_crashtest.py). See docs/durability.md.

let usage = """
    usage:
      strata-stress --db=DIR [--seed=N] [--threads=N] [--keys=N] [--duration=SECONDS]
                    [--sync_percent=P] [--range_deletes=0|1] [--merges=0|1] [--checkpoints=0|1] [--compaction_style=0|1]
                    [--column_families=N] [--reopen_seconds=S] [--disable_wal] [--expected_state=FILE]
                    [--enable_compaction_filter=0|1]
          Verifies DIR against the expected state, prints "ready", then runs
          puts, deletes, merges, batches over several column families, range
          deletions, gets, scans, snapshot reads, flushes, compactions and
          checkpoints (each checked) on N threads (each owns a key range, in
          every family) until the duration ends; with --reopen_seconds it
          closes, reopens and verifies the database that often. Any wrong
          read or error: exit status 1.
      strata-stress --db=DIR --verify_only [--keys=N] [--column_families=N] [--expected_state=FILE]
          Checks DIR against the expected state (after a crash): exit status 0
          if nothing acknowledged was lost and no read was wrong, else 3.
      strata-stress --crash_test [--cycles=N] [--seed=N] [--db=DIR] [--threads=N]
                    [--keys=N] [--kill_min_ms=MS] [--kill_max_ms=MS] [--max_seconds=S]
                    [--reopen_seconds=S] (and the run flags above)
          Repeats: start a run, SIGKILL it after a seeded random delay, verify
          in a fresh process. Prints one line per cycle and
          "N cycles, L lost acknowledged writes, W wrong reads"; exit status 0
          only if both are 0. Without --db uses (and then removes) a temporary
          directory.
      Defaults: 4 threads, 10,000 keys, 2 column families (default, cf1),
      merges, range deletions and checkpoints on, 5% sync writes; the crash
      test reopens every 0.7 s (--reopen_seconds=0 turns it off).
      Whitebox (a build with -Xswiftc -DSTRATA_KILL_POINTS, which
      tools/strata-crash-test makes when given --kill_point):
        --kill_point=NAME|PREFIX|all [--kill_odds=N]  the run kills itself at a
          named point of the write path (WAL.append, WAL.sync, WAL.synced,
          MANIFEST.append, MANIFEST.sync, MANIFEST.synced, Table.finish,
          Table.synced, CURRENT.rename, CURRENT.renamed) with probability 1/N
          per pass; "all" takes the next point each cycle; the summary counts
          kills by point.
      --enable_compaction_filter=1: every family gets the stress compaction
        filter (tools/strata-stress/StressFilter.swift): values of some
        generations are changed or removed, which the verifier models exactly,
        and old versions of keys the expected state says are deleted are
        removed (db_stress's DbStressCompactionFilter).
      --disable_wal is a negative control: a kill then loses acknowledged
      writes, and the crash test must report them.
      The expected state defaults to DIR.expected (beside the database).
    """

func runMain() -> Int32 {
    do {
        let flags = try ParsedFlags(arguments: Array(CommandLine.arguments.dropFirst()))
        let allowed: Set<String> = ["compaction_style", "db", "seed", "threads", "keys", "duration", "sync_percent", "expected_state",
                                    "verify_only", "crash_test", "range_deletes", "disable_wal", "cycles", "kill_min_ms", "kill_max_ms", "max_seconds",
                                    "merges", "checkpoints", "column_families", "reopen_seconds", "kill_point", "kill_odds", "help",
                                    "enable_compaction_filter"]
        if flags.bool("help") {
            print(usage)
            return 0
        }
        if let unknown = flags.unknownFlags(allowed: allowed).first {
            throw ToolError("unknown flag --\(unknown)\n\(usage)")
        }
        /// `--name` as a non-negative number of seconds, nil if absent.
        func seconds(_ name: String) throws -> Double? {
            guard let text = flags.string(name) else { return nil }
            guard let value = Double(text), value.isFinite, value >= 0 else {
                throw ToolError("--\(name)=\(text): expected a number of seconds >= 0\n\(usage)")
            }
            return value
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
        // Numbers are range-checked, not clamped (--threads=0 ran one
        // thread, --duration=abc ran 60 s).
        config.seed = try flags.unsigned("seed") ?? 1
        config.threads = try flags.int("threads", in: 1...ExpectedState.maxThreads) ?? 4
        config.keys = try flags.int("keys", in: config.threads...Int(Int32.max)) ?? 10_000
        config.duration = try seconds("duration") ?? 60
        config.syncPercent = try flags.int("sync_percent", in: 0...100) ?? 5
        config.rangeDeletes = (try flags.int("range_deletes") ?? 1) != 0
        config.disableWAL = flags.bool("disable_wal")
        config.merges = (try flags.int("merges") ?? 1) != 0
        config.checkpoints = (try flags.int("checkpoints") ?? 1) != 0
        config.families = try flags.int("column_families", in: 1...8) ?? 2
        config.universal = (try flags.int("compaction_style") ?? 0) == 1
        config.compactionFilter = (try flags.int("enable_compaction_filter") ?? 0) == 1
        ExpectedState.compactionFilter = config.compactionFilter
        config.reopenSeconds = try seconds("reopen_seconds") ?? (flags.bool("crash_test") ? 0.7 : 0)

        if flags.bool("crash_test") {
            var driver = CrashDriver(config: config)
            driver.cycles = try flags.int("cycles", in: 1...Int(Int32.max)) ?? 10
            driver.killMinMilliseconds = try flags.int("kill_min_ms", in: 0...Int(Int32.max)) ?? 200
            driver.killMaxMilliseconds = max(driver.killMinMilliseconds,
                                             try flags.int("kill_max_ms", in: 0...Int(Int32.max)) ?? 2000)
            driver.maxSeconds = try seconds("max_seconds") ?? 0
            driver.killPoint = flags.string("kill_point")
            driver.killOdds = try flags.int("kill_odds")
            if driver.killPoint != nil && !KillPoints.compiledIn {
                throw ToolError("--kill_point needs a build with kill points: tools/strata-crash-test --kill_point=… builds one")
            }
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

        let state = try ExpectedState(path: config.expectedPath, keys: config.keys * config.families)
        config.filterContext.countIn(state)
        var (database, families) = try config.open()
        let verification = try Verifier.verify(families, state, keys: config.keys, threads: config.threads)
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
        // The database holds exactly the expected state now: the filter's
        // state-based removals may consult it.
        if config.compactionFilter { config.filterContext.activate(state) }
        print("ready: seed \(config.seed), \(config.threads) threads, \(config.keys) keys, \(config.families) column families"
            + (config.compactionFilter ? ", compaction filter on" : ""))
        fflush(nil)
        if let point = flags.string("kill_point") {
            #if STRATA_KILL_POINTS
            KillPoints.arm(prefix: point, odds: try flags.int("kill_odds") ?? 100, seed: config.seed)
            #else
            throw ToolError("--kill_point needs a build with -DSTRATA_KILL_POINTS (tools/strata-crash-test --kill_point=…)")
            #endif
        }
        let end = now() + config.duration
        var reopens = 0
        var checkpoints = 0
        while true {
            let segmentEnd = config.reopenSeconds > 0 ? min(end, now() + config.reopenSeconds) : end
            let workers = StressWorkers(db: database, families: families, state: state, config: config)
            workers.run(until: segmentEnd)
            checkpoints += workers.checkpointsTaken.withLock { $0 }
            if let failure = workers.failure {
                printError("strata-stress: \(failure)")
                try? database.close()
                return 1
            }
            guard segmentEnd < end else { break }
            // Close, reopen, and check everything: a clean reopen loses
            // nothing. Writes without the WAL are only in the memtables, and
            // close does not flush them (docs/durability.md), so flush first.
            if config.disableWAL { for family in families { try family.flush() } }
            try database.close()
            (database, families) = try config.open()
            let check = try Verifier.verify(families, state, keys: config.keys, threads: config.threads)
            reopens += 1
            guard check.lost == 0 && check.wrong == 0 && check.pendingResolved == 0 else {
                printError("strata-stress: after reopen \(reopens): \(check)")
                try? database.close()
                return 1
            }
        }
        try database.close()
        print("done: \(state.acknowledgedTotal) acknowledged writes in total, \(reopens) reopens, \(checkpoints) checkpoints checked"
            + (config.compactionFilter ? "; " + FilterContext.summary(state) : ""))
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
