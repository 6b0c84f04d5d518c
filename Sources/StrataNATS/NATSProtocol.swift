import NIOCore

/// One operation the server sends.
enum NATSServerOp: Sendable {
    case info(String)
    case msg(NATSMessage, sid: UInt64)
    case ping
    case pong
    case ok
    case err(String)
}

/// Splits the server's byte stream into operations: a control line ending
/// in CRLF, and for MSG/HMSG the payload of the announced size plus CRLF.
/// Partial input waits for more bytes; anything else is a protocol error.
struct NATSOpDecoder: ByteToMessageDecoder {
    typealias InboundOut = NATSServerOp

    /// Longest control line accepted (the server's own default max_control_line is 4 KiB).
    static let maxControlLine = 64 * 1024
    /// Largest payload accepted (the server's max_payload ceiling is 64 MiB).
    static let maxPayload = 64 << 20

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let op = try Self.parse(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(op))
        return .continue
    }

    /// Parses one operation off the front of `buffer`; nil (buffer untouched) when incomplete.
    static func parse(_ buffer: inout ByteBuffer) throws -> NATSServerOp? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: UInt8(ascii: "\r")) else {
            if view.count > maxControlLine { throw NATSError.protocolViolation("control line longer than \(maxControlLine) bytes") }
            return nil
        }
        guard cr + 1 < view.endIndex else { return nil }
        guard view[cr + 1] == UInt8(ascii: "\n") else { throw NATSError.protocolViolation("control line not ended by CRLF") }
        let line = String(decoding: view[view.startIndex..<cr], as: UTF8.self)
        let lineLength = cr - view.startIndex + 2
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard let verb = parts.first?.uppercased() else { throw NATSError.protocolViolation("empty control line") }
        switch verb {
        case "MSG", "HMSG":
            let headered = verb == "HMSG"
            // MSG <subject> <sid> [reply] <size>; HMSG <subject> <sid> [reply] <hdr size> <total size>
            let fixed = headered ? 5 : 4
            guard parts.count == fixed || parts.count == fixed + 1,
                  let sid = UInt64(parts[2]), let total = Int(parts[parts.count - 1]), total >= 0, total <= maxPayload else {
                throw NATSError.protocolViolation("malformed \(verb) line '\(line)'")
            }
            let headerSize = headered ? Int(parts[parts.count - 2]) ?? -1 : 0
            guard headerSize >= 0, headerSize <= total else { throw NATSError.protocolViolation("malformed \(verb) sizes in '\(line)'") }
            let reply = parts.count == fixed + 1 ? String(parts[3]) : nil
            guard buffer.readableBytes >= lineLength + total + 2 else { return nil }
            buffer.moveReaderIndex(forwardBy: lineLength)
            guard let body = buffer.readBytes(length: total), let crlf = buffer.readBytes(length: 2),
                  crlf == [13, 10] else {
                throw NATSError.protocolViolation("\(verb) payload not followed by CRLF")
            }
            var headers: NATSHeaders?
            if headered {
                guard let parsed = NATSHeaders.parse(body[0..<headerSize]) else {
                    throw NATSError.protocolViolation("HMSG header block does not start with NATS/1.0")
                }
                headers = parsed
            }
            let message = NATSMessage(subject: String(parts[1]), replyTo: reply, headers: headers,
                                      payload: Array(body[headerSize...]))
            return .msg(message, sid: sid)
        default:
            buffer.moveReaderIndex(forwardBy: lineLength)
            switch verb {
            case "PING": return .ping
            case "PONG": return .pong
            case "+OK": return .ok
            case "-ERR":
                var text = line.dropFirst(4).trimmingSpaces()
                if text.hasPrefix("'") && text.hasSuffix("'") && text.count >= 2 { text = String(text.dropFirst().dropLast()) }
                return .err(text)
            case "INFO": return .info(String(line.dropFirst(4)).trimmingSpaces())
            default: throw NATSError.protocolViolation("unknown operation '\(verb)'")
            }
        }
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

/// The client's operations, written into a buffer.
enum NATSClientOp {
    static func connect(_ json: String) -> String { "CONNECT \(json)\r\n" }

    static func publish(subject: String, replyTo: String?, headers: NATSHeaders?, payload: [UInt8],
                        into buffer: inout ByteBuffer) {
        let reply = replyTo.map { " \($0)" } ?? ""
        if let headers {
            let block = headers.encoded()
            buffer.writeString("HPUB \(subject)\(reply) \(block.count) \(block.count + payload.count)\r\n")
            buffer.writeBytes(block)
        } else {
            buffer.writeString("PUB \(subject)\(reply) \(payload.count)\r\n")
        }
        buffer.writeBytes(payload)
        buffer.writeString("\r\n")
    }

    static func subscribe(subject: String, queue: String?, sid: UInt64) -> String {
        "SUB \(subject)\(queue.map { " \($0)" } ?? "") \(sid)\r\n"
    }

    static func unsubscribe(sid: UInt64) -> String { "UNSUB \(sid)\r\n" }
}

/// Checks a subject (or reply subject) before it goes on the wire: not
/// empty, no whitespace, no empty tokens.
func validateSubject(_ subject: String, wildcards: Bool = false) throws(NATSError) {
    guard !subject.isEmpty else { throw NATSError.invalidArgument("empty subject") }
    guard !subject.contains(where: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }) else {
        throw NATSError.invalidArgument("subject '\(subject)' contains whitespace")
    }
    let tokens = subject.split(separator: ".", omittingEmptySubsequences: false)
    guard !tokens.contains(where: \.isEmpty) else { throw NATSError.invalidArgument("subject '\(subject)' has an empty token") }
    if !wildcards, tokens.contains(where: { $0 == "*" || $0 == ">" }) {
        throw NATSError.invalidArgument("subject '\(subject)' has a wildcard where a concrete subject is needed")
    }
}
