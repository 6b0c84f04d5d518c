import Testing
@testable import Strata
import StrataTestSupport

/// Error tests (testing.md layer 4): an I/O error injected into any class
/// of file-system operation, at the k-th such operation or at random, gives
/// a clean `.ioError` — never a crash, never corruption, never a wrong read.
/// After a failed write or background job the database refuses writes and
/// says why (`property("strata.background-error")`); reopening clears that
/// and recovers every acknowledged write.
@Suite("Error injection")
struct ErrorInjectionTests {
    typealias OperationClass = FaultInjectionFileSystem.OperationClass

    /// Outcome of one faulty run, for the sweep's summary.
    struct Outcome {
        var errors = 0
        var injected = 0
        var injectedByClass: [OperationClass: Int] = [:]
        var poisoned = false
    }

    /// Runs `workload` with `configure` injecting faults, and checks:
    /// every error is an `.ioError`; every successful read agrees with the
    /// acknowledged writes; a stopped database says so and refuses writes;
    /// after the faults are cleared the database reopens (also from a power
    /// loss image) with a prefix of the writes holding every acknowledged
    /// (resp. synced) one. `label` names the run in failures.
    static func run(_ workload: CrashWorkload, label: String,
                    options: @escaping (any FileSystem) -> Options = CrashWorkload.options,
                    configure: (FaultInjectionFileSystem) -> Void) throws -> Outcome {
        let memory = MemoryFileSystem()
        let fs = FaultInjectionFileSystem(base: memory)
        configure(fs)
        var runner = WorkloadRunner(workload: workload, fs: fs)
        runner.options = options
        let progress = runner.progress
        let poisoned = Locked(false)
        // Fates of failed writes observed after a reopen (true: applied).
        let resolved = Locked<[Int: Bool]>([:])
        runner.afterStep = { db, step in
            let stopped = db.property("strata.background-error") ?? ""
            if !stopped.isEmpty {
                poisoned.withLock { $0 = true }
                #expect(stopped.contains("ioError"), "\(label) step \(step): background error \(stopped)")
                do {
                    try db.put(Array("probe".utf8), [])
                    Issue.record("\(label) step \(step): a write succeeded after the background error \(stopped)")
                } catch let error as StrataError {
                    #expect(error.kind == .ioError, "\(label): \(error)")
                }
            }
            let state: [[UInt8]: [UInt8]]
            do {
                state = try StateReader.read(db)
            } catch let error as StrataError {
                // A read may fail if a read fault fires, but only cleanly.
                #expect(error.kind == .ioError, "\(label) step \(step): read failed with \(error)")
                return
            }
            // Live reads: every acknowledged write; no failed write since
            // the last open; failed writes before it as the reopen found them.
            let c = progress.snapshot
            let fate = resolved.withLock { $0 }
            let optional = c.failed.filter { $0 < c.openedAt && fate[$0] == nil }
            let excluded = Set(c.failed.filter { $0 >= c.openedAt || fate[$0] == false } + c.skipped)
            let explanations = workload.explanations(state, in: c.attempted...c.attempted, optional: optional, excluded: excluded)
            if explanations.isEmpty {
                let diff = CrashSweepTests.difference(state, workload, prefix: c.attempted)
                Issue.record("\(label) step \(step): wrong read (failed writes \(c.failed)): \(diff)")
            } else if explanations.count == 1 {
                resolved.withLock { r in for i in optional { r[i] = explanations[0].contains(i) } }
            }
        }
        let errors = try runner.run()
        for error in errors where error.kind != .ioError {
            Issue.record("\(label): an injected I/O error surfaced as \(error)")
        }
        let injected = fs.injectedTotal
        let injectedByClass = fs.injectedCounts
        fs.clearFaults()
        let counts = progress.snapshot

        let fate = resolved.withLock { $0 }
        // Power loss now: a prefix holding every synced write.
        try check(memory.crashClone(), workload, counts: counts, fate: fate, lower: counts.syncedPrefix,
                  label: "\(label), power loss image")
        // No crash: every acknowledged write, and writes work again.
        try check(memory, workload, counts: counts, fate: fate, lower: counts.acknowledged, label: "\(label), reopen")
        return Outcome(errors: errors.count, injected: injected, injectedByClass: injectedByClass,
                       poisoned: poisoned.withLock { $0 })
    }

