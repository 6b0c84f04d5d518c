import NIOCore
import Testing
@testable import StrataNATS

/// The server-operation parser on its own: frames split anywhere, and
/// malformed input rejected with a named protocol violation (never a trap).
@Suite struct NATSProtocolTests {
    /// Parses everything in `bytes`, fed one chunk of `chunk` bytes at a time.
    func parseAll(_ bytes: [UInt8], chunk: Int) throws -> [NATSServerOp] {
        var buffer = ByteBuffer()
        var ops: [NATSServerOp] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            buffer.writeBytes(bytes[offset..<end])
            offset = end
            while let op = try NATSOpDecoder.parse(&buffer) { ops.append(op) }
        }
        #expect(buffer.readableBytes == 0)
        return ops
    }

    @Test func parsesEveryOperationAcrossAnySplit() throws {
        let wire = Array(("INFO {\"server_id\":\"x\",\"max_payload\":1048576}\r\n"
            + "MSG orders.eu 7 5\r\nhello\r\n"
            + "MSG orders.us 7 _INBOX.a.1 0\r\n\r\n"
            + "HMSG orders.eu 8 $JS.ACK.S.C.1.2.3.4.5 32 35\r\nNATS/1.0\r\nNats-Msg-Id: 1/0/0\r\n\r\nabc\r\n"
            + "HMSG _INBOX.f 9 32 32\r\nNATS/1.0 408 Request Timeout\r\n\r\n\r\n"
            + "PING\r\nPONG\r\n+OK\r\n-ERR 'Unknown Protocol Operation'\r\n").utf8)
        for chunk in [1, 2, 3, 7, 64, wire.count] {
            let ops = try parseAll(wire, chunk: chunk)
            #expect(ops.count == 9, "chunk \(chunk)")
            guard ops.count == 9 else { continue }
            guard case .info(let info) = ops[0] else { Issue.record("not INFO: \(ops[0])"); continue }
            #expect(info.hasPrefix("{") && info.contains("max_payload"))
            guard case .msg(let hello, 7) = ops[1], case .msg(let empty, 7) = ops[2],
                  case .msg(let headered, 8) = ops[3], case .msg(let status, 9) = ops[4] else {
                Issue.record("messages misparsed: \(ops[1...4])"); continue
            }
            #expect(hello.subject == "orders.eu" && hello.text == "hello" && hello.replyTo == nil)
            #expect(empty.replyTo == "_INBOX.a.1" && empty.payload.isEmpty)
            #expect(headered.headers?["Nats-Msg-Id"] == "1/0/0" && headered.text == "abc")
            #expect(headered.replyTo == "$JS.ACK.S.C.1.2.3.4.5")
            #expect(status.status == 408 && status.headers?.statusDescription == "Request Timeout" && status.payload.isEmpty)
            guard case .ping = ops[5], case .pong = ops[6], case .ok = ops[7], case .err(let text) = ops[8] else {
                Issue.record("control ops misparsed: \(ops[5...])"); continue
            }
            #expect(text == "Unknown Protocol Operation")
        }
    }

    @Test(arguments: [
        "BOGUS 1 2\r\n",
        "MSG a\r\n",
        "MSG a x 5\r\nhello\r\n",                      // sid not a number
        "MSG a 1 -1\r\n\r\n",
        "MSG a 1 3\r\nabcXY",                          // payload not followed by CRLF
        "HMSG a 1 10 5\r\nNATS/1.0\r\n\r\n",           // header size above total
        "HMSG a 1 5 5\r\nHELLO\r\n",                   // header block without NATS/1.0
        "PING\rX",
    ])
    func rejectsMalformedInputWithANamedViolation(_ text: String) {
        var buffer = ByteBuffer(string: text)
        do {
            while try NATSOpDecoder.parse(&buffer) != nil {}
            Issue.record("'\(text.debugDescription)' was accepted")
        } catch {
            guard case .protocolViolation(let what) = error as? NATSError else { Issue.record("\(error)"); return }
            #expect(!what.isEmpty)
        }
    }

    @Test func aControlLineWithoutEndIsRejectedOnceTooLong() throws {
        var buffer = ByteBuffer(bytes: [UInt8](repeating: UInt8(ascii: "A"), count: 100))
        #expect(try NATSOpDecoder.parse(&buffer) == nil)          // may still be arriving
        buffer.writeBytes([UInt8](repeating: UInt8(ascii: "A"), count: NATSOpDecoder.maxControlLine))
        #expect(throws: NATSError.self) { _ = try NATSOpDecoder.parse(&buffer) }
    }

    @Test func headersEncodeAndParseBack() {
        var headers = NATSHeaders([("Nats-Msg-Id", "3/1/7"), ("X", "a: b")])
        headers.append("X", "c")
        let wire = headers.encoded()
        #expect(String(decoding: wire, as: UTF8.self) == "NATS/1.0\r\nNats-Msg-Id: 3/1/7\r\nX: a: b\r\nX: c\r\n\r\n")
        let parsed = NATSHeaders.parse(wire[...])
        #expect(parsed == headers)
        #expect(parsed?["X"] == "a: b")
    }
}
