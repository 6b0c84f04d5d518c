import CHiredis
import Foundation
import Strata

/// Where a Redis server listens: `HOST:PORT`, `[IPv6]:PORT` or
/// `unix:/path/to/redis.sock`.
package enum RedisEndpoint: Sendable, Equatable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// Parses an address; anything else is `.invalidArgument` naming the
    /// address and the accepted forms.
    package init(parsing address: String) throws {
        func bad(_ why: String) -> StrataError {
            StrataError(.invalidArgument, "Redis sink: cannot parse the address \"\(address)\": \(why)"
                        + " (expected HOST:PORT, [IPv6]:PORT or unix:/path/to/socket)")
        }
        if address.hasPrefix("unix:") {
            let path = String(address.dropFirst(5))
            guard path.hasPrefix("/") else { throw bad("the socket path must be absolute") }
            self = .unix(path: path)
            return
        }
        guard let colon = address.lastIndex(of: ":") else { throw bad("no port") }
        var host = String(address[..<colon])
        let portText = address[address.index(after: colon)...]
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { throw bad("an IPv6 host must be written [ADDRESS]") }
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw bad("an IPv6 host must be written [ADDRESS]")
        }
        guard !host.isEmpty else { throw bad("no host") }
        guard !host.contains(where: { $0.isWhitespace || $0 == "/" }) else { throw bad("the host has a space or '/'") }
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }), portText.count <= 5,
              let port = Int(portText), (1...65_535).contains(port) else {
            throw bad("the port must be a number from 1 to 65535")
        }
        self = .tcp(host: host, port: port)
    }

    package var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }
}

/// One reply of the Redis protocol, copied out of hiredis' reply object.
package enum RedisReply: Equatable {
    case string([UInt8])
    case status(String)
    case integer(Int64)
    case null
    case array([RedisReply])
    /// An error reply (`-ERR …`, `-NOSCRIPT …`, `-WRONGPASS …`): the server
    /// answered; the connection is still usable.
    case error(String)

    /// The reply as text, for status and bulk string replies.
    package var text: String? {
        switch self {
        case .string(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let s): s
        default: nil
        }
    }
}

/// The connection failed (refused, reset, closed, timed out): the context
/// is unusable and whether the last command ran is unknown.
package struct RedisConnectionLost: Error, CustomStringConvertible {
    package let message: String
    package var description: String { message }
}

/// A command's arguments in one flat buffer (no array per argument).
package struct RedisArguments {
    private(set) var bytes: [UInt8] = []
    private(set) var ends: [Int] = []

    package init() {}
    package init(_ words: String...) { for w in words { append(w) } }

    package var count: Int { ends.count }

    package mutating func append(_ s: String) {
        bytes.append(contentsOf: s.utf8)
        ends.append(bytes.count)
    }

    package mutating func append<Bytes: Collection<UInt8>>(bytes b: Bytes) {
        bytes.append(contentsOf: b)
        ends.append(bytes.count)
    }

    /// Appends `a SEP b SEP c` as one argument (a key from its parts).
    package mutating func append(_ a: String, _ b: String, _ c: String, separator: UInt8) {
        bytes.append(contentsOf: a.utf8)
        bytes.append(separator)
        bytes.append(contentsOf: b.utf8)
        bytes.append(separator)
        bytes.append(contentsOf: c.utf8)
        ends.append(bytes.count)
    }

    package mutating func reserve(arguments: Int, bytes n: Int) {
        ends.reserveCapacity(ends.count + arguments)
        bytes.reserveCapacity(bytes.count + n)
    }
}

/// A blocking hiredis connection (`redisContext`).
///
/// Thread safety: none; one thread at a time (the committer holds it under
/// its lock). Every call blocks the calling thread on the socket, bounded
/// by the timeouts given at connection, so call it from a thread you own,
/// never from the Swift concurrency pool.
package final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>
    package let endpoint: RedisEndpoint

    /// Connects (TCP or Unix socket) within `connectTimeout`; later
    /// commands time out after `commandTimeout`. Throws
    /// `RedisConnectionLost` with hiredis' reason when the connection fails.
    package init(endpoint: RedisEndpoint, connectTimeout: Duration, commandTimeout: Duration) throws {
        self.endpoint = endpoint
        let connectTV = Self.makeTimeval(connectTimeout)
        let made: UnsafeMutablePointer<redisContext>? = switch endpoint {
        case .tcp(let host, let port): redisConnectWithTimeout(host, Int32(port), connectTV)
        case .unix(let path): redisConnectUnixWithTimeout(path, connectTV)
        }
        guard let made else { throw RedisConnectionLost(message: "cannot allocate a hiredis context") }
        if made.pointee.err != 0 {
            let reason = Self.errorText(made)
            redisFree(made)
            throw RedisConnectionLost(message: "cannot connect to \(endpoint): \(reason)")
        }
        if redisSetTimeout(made, Self.makeTimeval(commandTimeout)) != REDIS_OK {
            let reason = Self.errorText(made)
            redisFree(made)
            throw RedisConnectionLost(message: "cannot set the command timeout on \(endpoint): \(reason)")
        }
        context = made
    }

    deinit { redisFree(context) }

    /// Sends one command and waits for its reply. An error reply is a
    /// `.error` reply; a broken or timed-out connection throws
    /// `RedisConnectionLost` (this connection is then unusable).
    package func command(_ arguments: RedisArguments) throws -> RedisReply {
        precondition(arguments.count > 0, "a Redis command has a name")
        let raw: UnsafeMutableRawPointer? = arguments.bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                let base = chars.baseAddress!     // never empty: the command name
                var argv: [UnsafePointer<CChar>?] = []
                var lengths: [Int] = []
                argv.reserveCapacity(arguments.count)
                lengths.reserveCapacity(arguments.count)
                var start = 0
                for end in arguments.ends {
                    argv.append(UnsafePointer(base + start))
                    lengths.append(end - start)
                    start = end
                }
                return argv.withUnsafeMutableBufferPointer { argvBuffer in
                    lengths.withUnsafeBufferPointer { lengthBuffer in
                        redisCommandArgv(context, Int32(arguments.count), argvBuffer.baseAddress, lengthBuffer.baseAddress)
                    }
                }
            }
        }
        guard let raw else {
            throw RedisConnectionLost(message: "connection to \(endpoint) lost: \(Self.errorText(context))")
        }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        return Self.convert(reply)
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            return .string(bytes(r.str, r.len))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(r.str, r.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(r.str, r.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(r.integer))
        case REDIS_REPLY_ARRAY:
            var items: [RedisReply] = []
            items.reserveCapacity(r.elements)
            for i in 0..<r.elements {
                if let element = r.element[i] { items.append(convert(element)) } else { items.append(.null) }
            }
            return .array(items)
        default:
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        let text = withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return text.isEmpty ? "hiredis error \(context.pointee.err)" : text
    }

    private static func makeTimeval(_ d: Duration) -> timeval {
        let (seconds, attoseconds) = d.components
        return timeval(tv_sec: Int(max(0, seconds)), tv_usec: Int(max(0, attoseconds) / 1_000_000_000_000))
    }
}
