import Glibc
import Strata

/// The SIGKILL crash test (testing.md layer 5; RocksDB's db_crashtest.py):
/// start a stress run, wait until it writes, kill it with SIGKILL at a
/// seeded random moment, verify the database against the expected state in
/// a fresh process, repeat. WAL on and `sync: false`: a process kill must
/// lose no acknowledged write. In whitebox mode (`killPoint`) the run kills
/// itself at a named point of the write path instead (`KillPoints`).
struct CrashDriver {
    var config: StressConfig
    var cycles = 10
    var killMinMilliseconds = 200
    var killMaxMilliseconds = 2000
    /// Stop starting new cycles after this many seconds (0: no limit).
    var maxSeconds: Double = 0
    /// Whitebox mode (a build with `-DSTRATA_KILL_POINTS`): instead of a
    /// timed SIGKILL, the run kills itself at a kill point whose name starts
    /// with this prefix ("all": each cycle takes the next point of
    /// `KillPoints.all`), with probability 1/odds per pass.
    var killPoint: String? = nil
    /// Odds per pass; nil picks by point: passes through the WAL points
    /// come with every write, table and MANIFEST points with every flush
    /// or compaction, CURRENT with every reopen.
    var killOdds: Int? = nil

    static func defaultOdds(_ point: String) -> Int {
        if point == "WAL.append" { return 2000 }
        // Only sync writes (5%) pass these.
        if point.hasPrefix("WAL") { return 50 }
        if point.hasPrefix("CURRENT") { return 2 }
        return 8
    }

