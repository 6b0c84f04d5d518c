import Foundation
import Strata
import StrataNATS
import StrataStreams
import Testing
@testable import StrataStreamsNATS

/// A payment: user, amount, event time.
struct Payment: Codable, Sendable, Equatable {
    var user: Int64
    var amount: Int64
    var ts: Int64
}

/// Per partition: a running total and count per user, one row per payment.
final class TotalsLogic: PartitionLogic {
    let totals: ValueState<Int64Codec>
    let counts: ValueState<Int64Codec>
    let backend: StateBackend

    init(_ context: PartitionContext) throws {
        backend = context.backend
        totals = try context.backend.valueState(StateDescriptor("total"), valueCodec: Int64Codec())
        counts = try context.backend.valueState(StateDescriptor("count"), valueCodec: Int64Codec())
    }

    func process(_ record: Payment, timestamp: Int64, output: OutputCollector) throws {
        let key = backend.stateKey(record.user, codec: Int64Codec())
        let total = (try totals.value(for: key) ?? 0) + record.amount
        let count = (try counts.value(for: key) ?? 0) + 1
        try totals.update(total, for: key)
        try counts.update(count, for: key)
        output.emit(stream: "totals", key: "user-\(record.user)/\(count)", value: #"{"total":\#(total)}"#)
    }

    func processWatermark(_ watermark: Int64, output: OutputCollector) throws {}
}

/// The NATS source and sink in a pipeline, against a real nats-server.
@Suite(.serialized) struct NATSPipelineTests {
    static let inputCount = 4_000

    /// Publishes the seeded input to `in.0` of stream IN.
    func publishInput(_ js: JetStream, seed: UInt64) throws {
        try js.createStream(StreamConfig(name: "IN", subjects: ["in.*"]))
        var random = SeededRandom(seed: seed)
        let encoder = JSONEncoder()
        for i in 0..<Self.inputCount {
            let payment = Payment(user: Int64.random(in: 0..<25, using: &random),
                                  amount: Int64.random(in: 1...500, using: &random), ts: Int64(i) * 10)
            try js.publish("in.0", payload: Array(try encoder.encode(payment)))
        }
        // Noise on another partition's subject: the source of in.0 must not read it.
        try js.publish("in.1", payload: Array("not a payment".utf8))
    }

    /// One run of the job IN → `outputStream`; `crashAfter` simulates a kill,
    /// `restartBrokerAt` restarts nats-server (same port and store) when the
    /// source has decoded that many records of this run.
    func runPipeline(server: NATSTestServer, directory: String, outputStream: String, crashAfter: UInt64? = nil,
                     restartBrokerAt: Set<Int> = []) throws -> (PipelineSummary, NATSStreamSource<Payment>) {
        var options = PipelineOptions(directory: directory)
        options.partitions = 2
        options.checkpointInterval = .records(150)
        options.watermarkEveryRecords = 50
        options.batchSize = 32
        options.metricsPrefix = nil
        var backend = StateBackendOptions()
        backend.engine.writeBufferSize = 1 << 20
        options.backend = backend
        var decoded = 0
        let decoder = JSONDecoder()
        let source = NATSStreamSource<Payment>(options: server.options, stream: "IN", subject: "in.0") { message in
            decoded += 1
            if restartBrokerAt.contains(decoded) {
                server.stop()
                try server.start()
            }
            return try decoder.decode(Payment.self, from: Data(message.payload))
        }
        source.batch = 64
        source.fetchExpiry = 0.3
        let sink = try NATSEpochCommitter(options: server.options, stream: outputStream, prefix: outputStream.lowercased(),
                                          partitions: 3)
        let pipeline = try Pipeline(options: options, source: source, key: { Int64Codec().encoded($0.user) },
                                    timestamp: \.ts, committers: [sink]) { context in try TotalsLogic(context) }
        return (try pipeline.run(testHooks: PipelineTestHooks(crashAfterRecords: crashAfter)), source)
    }

    /// Every row of an output stream, per partition subject in stream order, with its message id.
    func outputRows(_ js: JetStream, stream: String, partitions: Int) throws -> [[String]] {
        let last = try js.streamInfo(stream).state.lastSeq
        var rows = [[String]](repeating: [], count: partitions)
        let prefix = stream.lowercased()
        for seq in UInt64(1)...max(1, last) {
            guard let message = try js.message(stream: stream, sequence: seq) else { continue }
            guard message.subject.hasPrefix(prefix + "."), let p = Int(message.subject.dropFirst(prefix.count + 1)) else { continue }
            rows[p].append((message.headers?["Nats-Msg-Id"] ?? "?") + " " + String(decoding: message.payload, as: UTF8.self))
        }
        return rows
    }

