import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Options of a connection.
public struct NATSConnectionOptions: Sendable {
    /// Server host (an IP literal or a name). Default "127.0.0.1".
    public var host: String = "127.0.0.1"
    /// Server port. Default 4222, the NATS client port.
    public var port: Int = 4222
    /// How long connecting (TCP, INFO, CONNECT and the first PONG) may take. Default 5 s.
    public var connectTimeout: Double = 5
    /// How long a request, a flush or a JetStream API call waits for its reply. Default 5 s.
    public var requestTimeout: Double = 5
    /// The client name the server shows (CONNECT `name`). Default "strata".
    public var name: String = "strata"

    /// A server address; the timeouts and name keep their defaults.
    public init(host: String = "127.0.0.1", port: Int = 4222) {
        self.host = host
        self.port = port
    }
}

/// A subscription: messages on its subject arrive in a queue that
/// `next(timeout:)` reads. Thread safety: one reading thread; `unsubscribe`
/// from any thread.
public final class NATSSubscription: Sendable {
    /// The subject (may hold wildcards) it listens on.
    public let subject: String
    let sid: UInt64
    let queue: MessageQueue
    private let connection: NATSConnection

    init(subject: String, sid: UInt64, queue: MessageQueue, connection: NATSConnection) {
        self.subject = subject
        self.sid = sid
        self.queue = queue
        self.connection = connection
    }

    /// The next message, waiting at most `timeout` seconds; nil when none came.
    /// Throws `.connectionClosed` once the connection is gone (after the
    /// messages that arrived before are taken).
    public func next(timeout: Double) throws(NATSError) -> NATSMessage? {
        try queue.pop(until: Date(timeIntervalSinceNow: timeout))
    }

    /// Stops the subscription (UNSUB); messages already queued stay readable.
    public func unsubscribe() throws(NATSError) { try connection.unsubscribe(self) }
}

/// The shared state of one connection: what the event loop's handler and
/// the blocking callers both touch.
final class ConnectionCore: Sendable {
    struct State {
        var subscriptions: [UInt64: MessageQueue] = [:]
        var replies: [String: MessageQueue] = [:]
        var pongWaiters: [EventLoopPromise<Void>] = []
        var infoPromise: EventLoopPromise<String>?
        var closed: NATSError?
        var serverErrors: [String] = []
        /// False until CONNECT's PONG: an -ERR before it fails the connect.
        var handshakeDone = false
    }
    let state = Mutex(State())
    /// The sid of the connection's wildcard inbox subscription.
    static let inboxSid: UInt64 = 1
    let inboxPrefix: String

    init(inboxPrefix: String) { self.inboxPrefix = inboxPrefix }

    func deliver(_ message: NATSMessage, sid: UInt64) {
        let queue: MessageQueue? = state.withLock { state in
            if sid == Self.inboxSid {
                guard message.subject.hasPrefix(inboxPrefix) else { return nil }
                return state.replies[String(message.subject.dropFirst(inboxPrefix.count + 1))]
            }
            return state.subscriptions[sid]
        }
        queue?.push(message)          // a message for a finished request or subscription is dropped
    }

    func receivedPong() {
        let waiter = state.withLock { $0.pongWaiters.isEmpty ? nil : $0.pongWaiters.removeFirst() }
        waiter?.succeed(())
    }

    func receivedInfo(_ json: String) {
        let promise = state.withLock { state in
            defer { state.infoPromise = nil }
            return state.infoPromise
        }
        promise?.succeed(json)
    }

    func receivedError(_ text: String) {
        let waiters = state.withLock { state -> [EventLoopPromise<Void>] in
            state.serverErrors.append(text)
            guard !state.handshakeDone else { return [] }
            defer { state.pongWaiters = [] }
            return state.pongWaiters          // during connect: the handshake fails with the server's reason
        }
        for waiter in waiters { waiter.fail(NATSError.serverError(text)) }
    }

    /// The connection is gone: every waiter fails with `error`.
    func closed(with error: NATSError) {
        let (queues, waiters, info) = state.withLock { state in
            if state.closed == nil { state.closed = error }
            let queues = Array(state.subscriptions.values) + Array(state.replies.values)
            let waiters = state.pongWaiters
            state.pongWaiters = []
            defer { state.infoPromise = nil }
            return (queues, waiters, state.infoPromise)
        }
        for queue in queues { queue.fail(error) }
        for waiter in waiters { waiter.fail(error) }
        info?.fail(error)
    }
}

