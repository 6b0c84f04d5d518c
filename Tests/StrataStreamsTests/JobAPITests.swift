import Foundation
import Synchronization
import Strata
import Testing
@testable import StrataStreams
import StrataStreamsSQLite

/// A login attempt, as the getting-started guide's job reads it.
struct LoginAttempt: Codable, Sendable, Equatable {
    var user: String
    var time: Int64
    var success: Bool
}

/// The fraud alert of the getting-started guide.
struct FraudAlert: Codable, Sendable, Equatable {
    var user: String
    var firstFailure: Int64
    var success: Int64
}

/// Deterministic login attempts: 30 users, mostly failures, mostly with
/// disorder below 2 s; seed printed by the callers.
func loginAttempts(seed: UInt64, count: Int) -> [LoginAttempt] {
    var random = StateTestRandom(seed: seed)
    return (0..<count).map { i in
        // Mostly below the 2 s bound of the job's watermarks; one in 40 is
        // up to 10 s behind, so some are late.
        let lag = Int.random(in: 0..<40, using: &random) == 0
            ? Int64.random(in: 2_000...10_000, using: &random) : Int64.random(in: 0...1_500, using: &random)
        let time = Int64(i) * 700 - lag
        return LoginAttempt(user: "user-\(Int.random(in: 0..<30, using: &random))", time: time,
                            success: Int.random(in: 0..<4, using: &random) == 0)
    }
}

/// The expected alerts: per user, in timestamp order (ties in arrival
/// order), the earliest start of "3 failures then a success within 1
/// minute" (skip-till-next), then the next search starts after the match's
/// last event (SKIP_PAST_LAST_EVENT).
func referenceAlerts(_ attempts: [LoginAttempt], lateBefore: [Int: Bool]) -> [FraudAlert] {
    var byUser: [String: [(Int, LoginAttempt)]] = [:]
    for (i, a) in attempts.enumerated() where !(lateBefore[i] ?? false) { byUser[a.user, default: []].append((i, a)) }
    var alerts: [FraudAlert] = []
    for (user, list) in byUser {
        let events = list.sorted { ($0.1.time, $0.0) < ($1.1.time, $1.0) }.map(\.1)
        var from = 0
        search: while from < events.count {
            for start in from..<events.count where !events[start].success {
                var fails = 1, j = start + 1
                while j < events.count, events[j].time - events[start].time < 60_000 {
                    if fails < 3 {
                        if !events[j].success { fails += 1 }
                    } else if events[j].success {
                        alerts.append(FraudAlert(user: user, firstFailure: events[start].time, success: events[j].time))
                        from = j + 1
                        continue search
                    }
                    j += 1
                }
            }
            break
        }
    }
    return alerts
}

@Suite struct JobAPITests {
    /// The getting-started job (docs/getting-started.md), verbatim but for paths.
    static func fraudJob(input: String) throws -> StreamJob {
        let job = StreamJob()
        let logins = job.source(try JSONLinesSource<LoginAttempt>(path: input),
                                watermarks: .boundedOutOfOrderness(.seconds(2)),
                                timestamp: { $0.time })
            .keyBy(StringCodec()) { $0.user }

        // 1. The first login of each user per hour.
        logins.dedup(keep: .first, ttl: .seconds(3600))
            .events()
            .sink("first-logins") { "\($0.key)@\($0.timestamp)" }

        // 2. Failed logins per user per minute; late ones to a side output.
        logins.filter { !$0.success }
            .window(.tumbling(.seconds(60)))
            .sideOutputLateData("late-logins")
            .aggregate(CountAggregate<LoginAttempt>())
            .sink("failures-per-minute")

        // 3. Three failed logins, then a success, within one minute.
        let fraud = Pattern<LoginAttempt>.begin("fail") { !$0.success }.times(3)
            .followedBy("success") { $0.success }
            .within(.seconds(60))
        logins.pattern(fraud, afterMatch: .skipPastLastEvent, lateOutput: "late-pattern-logins")
            .map { match in
                FraudAlert(user: match.key,
                           firstFailure: match.events(of: "fail").first?.timestamp ?? 0,
                           success: match.events(of: "success").first?.timestamp ?? 0)
            }
            .sink("alerts") { "\($0.user)@\($0.success)" }
        return job
    }