    /// Runs the cycles; returns the process exit status (0: nothing lost, no wrong read).
    func run() throws -> Int32 {
        let executable = try selfExecutable()
        var rng = Xoshiro256(seed: config.seed)
        var lost = 0
        var wrong = 0
        var done = 0
        var batchesChecked = 0
        var torn = 0
        var killsByPoint: [String: Int] = [:]
        let start = now()
        print("crash test: seed \(config.seed), \(cycles) cycles, \(config.threads) threads, \(config.keys) keys, "
            + "\(config.families) column families\(config.compactionFilter ? ", compaction filter on" : ""), reopen every \(config.reopenSeconds) s, kill after \(killMinMilliseconds)–\(killMaxMilliseconds) ms, db \(config.db)")
        for cycle in 1...max(1, cycles) {
            if maxSeconds > 0 && now() - start > maxSeconds {
                print("stopping after \(done) cycles: --max_seconds=\(Int(maxSeconds)) reached")
                break
            }
            let delay = killMinMilliseconds + Int(rng.uniform(UInt64(max(1, killMaxMilliseconds - killMinMilliseconds + 1))))
            var arguments = common
            arguments += ["--seed=\(config.seed &+ UInt64(cycle))", "--duration=3600"]
            var point: String? = nil
            if let killPoint {
                // "all": the next point in turn that has not fired yet (a
                // point whose cycle ended in a timed kill gets another
                // cycle); once each has fired, plain turns.
                if killPoint == "all" {
                    let n = KillPoints.all.count
                    let turn = (0..<n).map { KillPoints.all[(cycle - 1 + $0) % n] }
                    point = turn.first { killsByPoint[$0, default: 0] == 0 } ?? turn[0]
                } else {
                    point = killPoint
                }
                arguments += ["--kill_point=\(point!)", "--kill_odds=\(killOdds ?? Self.defaultOdds(point!))"]
            }
            let child = try Child(executable: executable, arguments: arguments)
            guard let line = child.readLine(prefix: "ready") else {
                let status = child.wait()
                print("cycle \(cycle): the stress run ended before writing (exit status \(status)):\n\(child.output)")
                return 1
            }
            _ = line
            var finishedEarly = false
            var selfKilled: String? = nil
            if point != nil {
                // Whitebox: wait for the run to kill itself; a timed kill
                // after 10 × the longest delay if no point fires.
                let limit = now() + Double(killMaxMilliseconds) * 10 / 1000
                while !child.hasExited() && now() < limit { usleep(10_000) }
                if !child.hasExited() { kill(child.pid, SIGKILL) }
            } else {
                usleep(UInt32(delay) * 1000)
                finishedEarly = child.hasExited()
                if !finishedEarly { kill(child.pid, SIGKILL) }
            }
            let status = child.wait()
            if point != nil {
                selfKilled = child.output.split(separator: "\n").last { $0.hasPrefix("kill point ") }
                    .map { String($0.dropFirst("kill point ".count)) }
                if let selfKilled { killsByPoint[selfKilled, default: 0] += 1 } else { killsByPoint["(timed kill)", default: 0] += 1 }
                finishedEarly = selfKilled == nil && status != 128 + SIGKILL
            }
            if finishedEarly && status != 0 {
                print("cycle \(cycle): the stress run failed (exit status \(status)):\n\(child.output)")
                return 1
            }
            // Verify in a fresh process, as after a real crash.
            let verifier = try Child(executable: executable, arguments: common + ["--verify_only"])
            let report = verifier.readLine(prefix: "verified") ?? ""
            let verifyStatus = verifier.wait()
            guard let counts = Self.parse(report) else {
                print("cycle \(cycle): verification failed (exit status \(verifyStatus)):\n\(verifier.output)")
                return 1
            }
            lost += counts.lost
            wrong += counts.wrong
            batchesChecked += counts.batches
            torn += counts.torn
            done += 1
            let acknowledged = (try? ExpectedState(path: config.expectedPath, keys: config.keys * config.families).acknowledgedTotal) ?? 0
            let how = point == nil ? "killed after \(delay) ms" : "killed at \(selfKilled.map { "kill point \($0)" } ?? "a timed kill (no \(point!) kill)")"
            print("cycle \(cycle): \(how)\(finishedEarly ? " (had already finished)" : ""); "
                + "\(acknowledged) acknowledged writes so far; \(report)")
            fflush(nil)
        }
        if !killsByPoint.isEmpty {
            print("kills by point: " + killsByPoint.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        if config.compactionFilter, let state = try? ExpectedState(path: config.expectedPath, keys: config.keys * config.families) {
            print(FilterContext.summary(state))
        }
        print("multi-family batches in flight at a kill: \(batchesChecked) checked, \(torn) torn (counted as wrong reads)")
        print("\(done) cycles, \(lost) lost acknowledged writes, \(wrong) wrong reads")
        if lost != 0 || wrong != 0 { return 3 }
        // With --kill_point=all every point must have fired at least once,
        // or part of the write path went untested while the run passed.
        if killPoint == "all" {
            let missed = KillPoints.all.filter { killsByPoint[$0, default: 0] == 0 }
            if !missed.isEmpty {
                print("FAIL: kill points that never fired: \(missed.joined(separator: ", ")) (more --cycles or --max_seconds, or lower --kill_odds)")
                return 1
            }
        }
        return 0
    }

    /// Flags every child gets.
    var common: [String] {
        ["--db=\(config.db)", "--expected_state=\(config.expectedPath)", "--threads=\(config.threads)",
         "--keys=\(config.keys)", "--sync_percent=\(config.syncPercent)",
         "--range_deletes=\(config.rangeDeletes ? 1 : 0)", "--merges=\(config.merges ? 1 : 0)",
         "--checkpoints=\(config.checkpoints ? 1 : 0)", "--column_families=\(config.families)",
         "--reopen_seconds=\(config.reopenSeconds)", "--compaction_style=\(config.universal ? 1 : 0)",
         "--enable_compaction_filter=\(config.compactionFilter ? 1 : 0)"]
            + (config.disableWAL ? ["--disable_wal"] : []) + (config.splitBatches ? ["--split_batches"] : [])
    }

    /// (lost, wrong, batches, torn) from a "verified N keys: L lost …, W
    /// wrong reads, …, B multi-family batches in flight checked atomic (T torn)" line.
    static func parse(_ line: String) -> (lost: Int, wrong: Int, batches: Int, torn: Int)? {
        let words = line.split(separator: " ")
        guard let l = words.firstIndex(of: "lost"), l > 0, let lost = Int(words[l - 1]),
              let w = words.firstIndex(of: "wrong"), w > 0, let wrong = Int(words[w - 1]),
              let b = words.firstIndex(of: "multi-family"), b > 0, let batches = Int(words[b - 1]),
              let t = words.firstIndex(where: { $0.hasPrefix("torn)") }), t > 0,
              let torn = Int(words[t - 1].drop { $0 == "(" }) else { return nil }
        return (lost, wrong, batches, torn)
    }

    func selfExecutable() throws -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { readlink("/proc/self/exe", $0, b.count - 1) }
        }
        guard n > 0 else { throw StressError("cannot find this executable (/proc/self/exe)") }
        return String(decoding: buffer[..<n], as: UTF8.self)
    }
}

/// A child process with its standard output on a pipe.
final class Child {
    let pid: pid_t
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var status: Int32?
    /// Everything read from the child so far.
    private(set) var output = ""

    init(executable: String, arguments: [String]) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw StressError("pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, nil, argv, environ)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw StressError("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        pid = child
        fd = fds[0]
    }

    deinit { close(fd) }

    /// Reads lines until one starts with `prefix`; nil at end of output.
    func readLine(prefix: String) -> String? {
        while true {
            while let newline = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                output += line + "\n"
                if line.hasPrefix(prefix) { return line }
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            buffer += chunk[..<n]
        }
    }

    /// True if the child has exited (reaps it).
    func hasExited() -> Bool {
        if status != nil { return true }
        var s: Int32 = 0
        if waitpid(pid, &s, WNOHANG) == pid {
            status = s
            return true
        }
        return false
    }

    /// Waits for the child; its exit code, or 128 + signal if killed.
    @discardableResult
    func wait() -> Int32 {
        if status == nil {
            var s: Int32 = 0
            while waitpid(pid, &s, 0) < 0 && errno == EINTR {}
            status = s
        }
        // Drain what it printed.
        while readLine(prefix: "\u{0}") != nil {}
        let s = status!
        if s & 0x7F == 0 { return (s >> 8) & 0xFF }
        return 128 + (s & 0x7F)
    }
}