/// Receives the decoded operations on the event loop.
final class NATSInboundHandler: ChannelInboundHandler {
    typealias InboundIn = NATSServerOp
    typealias OutboundOut = ByteBuffer
    let core: ConnectionCore
    private var sawInfo = false
    /// The last -ERR not followed by other traffic: the server's reason
    /// when it closes the connection right after (it does for fatal errors).
    private var lastError: String?

    init(core: ConnectionCore) { self.core = core }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let op = unwrapInboundIn(data)
        if case .err = op {} else { lastError = nil }
        switch op {
        case .msg(let message, let sid): core.deliver(message, sid: sid)
        case .ping:
            var buffer = context.channel.allocator.buffer(capacity: 6)
            buffer.writeString("PONG\r\n")
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        case .pong: core.receivedPong()
        case .ok: break
        case .err(let text):
            lastError = text
            core.receivedError(text)
        case .info(let json):
            if !sawInfo { sawInfo = true; core.receivedInfo(json) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        core.closed(with: lastError.map { .serverError($0) } ?? .connectionClosed(operation: "the connection (server closed it)"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let reason = (error as? NATSError)?.description ?? "\(error)"
        core.closed(with: lastError.map { .serverError($0) } ?? .connectionClosed(operation: "reading from the server (\(reason))"))
        context.close(promise: nil)
    }
}

/// A connection to one NATS server: publish, subscribe, request/reply and
/// flush, as blocking calls over SwiftNIO's event loop. Built for the
/// pipeline's dedicated threads: every call may block its caller, so never
/// call it on an event loop thread (NIO traps that in debug builds) and
/// prefer dedicated threads to the Swift concurrency pool.
///
/// There is no automatic reconnect: when the server goes away every
/// waiting and later call throws `NATSError.connectionClosed`, and the
/// caller connects again (JetStream state — streams, durable consumers and
/// their acked positions — lives on the server and survives).
///
/// Thread safety: all methods may be called from any (non-event-loop) thread.
public final class NATSConnection: Sendable {
    /// What the connection was made with.
    public let options: NATSConnectionOptions
    /// The server's INFO JSON as received at connect.
    public let serverInfo: String
    /// The largest payload (with headers) the server accepts, from INFO
    /// `max_payload` (1 MiB by default on nats-server).
    public let maxPayload: Int
    let channel: Channel
    let core: ConnectionCore
    private let counters = Mutex((sid: ConnectionCore.inboxSid, token: UInt64(0)))

    private init(options: NATSConnectionOptions, channel: Channel, core: ConnectionCore, serverInfo: String) {
        self.options = options
        self.channel = channel
        self.core = core
        self.serverInfo = serverInfo
        let info = (try? JSONSerialization.jsonObject(with: Data(serverInfo.utf8))) as? [String: Any]
        self.maxPayload = (info?["max_payload"] as? NSNumber)?.intValue ?? 1 << 20
    }

    deinit { channel.close(promise: nil) }

    /// Connects, reads INFO, sends CONNECT (headers and no-responders on)
    /// and waits for the PONG of a PING. Throws `.connectionRefused` when
    /// nothing listens, `.noServer` when the host cannot be reached or does
    /// not speak NATS in time, `.serverError` when the server refuses.
    public static func connect(_ options: NATSConnectionOptions) throws(NATSError) -> NATSConnection {
        let group = MultiThreadedEventLoopGroup.singleton
        let core = ConnectionCore(inboxPrefix: "_INBOX." + randomToken(22))
        let infoPromise = group.any().makePromise(of: String.self)
        core.state.withLock { $0.infoPromise = infoPromise }
        let timeout = TimeAmount.nanoseconds(Int64(options.connectTimeout * 1e9))
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(NATSOpDecoder()))
                    try channel.pipeline.syncOperations.addHandler(NATSInboundHandler(core: core))
                }
            }
        let channel: Channel
        do {
            if let address = try? SocketAddress(ipAddress: options.host, port: options.port) {
                channel = try bootstrap.connect(to: address).wait()
            } else {
                channel = try bootstrap.connect(host: options.host, port: options.port).wait()
            }
        } catch {
            infoPromise.fail(error)
            throw classifyConnectError(error, options)
        }
        let info: String
        do {
            info = try wait(infoPromise.futureResult, on: channel.eventLoop, seconds: options.connectTimeout,
                            operation: "INFO from \(options.host):\(options.port)")
        } catch {
            channel.close(promise: nil)
            if case .timeout = error {
                throw .noServer(host: options.host, port: options.port,
                                reason: "the peer sent no NATS INFO within \(options.connectTimeout) s (not a NATS server?)")
            }
            throw error
        }
        let connection = NATSConnection(options: options, channel: channel, core: core, serverInfo: info)
        let connect = #"{"verbose":false,"pedantic":false,"lang":"swift","version":"0.1","protocol":1,"headers":true,"no_responders":true,"name":"\#(options.name)"}"#
        do {
            try connection.write(NATSClientOp.connect(connect)
                                 + NATSClientOp.subscribe(subject: core.inboxPrefix + ".*", queue: nil, sid: ConnectionCore.inboxSid))
            try connection.flush(timeout: options.connectTimeout)
            core.state.withLock { $0.handshakeDone = true }
        } catch {
            channel.close(promise: nil)
            throw error
        }
        return connection
    }