    private func writeInput(_ attempts: [LoginAttempt], to path: String) throws {
        let writer = try JSONLinesWriter<LoginAttempt>(path: path)
        for a in attempts { try writer.append(a) }
        try writer.close()
    }

    private func options(_ dir: String) -> PipelineOptions {
        var options = PipelineOptions(directory: dir)
        options.partitions = 3
        options.checkpointInterval = .records(400)
        options.watermarkEveryRecords = 20
        options.batchSize = 32
        options.backend = .testing(cacheEntries: 512)
        options.metricsPrefix = nil
        return options
    }

    @Test func fraudJobFindsTheReferenceAlertsExactlyOnceAcrossCrashes() throws {
        let seed: UInt64 = 20
        print("seed \(seed)")
        let attempts = loginAttempts(seed: seed, count: 3_000)
        let dir = StateTestDirectory("job-fraud")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let input = dir.path + "/logins.jsonl"
        try writeInput(attempts, to: input)

        // Failure-free run.
        let clean = dir.path + "/clean"
        let summary = try Self.fraudJob(input: input).run(options(clean),
                                                          committers: [try SQLiteEpochCommitter(path: dir.path + "/clean.sqlite")])
        #expect(summary.records == UInt64(attempts.count))
        let rows = try StreamJob.committedOutput(directory: clean).joined()
        let decoder = JSONDecoder()
        let alerts = try rows.filter { $0.stream == "alerts" }.map { try decoder.decode(FraudAlert.self, from: Data($0.value.utf8)) }

        // Which events were late: the watermark at their arrival (every 20
        // records of the source: max timestamp − 2000 − 1) was at or above them.
        var late: [Int: Bool] = [:]
        var maxSeen = Int64.min, watermark = Int64.min
        for (i, a) in attempts.enumerated() {
            if a.time <= watermark { late[i] = true }
            maxSeen = max(maxSeen, a.time)
            if (i + 1) % 20 == 0 { watermark = max(watermark, maxSeen - 2_001) }
        }
        let expected = referenceAlerts(attempts, lateBefore: late)
        print("alerts expected: \(expected.count), late events: \(late.count)")
        #expect(expected.count > 20)
        #expect(late.count > 5)
        let order: (FraudAlert, FraudAlert) -> Bool = { ($0.user, $0.success) < ($1.user, $1.success) }
        #expect(alerts.sorted(by: order) == expected.sorted(by: order))
        let lateRows = rows.filter { $0.stream == "late-pattern-logins" }.count
        #expect(lateRows == late.count)
        #expect(summary.counters.filter { $0.key.hasSuffix(".late") && $0.key.hasPrefix("pattern") }.values.reduce(0, +)
                == late.count)
        // Window results are JSON objects with the window and count.
        let counts = rows.filter { $0.stream == "failures-per-minute" }
        #expect(counts.first?.value.contains("\"window\":{\"end\":") == true)
        let totalFailures = try counts.map { row -> Int64 in
            struct Count: Decodable { var value: Int64 }
            return try decoder.decode(Count.self, from: Data(row.value.utf8)).value
        }.reduce(0, +)
        let lateFailureRows = rows.filter { $0.stream == "late-logins" }.count
        #expect(Int(totalFailures) + lateFailureRows == attempts.filter { !$0.success }.count)
        // Dedup keep-first: one row per user per hour of event time at most.
        #expect(rows.filter { $0.stream == "first-logins" }.count >= 30)