    @Test func aPipelineKilledMidWayCommitsWhatAFailureFreeRunCommits() throws {
        let seed: UInt64 = 21
        print("seed \(seed)")
        let server = try NATSTestServer()
        defer { server.shutdown() }
        let connection = try server.connect()
        defer { connection.close() }
        let js = JetStream(connection)
        try publishInput(js, seed: seed)
        let clean = FileManager.default.temporaryDirectory.appendingPathComponent("nats-pipe-clean-\(UUID().uuidString)").path
        let crashed = FileManager.default.temporaryDirectory.appendingPathComponent("nats-pipe-crashed-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: clean)
            try? FileManager.default.removeItem(atPath: crashed)
        }

        let (summary, cleanSource) = try runPipeline(server: server, directory: clean, outputStream: "CLEAN")
        #expect(summary.records == UInt64(Self.inputCount))
        #expect(cleanSource.position.offset == UInt64(Self.inputCount))     // stream seq of the last in.0 message
        let expected = try outputRows(js, stream: "CLEAN", partitions: 3)
        #expect(expected.joined().count == Self.inputCount)
        #expect(expected.allSatisfy { !$0.isEmpty })

        var random = SeededRandom(seed: seed)
        var recoveries: [UInt64?] = []
        for _ in 0..<3 {
            // Barriers go out at 256-record boundaries and complete at a later
            // one, so a crash after 1,000+ records has a checkpoint behind it.
            let crashAt = UInt64.random(in: 1_000...1_500, using: &random)
            let (run, _) = try runPipeline(server: server, directory: crashed, outputStream: "CRASHED", crashAfter: crashAt)
            recoveries.append(run.recoveredFromEpoch)
        }
        let (final, _) = try runPipeline(server: server, directory: crashed, outputStream: "CRASHED")
        recoveries.append(final.recoveredFromEpoch)
        print("recovered from epochs \(recoveries)")
        #expect(recoveries.dropFirst().allSatisfy { $0 != nil })
        let got = try outputRows(js, stream: "CRASHED", partitions: 3)
        #expect(got.map { $0.map { String($0.split(separator: " ", maxSplits: 1)[1]) } }
                == expected.map { $0.map { String($0.split(separator: " ", maxSplits: 1)[1]) } })
        #expect(got == expected)                        // the same ids too: epochs replay identically

        // The broker restarted twice during a run: the source and the sink
        // reconnect, and the output is again the failure-free run's.
        let restarted = FileManager.default.temporaryDirectory.appendingPathComponent("nats-pipe-restart-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: restarted) }
        let (withRestarts, restartedSource) = try runPipeline(server: server, directory: restarted, outputStream: "RESTARTED",
                                                              restartBrokerAt: [700, 2_600])
        #expect(withRestarts.records == UInt64(Self.inputCount))
        #expect(restartedSource.consumersCreated >= 3)
        let reader = try server.connect()
        defer { reader.close() }
        #expect(try outputRows(JetStream(reader), stream: "RESTARTED", partitions: 3) == expected)
    }

    @Test func aReplayedEpochIsDeduplicatedByTheServer() throws {
        let server = try NATSTestServer()
        defer { server.shutdown() }
        let rows = (0..<40).map { SinkRecord(stream: "s", key: "k\($0)", value: #"{"v":\#($0)}"#) }
        let first = try NATSEpochCommitter(options: server.options, stream: "OUT", prefix: "out", partitions: 2)
        #expect(try first.lastCommittedEpoch() == 0)
        try first.commit(epoch: 1, records: Array(rows[0..<10]))
        // A crash in the middle of epoch 2: some rows published, no marker.
        first.failAfterPublishes = 10 + 13
        #expect(throws: NATSError.self) { try first.commit(epoch: 2, records: Array(rows[10..<40])) }
        // The restarted job sees epoch 1 committed and commits epoch 2 again.
        let second = try NATSEpochCommitter(options: server.options, stream: "OUT", prefix: "out", partitions: 2)
        #expect(try second.lastCommittedEpoch() == 1)
        try second.commit(epoch: 2, records: Array(rows[10..<40]))
        #expect(second.duplicatesDropped == 13)
        #expect(try second.lastCommittedEpoch() == 2)
        let connection = try server.connect()
        defer { connection.close() }
        let js = JetStream(connection)
        let stored = try outputRows(js, stream: "OUT", partitions: 2).joined().map { $0 }
        #expect(stored.count == 40)
        #expect(Set(stored).count == 40)
        #expect(try js.lastMessage(stream: "OUT", subject: "out-epochs")?.payload == Array("2".utf8))
    }

    @Test func theSourceRidesOutABrokerRestartWithoutLossOrRepeats() throws {
        let server = try NATSTestServer()
        defer { server.shutdown() }
        do {
            let connection = try server.connect()
            defer { connection.close() }
            try publishInput(JetStream(connection), seed: 3)
        }
        let source = NATSStreamSource(options: server.options, stream: "IN", subject: "in.0", json: Payment.self)
        source.batch = 50
        var read: [UInt64] = []
        while read.count < 300, try source.next() != nil { read.append(source.position.offset) }
        server.stop()
        try server.start()
        while try source.next() != nil { read.append(source.position.offset) }
        #expect(read == Array(1...UInt64(Self.inputCount)))
        #expect(source.consumersCreated >= 2)
        // Seeking back replays exactly from after the position.
        try source.seek(to: SourcePosition(offset: 2_000, record: 2_000))
        var replay: [UInt64] = []
        while try source.next() != nil { replay.append(source.position.offset) }
        #expect(replay == Array(2_001...UInt64(Self.inputCount)))
        #expect(source.position.record == UInt64(Self.inputCount))
    }

    @Test func aSourceOnAMissingStreamNamesIt() throws {
        let server = try NATSTestServer()
        defer { server.shutdown() }
        let source = NATSStreamSource(options: server.options, stream: "NOSUCH", subject: "x.0", json: Payment.self)
        do {
            _ = try source.next()
            Issue.record("reading a missing stream did not throw")
        } catch let error as NATSError {
            guard case .jetStream(let api, _, 10059, _) = error else { Issue.record("\(error)"); return }
            #expect(api.contains("NOSUCH"))
        }
    }
}

/// SplitMix64: a seeded generator for test inputs.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