    private static func classifyConnectError(_ error: Error, _ options: NATSConnectionOptions) -> NATSError {
        func refused(_ error: Error) -> Bool {
            if let io = error as? IOError { return io.errnoCode == ECONNREFUSED }
            return "\(error)".contains("refused")
        }
        if let multi = error as? NIOConnectionError, !multi.connectionErrors.isEmpty,
           multi.connectionErrors.allSatisfy({ refused($0.error) }) {
            return .connectionRefused(host: options.host, port: options.port)
        }
        if refused(error) { return .connectionRefused(host: options.host, port: options.port) }
        if let channelError = error as? ChannelError, channelError == .connectTimeout(.nanoseconds(0)) || "\(channelError)".contains("connectTimeout") {
            return .noServer(host: options.host, port: options.port, reason: "TCP connect timed out after \(options.connectTimeout) s")
        }
        return .noServer(host: options.host, port: options.port, reason: "\(error)")
    }

    /// Closes the connection (pending calls fail with `.connectionClosed`).
    public func close() {
        core.closed(with: .connectionClosed(operation: "a call on a connection closed by the client"))
        try? channel.close().wait()
    }

    /// True once the connection is gone (closed by either side).
    public var isClosed: Bool { core.state.withLock { $0.closed != nil } }

    /// `-ERR` messages the server sent after connecting (oldest first).
    public var serverErrors: [String] { core.state.withLock { $0.serverErrors } }

    // MARK: Core operations

    /// Publishes `payload` to `subject` (PUB, or HPUB when `headers` is
    /// given). Returns once the bytes are queued on the socket; `flush()`
    /// waits until the server has read them.
    public func publish(_ subject: String, payload: [UInt8], headers: NATSHeaders? = nil, replyTo: String? = nil) throws(NATSError) {
        try validateSubject(subject)
        if let replyTo { try validateSubject(replyTo) }
        let size = payload.count + (headers.map { $0.encoded().count } ?? 0)
        guard size <= maxPayload else {
            throw .invalidArgument("a message of \(size) bytes to \(subject) exceeds the server's max_payload of \(maxPayload) bytes")
        }
        var buffer = channel.allocator.buffer(capacity: payload.count + subject.count + 64)
        NATSClientOp.publish(subject: subject, replyTo: replyTo, headers: headers, payload: payload, into: &buffer)
        try write(buffer, operation: "publish to \(subject)")
    }

    /// Subscribes to `subject` (wildcards allowed), optionally in a queue group.
    public func subscribe(_ subject: String, queueGroup: String? = nil) throws(NATSError) -> NATSSubscription {
        try validateSubject(subject, wildcards: true)
        let sid = counters.withLock { $0.sid += 1; return $0.sid }
        let queue = MessageQueue()
        core.state.withLock { $0.subscriptions[sid] = queue }
        try write(NATSClientOp.subscribe(subject: subject, queue: queueGroup, sid: sid))
        return NATSSubscription(subject: subject, sid: sid, queue: queue, connection: self)
    }

