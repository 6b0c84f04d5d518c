import Foundation
import Testing
@testable import StrataNATS

/// The JetStream API against a real nats-server -js: streams, durable
/// pull consumers, fetch, acks, redelivery, de-duplication, restarts.
@Suite(.serialized) struct JetStreamTests {
    /// A server, a connection and a stream `EVENTS` on `events.*`.
    final class Fixture {
        let server: NATSTestServer
        var connection: NATSConnection
        var js: JetStream { JetStream(connection) }

        init(duplicateWindowSeconds: Double = 120) throws {
            server = try NATSTestServer()
            connection = try server.connect()
            try js.createStream(StreamConfig(name: "EVENTS", subjects: ["events.*"], duplicateWindowSeconds: duplicateWindowSeconds))
        }

        func publish(_ count: Int, subject: String = "events.0", from start: Int = 0) throws {
            for i in start..<(start + count) { try js.publish(subject, payload: Array("event-\(i)".utf8)) }
        }

        deinit {
            connection.close()
            server.shutdown()
        }
    }

    @Test func createsStreamsAndDurableConsumers() throws {
        let f = try Fixture()
        let info = try f.js.streamInfo("EVENTS")
        #expect(info.config.subjects == ["events.*"] && info.state.messages == 0)
        // Creating the same stream again is idempotent.
        try f.js.createStream(StreamConfig(name: "EVENTS", subjects: ["events.*"]))
        try f.publish(3, subject: "events.0")
        try f.publish(2, subject: "events.1")
        #expect(try f.js.streamInfo("EVENTS").state.lastSeq == 5)

        var config = ConsumerConfig(durableName: "part-1", filterSubject: "events.1")
        config.ackWait = 5
        let consumer = try f.js.createConsumer(stream: "EVENTS", config)
        #expect(consumer.name == "part-1" && consumer.numPending == 2)
        let again = try f.js.consumerInfo(stream: "EVENTS", consumer: "part-1")
        #expect(again.delivered.streamSeq == 0 && again.ackFloor.streamSeq == 0)

        #expect(throws: NATSError.self) { _ = try f.js.streamInfo("MISSING") }
        do {
            _ = try f.js.consumerInfo(stream: "EVENTS", consumer: "nobody")
            Issue.record("consumer info of a missing consumer did not throw")
        } catch {
            guard case .jetStream(_, 404, let errorCode, let description) = error else { Issue.record("\(error)"); return }
            #expect(errorCode == 10014, "\(description)")
        }
    }

    @Test func fetchHonoursBatchAndExpiry() throws {
        let f = try Fixture()
        try f.publish(5)
        try f.js.createConsumer(stream: "EVENTS", ConsumerConfig(durableName: "reader", filterSubject: "events.0"))
        let first = try f.js.fetch(stream: "EVENTS", consumer: "reader", batch: 3, expires: 2)
        #expect(first.map(\.metadata.streamSequence) == [1, 2, 3])
        #expect(first.map { String(decoding: $0.payload, as: UTF8.self) } == ["event-0", "event-1", "event-2"])
        #expect(first.allSatisfy { $0.metadata.delivered == 1 && $0.metadata.stream == "EVENTS" && $0.metadata.consumer == "reader" })
        #expect(first.last?.metadata.pending == 2)
        for message in first { try message.ack() }
        // A batch larger than what is left: the rest, when the expiry passes.
        let rest = try f.js.fetch(stream: "EVENTS", consumer: "reader", batch: 10, expires: 0.5)
        #expect(rest.map(\.metadata.streamSequence) == [4, 5])
        for message in rest { try message.ackSync() }
        // Nothing left: an empty result after the expiry, not an error.
        let started = Date()
        let none = try f.js.fetch(stream: "EVENTS", consumer: "reader", batch: 4, expires: 0.3)
        #expect(none.isEmpty)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(try f.js.fetch(stream: "EVENTS", consumer: "reader", batch: 4, expires: 1, noWait: true).isEmpty)
        let info = try f.js.consumerInfo(stream: "EVENTS", consumer: "reader")
        #expect(info.ackFloor.streamSeq == 5 && info.numAckPending == 0)
    }