        // Crashes at seeded record counts, then a final run: the same committed output.
        let crashed = dir.path + "/crashed"
        var random = StateTestRandom(seed: seed)
        let sqlite = dir.path + "/crashed.sqlite"
        for _ in 0..<3 {
            let crashAt = UInt64.random(in: 100...1_500, using: &random)
            _ = try Self.fraudJob(input: input).run(options(crashed), committers: [try SQLiteEpochCommitter(path: sqlite)],
                                                    testHooks: PipelineTestHooks(crashAfterRecords: crashAt))
        }
        _ = try Self.fraudJob(input: input).run(options(crashed), committers: [try SQLiteEpochCommitter(path: sqlite)])
        #expect(try StreamJob.committedOutput(directory: crashed) == StreamJob.committedOutput(directory: clean))
        let sorted: ([SinkRecord]) -> [SinkRecord] = { $0.sorted { ($0.stream, $0.key) < ($1.stream, $1.key) } }
        #expect(try sorted(SQLiteEpochCommitter(path: sqlite).rows())
                == sorted(SQLiteEpochCommitter(path: dir.path + "/clean.sqlite").rows()))
    }

    @Test func jobsBuiltWrongFailWithAClearError() throws {
        let dir = StateTestDirectory("job-wrong")
        defer { dir.remove() }
        // No keyBy.
        let unkeyed = StreamJob()
        _ = unkeyed.source(GeneratorSource<Int64> { $0 < 10 ? Int64($0) : nil },
                           watermarks: .monotonousTimestamps, timestamp: { $0 })
        #expect(throws: StrataError.self) { try unkeyed.run(options(dir.path + "/a")) }
        // No sink.
        let sinkless = StreamJob()
        _ = sinkless.source(GeneratorSource<Int64> { $0 < 10 ? Int64($0) : nil },
                            watermarks: .monotonousTimestamps, timestamp: { $0 }).keyBy(Int64Codec()) { $0 % 3 }
        #expect(throws: StrataError.self) { try sinkless.run(options(dir.path + "/b")) }
        // A sink name used twice.
        let twice = StreamJob()
        let keyed = twice.source(GeneratorSource<Int64> { $0 < 10 ? Int64($0) : nil },
                                 watermarks: .monotonousTimestamps, timestamp: { $0 }).keyBy(Int64Codec()) { $0 % 3 }
        keyed.events().sink("rows") { "\($0.timestamp)" }
        keyed.events().sink("rows") { "\($0.timestamp)" }
        #expect(throws: StrataError.self) { try twice.run(options(dir.path + "/c")) }
        // An invalid window size.
        let badWindow = StreamJob()
        badWindow.source(GeneratorSource<Int64> { $0 < 10 ? Int64($0) : nil },
                         watermarks: .monotonousTimestamps, timestamp: { $0 }).keyBy(Int64Codec()) { $0 % 3 }
            .window(.tumbling(.zero)).aggregate(CountAggregate<Int64>()).sink("counts")
        #expect(throws: StrataError.self) { try badWindow.run(options(dir.path + "/d")) }
    }

    /// Routing and state agree: a variable-width key's state lies in the key
    /// groups of the partition that receives it (`Pipeline(key:keyCodec:)`,
    /// which `keyBy` compiles to).
    @Test func routingAndStateUseTheSameKeyEncoding() throws {
        final class Check: PartitionLogic {
            let context: PartitionContext
            var outside = 0, seen = 0
            init(_ context: PartitionContext) { self.context = context }
            func process(_ record: LoginAttempt, timestamp: Int64, output: OutputCollector) throws {
                let key = context.backend.stateKey(record.user, codec: StringCodec())
                seen += 1
                if !context.keyGroups.contains(Int(key.keyGroup)) { outside += 1 }
            }
            func processWatermark(_ watermark: Int64, output: OutputCollector) throws {}
            var counters: [String: Int] { ["outside": outside, "seen": seen] }
        }
        let dir = StateTestDirectory("job-routing")
        defer { dir.remove() }
        let attempts = loginAttempts(seed: 3, count: 400)
        let source = GeneratorSource<LoginAttempt> { $0 < attempts.count ? attempts[Int($0)] : nil }
        let pipeline = try Pipeline(options: options(dir.path), source: source, key: { $0.user }, keyCodec: StringCodec(),
                                    timestamp: \.time) { Check($0) }
        let summary = try pipeline.run()
        #expect(summary.counters["seen"] == 400)
        #expect(summary.counters["outside"] == 0)
        // Routing by the raw UTF-8 bytes (no length prefix) is what the
        // issue found: many keys' state falls outside their partition.
        let raw = try Pipeline(options: options(dir.path + "/raw"), source: GeneratorSource<LoginAttempt> {
            $0 < attempts.count ? attempts[Int($0)] : nil
        }, key: { Array($0.user.utf8) }, timestamp: \.time) { Check($0) }
        #expect(try raw.run().counters["outside"] ?? 0 > 0)
    }

    @Test func durationsBecomeMilliseconds() {
        #expect(Duration.seconds(2).wholeMilliseconds == 2_000)
        #expect(Duration.milliseconds(1_500).wholeMilliseconds == 1_500)
        #expect(Duration.microseconds(1_999).wholeMilliseconds == 1)
        #expect(Duration.seconds(Int64.max).wholeMilliseconds == .max)
        #expect(WatermarkStrategy.boundedOutOfOrderness(.seconds(60)).maxOutOfOrderness == 60_000)
    }
}

