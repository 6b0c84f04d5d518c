import Glibc
import Strata
import ToolCommands
import ToolSupport

// strata-stress: random multi-threaded operations against a database with
// an expected-state oracle (RocksDB's db_stress), and the SIGKILL crash test
// that drives it (db_crashtest.py). See docs/durability.md.

// The flags and their ranges: ToolCommands/StrataStressCommand.swift
// (`strata-stress --help`). A usage error exits 1, as a failed run does.
func runMain() -> Int32 {
    guard let flags = ToolMain.parseOrExit(StrataStressCommand.self, Array(CommandLine.arguments.dropFirst()),
                                           usageStatus: 1) as? StrataStressCommand
    else { return 1 }
    do {
        var temporary: String? = nil
        var db = flags.db ?? ""
        if db.isEmpty {
            guard flags.crashTest.or(false) else { throw ToolError("--db=DIR is required") }
            var template = Array("/tmp/strata-crash-test-XXXXXX".utf8CString)
            guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw ToolError("mkdtemp failed")
            }
            temporary = String(cString: made)
            db = temporary! + "/db"
        }
        var config = StressConfig(db: db, expectedPath: flags.expectedState ?? db + ".expected")
        // Numbers were range-checked when parsing, not clamped (--threads=0
        // ran one thread, --duration=abc ran 60 s).
        config.seed = flags.seed ?? 1
        config.threads = flags.threads ?? 4
        guard config.threads <= ExpectedState.maxThreads else {
            throw ToolError("--threads=\(config.threads): expected 1...\(ExpectedState.maxThreads)")
        }
        config.keys = flags.keys ?? 10_000
        guard config.keys >= config.threads else { throw ToolError("--keys=\(config.keys): expected \(config.threads) or more") }
        config.duration = flags.duration?.value ?? 60
        config.syncPercent = flags.syncPercent ?? 5
        config.rangeDeletes = flags.rangeDeletes.or(true)
        config.disableWAL = flags.disableWAL.or(false)
        config.splitBatches = flags.splitBatches.or(false)
        config.merges = flags.merges.or(true)
        config.checkpoints = flags.checkpoints.or(true)
        config.families = flags.columnFamilies ?? 2
        config.universal = flags.compactionStyle == 1
        config.compactionFilter = flags.enableCompactionFilter.or(false)
        ExpectedState.compactionFilter = config.compactionFilter
        let crashTest = flags.crashTest.or(false)
        config.reopenSeconds = flags.reopenSeconds?.value ?? (crashTest ? 0.7 : 0)

        if crashTest {
            var driver = CrashDriver(config: config)
            driver.cycles = flags.cycles ?? 10
            driver.killMinMilliseconds = flags.killMinMilliseconds ?? 200
            driver.killMaxMilliseconds = max(driver.killMinMilliseconds, flags.killMaxMilliseconds ?? 2000)
            driver.maxSeconds = flags.maxSeconds?.value ?? 0
            driver.killPoint = flags.killPoint
            driver.killOdds = flags.killOdds
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
        if flags.verifyOnly.or(false) {
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
        if let point = flags.killPoint {
            #if STRATA_KILL_POINTS
            KillPoints.arm(prefix: point, odds: flags.killOdds ?? 100, seed: config.seed)
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