    @Test func unackedMessagesAreRedelivered() throws {
        let f = try Fixture()
        try f.publish(3)
        var config = ConsumerConfig(durableName: "slow", filterSubject: "events.0")
        config.ackWait = 2
        try f.js.createConsumer(stream: "EVENTS", config)
        let batch = try f.js.fetch(stream: "EVENTS", consumer: "slow", batch: 3, expires: 2)
        #expect(batch.count == 3)
        try batch[0].ackSync()
        try batch[1].nak()                                 // redelivered at once
        // batch[2] is neither acked nor nakked: redelivered after ackWait (2 s).
        // One message per fetch, acked at once (well inside the ack wait).
        var redelivered: [UInt64: UInt64] = [:]            // stream seq -> delivery count when first seen again
        let deadline = Date(timeIntervalSinceNow: 20)
        while redelivered.count < 2, Date() < deadline {
            for message in try f.js.fetch(stream: "EVENTS", consumer: "slow", batch: 1, expires: 3) {
                if redelivered[message.metadata.streamSequence] == nil {
                    redelivered[message.metadata.streamSequence] = message.metadata.delivered
                }
                try message.ackSync()
            }
        }
        #expect(redelivered == [2: 2, 3: 2])
        let info = try f.js.consumerInfo(stream: "EVENTS", consumer: "slow")
        #expect(info.ackFloor.streamSeq == 3 && info.numAckPending == 0)
    }

    @Test func publishDeduplicatesByMessageID() throws {
        let f = try Fixture()
        let first = try f.js.publish("events.0", payload: Array("a".utf8), messageID: "epoch-1/0/0")
        let again = try f.js.publish("events.0", payload: Array("a".utf8), messageID: "epoch-1/0/0")
        let other = try f.js.publish("events.0", payload: Array("b".utf8), messageID: "epoch-1/0/1")
        #expect(first.stream == "EVENTS" && first.seq == 1 && !first.isDuplicate)
        #expect(again.isDuplicate && again.seq == 1)
        #expect(other.seq == 2 && !other.isDuplicate)
        #expect(try f.js.streamInfo("EVENTS").state.messages == 2)
        // The id is a header of the stored message.
        let stored = try #require(try f.js.message(stream: "EVENTS", sequence: 2))
        #expect(stored.headers?["Nats-Msg-Id"] == "epoch-1/0/1" && stored.payload == Array("b".utf8))
        #expect(try f.js.lastMessage(stream: "EVENTS", subject: "events.0")?.sequence == 2)
        #expect(try f.js.lastMessage(stream: "EVENTS", subject: "events.9") == nil)
        #expect(try f.js.message(stream: "EVENTS", sequence: 99) == nil)
    }

    @Test func aSubjectWithoutAStreamIsAClearError() throws {
        let f = try Fixture()
        #expect(throws: NATSError.noStream(subject: "nowhere.1")) {
            try f.js.publish("nowhere.1", payload: [1])
        }
        #expect(NATSError.noStream(subject: "nowhere.1").description.contains("no stream captures subject 'nowhere.1'"))
        do {
            _ = try f.js.createConsumer(stream: "NOPE", ConsumerConfig(durableName: "c"))
            Issue.record("a consumer on a missing stream did not throw")
        } catch {
            guard case .jetStream(let api, _, let errorCode, _) = error else { Issue.record("\(error)"); return }
            #expect(errorCode == 10059 && api.contains("NOPE"))
        }
    }

    @Test func aServerRestartMidStreamResumesFromTheDurablePosition() throws {
        let f = try Fixture()
        try f.publish(10)
        var config = ConsumerConfig(durableName: "resume", filterSubject: "events.0")
        config.ackWait = 1
        try f.js.createConsumer(stream: "EVENTS", config)
        for message in try f.js.fetch(stream: "EVENTS", consumer: "resume", batch: 4, expires: 2) { try message.ackSync() }
        let unacked = try f.js.fetch(stream: "EVENTS", consumer: "resume", batch: 2, expires: 2)
        #expect(unacked.map(\.metadata.streamSequence) == [5, 6])

        f.server.stop()
        do {
            _ = try f.js.fetch(stream: "EVENTS", consumer: "resume", batch: 1, expires: 1)
            Issue.record("fetch after the server stopped did not throw")
        } catch {
            switch error {
            case .connectionClosed, .timeout: break
            default: Issue.record("unexpected \(error)")
            }
        }
        #expect(throws: NATSError.self) { try f.js.publish("events.0", payload: [1]) }

        try f.server.start()                              // same port, same store
        f.connection = try f.server.connect()
        try f.publish(2, from: 10)                        // seq 11, 12 after the restart
        var seen: [UInt64] = []
        let deadline = Date(timeIntervalSinceNow: 20)
        while Set(seen).count < 8, Date() < deadline {
            for message in try f.js.fetch(stream: "EVENTS", consumer: "resume", batch: 8, expires: 2) {
                seen.append(message.metadata.streamSequence)
                try message.ackSync()
            }
        }
        // 5 and 6 were delivered but never acked: redelivered; nothing acked comes back.
        #expect(Set(seen) == Set(5...12))
        #expect(seen.allSatisfy { $0 >= 5 })
        let info = try f.js.consumerInfo(stream: "EVENTS", consumer: "resume")
        #expect(info.ackFloor.streamSeq == 12 && info.numPending == 0)
    }
}