/// A processing-time clock that moves 1 ms per reading.
final class TickingClock: Sendable {
    private let now = Mutex<Int64>(1_000_000)
    func read() -> Int64 { now.withLock { $0 += 1; return $0 } }
}

@Suite struct ProcessFunctionTests {
    struct Row: Codable, Equatable {
        var user: Int64
        var events: Int64
        var kind: String
    }

    /// Per user, a session starts at its first event; an event-time timer
    /// 100 ms later emits how many events it had and clears the state; a
    /// processing-time timer registered at the start fires on the next
    /// reading of the clock.
    @Test func eventAndProcessingTimeTimersFire() throws {
        let dir = StateTestDirectory("job-process")
        defer { dir.remove() }
        let count = 2_000
        var random = StateTestRandom(seed: 9)
        print("seed 9")
        let users = (0..<count).map { _ in Int64.random(in: 0..<12, using: &random) }
        let clock = TickingClock()
        var options = PipelineOptions(directory: dir.path)
        options.partitions = 2
        options.watermarkEveryRecords = 1
        options.checkpointInterval = .records(500)
        options.backend = .testing(cacheEntries: 256)
        options.backend.clock = { clock.read() }
        options.metricsPrefix = nil

        let job = StreamJob()
        job.source(GeneratorSource<Int64> { $0 < UInt64(count) ? Int64($0) : nil },
                   watermarks: .monotonousTimestamps, timestamp: { $0 * 10 })
            .keyBy(Int64Codec()) { users[Int($0)] }
            .process(name: "sessions", stateCodec: Int64Codec(), emitting: Row.self, onEvent: { event, events, context in
                if events == nil {
                    try context.registerEventTimeTimer(at: event.timestamp + 100)
                    try context.registerProcessingTimeTimer(at: context.currentProcessingTime + 1)
                }
                events = (events ?? 0) + 1
            }, onTimer: { timer, events, context in
                switch timer.domain {
                case .eventTime:
                    context.emit(Row(user: timer.key, events: events ?? 0, kind: "session"))
                    events = nil
                case .processingTime:
                    context.emit(Row(user: timer.key, events: 0, kind: "tick"), timestamp: timer.timestamp)
                }
            })
            .sink("sessions") { "\($0.kind)|\($0.user)|\($0.events)|\(UUID().uuidString)" }
        try job.run(options)
        let rows = try StreamJob.committedOutput(directory: dir.path).joined()
            .map { try JSONDecoder().decode(Row.self, from: Data($0.value.utf8)) }
        let sessions = rows.filter { $0.kind == "session" }
        #expect(sessions.map(\.events).reduce(0, +) == Int64(count))   // every event in exactly one session
        #expect(sessions.count > 12)
        #expect(rows.filter { $0.kind == "tick" }.count == sessions.count)
    }
}

