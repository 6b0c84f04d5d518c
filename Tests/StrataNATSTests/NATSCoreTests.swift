import Foundation
import StrataTestSupport
import Testing
@testable import StrataNATS

/// The core protocol against a real nats-server: PUB/HPUB, SUB/MSG/HMSG,
/// request/reply, flush, and the connect errors.
@Suite(.serialized) struct NATSCoreTests {
    @Test func publishSubscribeRoundTripWithHeaders() throws {
        let server = try NATSTestServer()
        defer { server.shutdown() }
        let connection = try server.connect()
        defer { connection.close() }
        let subscription = try connection.subscribe("orders.*")
        try connection.flush()                     // the SUB is in place before we publish
        var headers = NATSHeaders([("Trace-Id", "abc-1"), ("Kind", "first")])
        headers.append("Kind", "second")
        try connection.publish("orders.eu", payload: Array("with headers".utf8), headers: headers)
        try connection.publish("orders.us", payload: Array("plain".utf8))
        try connection.publish("orders.empty", payload: [])

        let first = try #require(try subscription.next(timeout: 5))
        #expect(first.subject == "orders.eu")
        #expect(first.text == "with headers")
        #expect(first.headers?["Trace-Id"] == "abc-1")
        #expect(first.headers?.fields.filter { $0.name == "Kind" }.map(\.value) == ["first", "second"])
        let second = try #require(try subscription.next(timeout: 5))
        #expect(second.subject == "orders.us" && second.text == "plain" && second.headers == nil)
        let third = try #require(try subscription.next(timeout: 5))
        #expect(third.subject == "orders.empty" && third.payload.isEmpty)

        try subscription.unsubscribe()
        try connection.publish("orders.eu", payload: [1])
        try connection.flush()
        #expect(try subscription.next(timeout: 0.2) == nil)
    }

    @Test func requestReply() throws {
        let server = try NATSTestServer()
        defer { server.shutdown() }
        let responder = try server.connect()
        defer { responder.close() }
        let requester = try server.connect()
        defer { requester.close() }
        let service = try responder.subscribe("svc.upper")
        try responder.flush()
        // The responder answers three requests on its own thread.
        let thread = Thread {
            for _ in 0..<3 {
                guard let request = try? service.next(timeout: 10), let replyTo = request.replyTo else { return }
                var headers = NATSHeaders()
                headers["Answered-By"] = "upper"
                try? responder.publish(replyTo, payload: Array(request.text.uppercased().utf8), headers: headers)
            }
        }
        thread.start()
        for word in ["alpha", "beta", "gamma"] {
            let reply = try requester.request("svc.upper", payload: Array(word.utf8), timeout: 5)
            #expect(reply.text == word.uppercased())
            #expect(reply.headers?["Answered-By"] == "upper")
        }
        #expect(throws: NATSError.noResponders(subject: "svc.nobody")) {
            _ = try requester.request("svc.nobody", payload: [], timeout: 5)
        }
    }

    @Test func connectionRefusedWhenNoServerListens() throws {
        let port = try LoopbackPort.unused()
        #expect(throws: NATSError.connectionRefused(host: "127.0.0.1", port: port)) {
            _ = try NATSConnection.connect(NATSConnectionOptions(host: "127.0.0.1", port: port))
        }
        let message = NATSError.connectionRefused(host: "127.0.0.1", port: port).description
        #expect(message.contains("no server is listening") && message.contains("127.0.0.1:\(port)"))
    }

    @Test func invalidSubjectsAreRejectedBeforeSending() throws {
        let server = try NATSTestServer()
        defer { server.shutdown() }
        let connection = try server.connect()
        defer { connection.close() }
        #expect(throws: NATSError.self) { try connection.publish("", payload: []) }
        #expect(throws: NATSError.self) { try connection.publish("a b", payload: []) }
        #expect(throws: NATSError.self) { try connection.publish("a..b", payload: []) }
        #expect(throws: NATSError.self) { try connection.publish("a.*", payload: []) }
        try connection.flush()                   // the connection is still fine
    }

    @Test func callsAfterTheServerStopsReportAClosedConnection() throws {
        let server = try NATSTestServer()
        defer { server.shutdown() }
        let connection = try server.connect()
        let subscription = try connection.subscribe("x")
        try connection.flush()
        server.stop()
        // The waiting reader learns the connection is gone (not a silent nil).
        #expect(throws: NATSError.self) { _ = try subscription.next(timeout: 10) }
        #expect(connection.isClosed)
        do {
            try connection.publish("x", payload: [1])
            Issue.record("publish on a closed connection did not throw")
        } catch {
            guard case .connectionClosed = error else { Issue.record("unexpected \(error)"); return }
        }
    }

    @Test func serverErrorsAreReportedWithTheServersReason() throws {
        let server = try NATSTestServer()
        defer { server.shutdown() }
        let connection = try server.connect()
        #expect(connection.maxPayload == 1 << 20)
        do {
            try connection.publish("big", payload: [UInt8](repeating: 7, count: connection.maxPayload + 1))
            Issue.record("an oversized publish did not throw")
        } catch {
            guard case .invalidArgument(let what) = error else { Issue.record("\(error)"); return }
            #expect(what.contains("max_payload"))
        }
        let watcher = try connection.subscribe("watch")
        try connection.flush()
        // The server answers -ERR and closes. Nothing more is written until
        // the close is seen (a write into the closing socket could make the
        // peer reset it and drop the -ERR unread).
        try connection.write("NOSUCHOP\r\n")
        #expect(throws: NATSError.self) { _ = try watcher.next(timeout: 10) }
        do {
            try connection.flush()
            Issue.record("flush after a protocol error did not throw")
        } catch {
            guard case .serverError(let text) = error else { Issue.record("\(error)"); return }
            #expect(text.contains("Unknown Protocol Operation"))
            #expect(NATSError.serverError(text).description.contains("-ERR"))
        }
        #expect(connection.serverErrors.contains { $0.contains("Unknown Protocol Operation") })
    }

    @Test func parsesTheJetStreamReplySubject() {
        let v1 = JetStreamMetadata(replySubject: "$JS.ACK.ORDERS.worker-0.2.17.31.1700000000000000000.5")
        #expect(v1 == JetStreamMetadata(stream: "ORDERS", consumer: "worker-0", delivered: 2, streamSequence: 17,
                                        consumerSequence: 31, timestamp: 1_700_000_000_000_000_000, pending: 5))
        let v2 = JetStreamMetadata(replySubject: "$JS.ACK.hub.ACCHASH.ORDERS.c.1.9.9.1700000000000000000.0.rnd")
        #expect(v2?.stream == "ORDERS" && v2?.streamSequence == 9 && v2?.delivered == 1)
        #expect(JetStreamMetadata(replySubject: "_INBOX.abc.1") == nil)
        #expect(JetStreamMetadata(replySubject: "$JS.ACK.S.C.x.1.1.1.0") == nil)
    }
}

extension JetStreamMetadata {
    init(stream: String, consumer: String, delivered: UInt64, streamSequence: UInt64, consumerSequence: UInt64,
         timestamp: Int64, pending: UInt64) {
        self.init(replySubject: "$JS.ACK.\(stream).\(consumer).\(delivered).\(streamSequence).\(consumerSequence).\(timestamp).\(pending)")!
    }
}