    func unsubscribe(_ subscription: NATSSubscription) throws(NATSError) {
        core.state.withLock { _ = $0.subscriptions.removeValue(forKey: subscription.sid) }
        try write(NATSClientOp.unsubscribe(sid: subscription.sid))
    }

    /// Sends PING and waits for the PONG: every operation written before
    /// has been processed by the server. Throws `.serverError` if the server
    /// sent `-ERR` meanwhile.
    public func flush(timeout: Double? = nil) throws(NATSError) {
        let seconds = timeout ?? options.requestTimeout
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let (errorsBefore, closed) = core.state.withLock { state -> (Int, NATSError?) in
            if state.closed == nil { state.pongWaiters.append(promise) }
            return (state.serverErrors.count, state.closed)
        }
        if let closed {
            let error: NATSError
            if case .serverError = closed { error = closed } else { error = .connectionClosed(operation: "flush") }
            promise.fail(error)
            throw error
        }
        // A failed write means the channel is closing: the close fails the
        // waiter with the server's reason (an -ERR) or `.connectionClosed`.
        try? write("PING\r\n", operation: "flush")
        try Self.wait(promise.futureResult, on: channel.eventLoop, seconds: seconds, operation: "flush (PING/PONG)")
        if let error = core.state.withLock({ $0.serverErrors.count > errorsBefore ? $0.serverErrors.last : nil }) {
            throw .serverError(error)
        }
    }

    /// Publishes a request and waits for the first reply. Throws
    /// `.noResponders` when nobody subscribes to `subject`, `.timeout`
    /// when no reply comes within `timeout` (default `requestTimeout`).
    public func request(_ subject: String, payload: [UInt8], headers: NATSHeaders? = nil,
                        timeout: Double? = nil) throws(NATSError) -> NATSMessage {
        let seconds = timeout ?? options.requestTimeout
        let (replyTo, queue, token) = openReplyQueue()
        defer { closeReplyQueue(token) }
        try publish(subject, payload: payload, headers: headers, replyTo: replyTo)
        guard let reply = try queue.pop(until: Date(timeIntervalSinceNow: seconds)) else {
            throw .timeout(operation: "request on \(subject)", seconds: seconds)
        }
        if reply.status == 503 { throw .noResponders(subject: subject) }
        return reply
    }

    // MARK: Internals

    /// A fresh reply subject under the connection's inbox and the queue its replies land in.
    func openReplyQueue() -> (subject: String, queue: MessageQueue, token: String) {
        let n = counters.withLock { $0.token += 1; return $0.token }
        let token = String(n, radix: 36)
        let queue = MessageQueue()
        let closed = core.state.withLock { state -> NATSError? in
            state.replies[token] = queue
            return state.closed
        }
        if let closed { queue.fail(closed) }
        return (core.inboxPrefix + "." + token, queue, token)
    }

    func closeReplyQueue(_ token: String) {
        core.state.withLock { _ = $0.replies.removeValue(forKey: token) }
    }

    func write(_ text: String, operation: String = "write") throws(NATSError) {
        var buffer = channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        try write(buffer, operation: operation)
    }

    func write(_ buffer: ByteBuffer, operation: String) throws(NATSError) {
        let closed = core.state.withLock { $0.closed }
        if let closed, case .serverError = closed { throw closed }          // the server's reason for closing
        if closed != nil || !channel.isActive { throw .connectionClosed(operation: operation) }
        channel.writeAndFlush(buffer, promise: nil)
    }

    /// Waits for `future` at most `seconds` (blocking; not on an event loop).
    static func wait<T: Sendable>(_ future: EventLoopFuture<T>, on loop: EventLoop, seconds: Double,
                                  operation: String) throws(NATSError) -> T {
        let promise = loop.makePromise(of: T.self)
        future.cascade(to: promise)
        let timer = loop.scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
            promise.fail(NATSError.timeout(operation: operation, seconds: seconds))
        }
        do {
            let value = try promise.futureResult.wait()
            timer.cancel()
            return value
        } catch let error as NATSError {
            throw error
        } catch {
            throw .connectionClosed(operation: "\(operation) (\(error))")
        }
    }

    static func randomToken(_ count: Int) -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }
}