@Suite struct JobJoinTests {
    struct Action: Codable, Sendable, Equatable {
        var user: Int64
        var ts: Int64
        var click: Bool
    }
    struct Pair: Codable, Equatable, Hashable {
        var user: Int64
        var view: Int64
        var click: Int64
    }

    @Test func intervalJoinPairsViewsWithClicksWithinOneSecond() throws {
        let seed: UInt64 = 31
        print("seed \(seed)")
        var random = StateTestRandom(seed: seed)
        var ts: Int64 = 0
        let actions = (0..<1_500).map { _ -> Action in
            ts += Int64.random(in: 0...120, using: &random)           // ascending: nothing is late
            return Action(user: Int64.random(in: 0..<8, using: &random), ts: ts, click: Bool.random(using: &random))
        }
        let dir = StateTestDirectory("job-join")
        defer { dir.remove() }
        var options = PipelineOptions(directory: dir.path)
        options.partitions = 2
        options.watermarkEveryRecords = 10
        options.backend = .testing(cacheEntries: 256)
        options.metricsPrefix = nil

        let job = StreamJob()
        let byUser = job.source(GeneratorSource<Action> { $0 < actions.count ? actions[Int($0)] : nil },
                                watermarks: .monotonousTimestamps, timestamp: \.ts)
            .keyBy(Int64Codec()) { $0.user }
        let views = byUser.filter { !$0.click }
        let clicks = byUser.filter { $0.click }
        views.intervalJoin(clicks, between: .zero, and: .seconds(1),
                           leftCodec: CodableCodec<Action>(), rightCodec: CodableCodec<Action>())
            .flatMap { output -> [Pair] in
                guard case .joined(let view, let click, _) = output else { return [] }
                return [Pair(user: view.key, view: view.timestamp, click: click.timestamp)]
            }
            .sink("pairs") { "\($0.user)|\($0.view)|\($0.click)" }
        try job.run(options)

        let got = try StreamJob.committedOutput(directory: dir.path).joined()
            .map { try JSONDecoder().decode(Pair.self, from: Data($0.value.utf8)) }
        var expected: [Pair] = []
        for v in actions where !v.click {
            for c in actions where c.click && c.user == v.user && v.ts <= c.ts && c.ts <= v.ts + 1_000 {
                expected.append(Pair(user: v.user, view: v.ts, click: c.ts))
            }
        }
        #expect(expected.count > 100)
        #expect(Set(got) == Set(expected))
        #expect(got.count == expected.count)
    }
}

@Suite struct GettingStartedDocTests {
    /// The lines of the function that starts at the line containing
    /// `signature`, through its `return job`, trimmed, blank lines dropped.
    private func body(of text: String, signature: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard let start = lines.firstIndex(where: { $0.contains(signature) }),
              let end = lines[start...].firstIndex(of: "return job") else { return [] }
        return lines[(start + 1)...end].filter { !$0.isEmpty }
    }

    /// docs/getting-started.md shows the job `JobAPITests.fraudJob` runs:
    /// the two must not drift apart.
    @Test func theGuideShowsTheTestedJob() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let guide = try String(contentsOf: root.appendingPathComponent("docs/getting-started.md"), encoding: .utf8)
        let test = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let documented = body(of: guide, signature: "func fraudJob(input: String) throws -> StreamJob {")
        let tested = body(of: test, signature: "static func fraudJob(input: String) throws -> StreamJob {")
        #expect(documented.count > 20)
        #expect(documented == tested)
    }
}