    static func check(_ fs: MemoryFileSystem, _ workload: CrashWorkload, counts: WorkloadProgress.Counts,
                      fate: [Int: Bool], lower: Int, label: String) throws {
        let db: Database
        do {
            db = try Database.open(at: "/db", options: CrashWorkload.options(fs))
        } catch {
            Issue.record("\(label): the database does not open: \(error)")
            return
        }
        defer { try? db.close() }
        #expect(db.property("strata.background-error") == "", "\(label): reopen did not clear the background error")
        let state = try StateReader.read(db)
        let optional = counts.failed.filter { fate[$0] == nil }
        let excluded = Set(counts.failed.filter { fate[$0] == false } + counts.skipped)
        if workload.explanations(state, in: lower...max(lower, counts.attempted), optional: optional, excluded: excluded).isEmpty {
            let diff = CrashSweepTests.difference(state, workload, prefix: lower)
            Issue.record("\(label): state is not a prefix of the writes in \(lower)...\(counts.attempted) (failed \(counts.failed)): \(diff)")
        }
        try db.put(Array("after".utf8), Array("1".utf8), options: WriteOptions(sync: true))
        #expect(try db.get(Array("after".utf8)) == Array("1".utf8))
    }

    /// How many operations of each class a clean run of `workload` makes.
    static func operationCounts(_ workload: CrashWorkload) throws -> [OperationClass: Int] {
        let fs = FaultInjectionFileSystem(base: MemoryFileSystem())
        let counts = Locked<[OperationClass: Int]>([:])
        fs.setHook { op in counts.withLock { $0[op.operationClass, default: 0] += 1 } }
        try WorkloadRunner(workload: workload, fs: fs).run()
        return counts.withLock { $0 }
    }

    /// The k values swept for a class with `count` operations: all of them
    /// up to `limit`, else `limit` evenly spread ones (always the first and last).
    static func points(_ count: Int, limit: Int) -> [Int] {
        guard count > limit else { return Array(1...max(1, count)) }
        return (0..<limit).map { 1 + $0 * (count - 1) / (limit - 1) }
    }

    @Test("an error at the k-th operation of each class: clean errors, right reads, full recovery",
          arguments: OperationClass.allCases.filter { $0 != .link })
    func errorAtEveryOperation(_ operationClass: OperationClass) throws {
        for seed: UInt64 in [201, 202] {
            let workload = CrashWorkload(seed: seed, count: 40)
            let total = try Self.operationCounts(workload)[operationClass] ?? 0
            var injected = 0
            var poisoned = 0
            for k in Self.points(total, limit: 60) {
                let outcome = try Self.run(workload, label: "seed \(seed), \(operationClass.rawValue) #\(k) of \(total)") {
                    $0.inject(operationClass, trigger: .nth(k))
                }
                injected += outcome.injected
                if outcome.poisoned { poisoned += 1 }
            }
            print("seed \(seed) \(operationClass.rawValue): \(total) operations, \(injected) errors injected, "
                + "\(poisoned) runs stopped by a background error")
            // The workload does operations of every class but link (not
            // swept), and each sweep point must have injected its error.
            #expect(total > 0, "seed \(seed): the workload made no \(operationClass.rawValue) operation")
            #expect(injected >= Self.points(total, limit: 60).count, "seed \(seed): \(injected) errors injected")
        }
    }

    @Test("random errors in every class at once: clean errors, right reads, full recovery")
    func randomErrors() throws {
        var injected: [OperationClass: Int] = [:]
        var poisoned = 0
        for seed: UInt64 in 300..<340 {
            let workload = CrashWorkload(seed: seed, count: 40)
            let outcome = try Self.run(workload, label: "seed \(seed), random") { fs in
                for (i, c) in OperationClass.allCases.enumerated() {
                    let p = c == .write || c == .read ? 0.003 : 0.02
                    fs.inject(c, trigger: .probability(p, seed: seed &* 31 &+ UInt64(i)))
                }
            }
            injected.merge(outcome.injectedByClass, uniquingKeysWith: +)
            if outcome.poisoned { poisoned += 1 }
        }
        print("random errors, seeds 300..<340: injected "
            + injected.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
            + "; \(poisoned) runs stopped by a background error")
        #expect(injected.values.reduce(0, +) > 30)
    }

    @Test("random errors while flushes and compactions run on their own: clean errors, right reads, full recovery")
    func randomErrorsWithBackgroundWork() throws {
        // Not deterministic in which operation fails (background jobs race
        // the writes), but every run must pass the same checks.
        var injected = 0
        for seed: UInt64 in 400..<440 {
            let workload = CrashWorkload(seed: seed, count: 60)
            let outcome = try Self.run(workload, label: "seed \(seed), random, background work",
                                       options: CrashWorkload.concurrentOptions) { fs in
                for (i, c) in OperationClass.allCases.enumerated() {
                    let p = c == .write || c == .read ? 0.002 : 0.01
                    fs.inject(c, trigger: .probability(p, seed: seed &* 31 &+ UInt64(i)))
                }
            }
            injected += outcome.injected
        }
        print("random errors with background work, seeds 400..<440: \(injected) injected")
        #expect(injected > 0, "no error was injected: the sweep checked nothing")
    }
}
