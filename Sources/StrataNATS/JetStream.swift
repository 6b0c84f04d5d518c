import Foundation

/// The JetStream API over one connection: streams, pull consumers, fetch,
/// publish with acks, and reads by sequence. Every call is a request to
/// `$JS.API.…` and blocks until the reply (or `timeout`).
///
/// Errors: `.noStream` when no stream captures a published subject or the
/// server has no JetStream, `.jetStream` with the server's code and
/// description for API errors (stream not found: err_code 10059, consumer
/// not found: 10014), `.timeout`, `.connectionClosed`.
///
/// Thread safety: a value type over a thread-safe connection; calls may
/// come from any non-event-loop thread.
public struct JetStream: Sendable {
    /// The connection the API calls go over.
    public let connection: NATSConnection
    /// Seconds an API call waits for its reply (default: the connection's `requestTimeout`).
    public var timeout: Double
    /// The API subject prefix ("$JS.API" without a JetStream domain).
    public var apiPrefix = "$JS.API"

    /// The JetStream API over `connection`; `timeout` defaults to its `requestTimeout`.
    public init(_ connection: NATSConnection, timeout: Double? = nil) {
        self.connection = connection
        self.timeout = timeout ?? connection.options.requestTimeout
    }

    // MARK: Streams

    /// Creates the stream, or returns it if one with the same configuration
    /// exists (the server treats an identical create as success).
    @discardableResult
    public func createStream(_ config: StreamConfig) throws(NATSError) -> StreamInfo {
        try validateName(config.name, what: "stream")
        let body = try encode(config)
        return try api("STREAM.CREATE.\(config.name)", body: body, as: StreamInfo.self)
    }

    /// The stream's configuration and state; `.jetStream` (err_code 10059) if it does not exist.
    public func streamInfo(_ name: String) throws(NATSError) -> StreamInfo {
        try validateName(name, what: "stream")
        return try api("STREAM.INFO.\(name)", body: [], as: StreamInfo.self)
    }

    /// Deletes the stream and its consumers.
    public func deleteStream(_ name: String) throws(NATSError) {
        try validateName(name, what: "stream")
        _ = try api("STREAM.DELETE.\(name)", body: [], as: SuccessReply.self)
    }

    /// The message at stream sequence `sequence` (nil if deleted or
    /// never written: the server's 404 "no message found").
    public func message(stream: String, sequence: UInt64) throws(NATSError) -> StoredMessage? {
        try getMessage(stream: stream, request: ["seq": sequence])
    }

    /// The last message stored on `subject` in `stream`, or nil.
    public func lastMessage(stream: String, subject: String) throws(NATSError) -> StoredMessage? {
        try getMessage(stream: stream, request: ["last_by_subj": subject])
    }

    private func getMessage(stream: String, request: [String: Any]) throws(NATSError) -> StoredMessage? {
        try validateName(stream, what: "stream")
        let body = try json(request)
        let reply: MessageGetReply
        do {
            reply = try api("STREAM.MSG.GET.\(stream)", body: body, as: MessageGetReply.self)
        } catch .jetStream(_, 404, 10037, _) {      // no message found
            return nil
        }
        let raw = reply.message
        var headers: NATSHeaders?
        if let hdrs = raw.hdrs {
            guard let bytes = Data(base64Encoded: hdrs), let parsed = NATSHeaders.parse(Array(bytes)[...]) else {
                throw .protocolViolation("STREAM.MSG.GET.\(stream): headers are not base64 NATS/1.0 headers")
            }
            headers = parsed
        }
        guard let data = Data(base64Encoded: raw.data ?? "") else {
            throw .protocolViolation("STREAM.MSG.GET.\(stream): data is not base64")
        }
        return StoredMessage(subject: raw.subject, sequence: raw.seq, headers: headers, payload: Array(data))
    }

    // MARK: Consumers

    /// Creates a pull consumer on `stream` (durable when `config.durableName`
    /// is set; creating an existing durable with the same configuration
    /// returns it).
    @discardableResult
    public func createConsumer(stream: String, _ config: ConsumerConfig) throws(NATSError) -> ConsumerInfo {
        try validateName(stream, what: "stream")
        let body = try json(["stream_name": stream, "config": config.json])
        if let durable = config.durableName {
            try validateName(durable, what: "consumer")
            return try api("CONSUMER.DURABLE.CREATE.\(stream).\(durable)", body: body, as: ConsumerInfo.self)
        }
        return try api("CONSUMER.CREATE.\(stream)", body: body, as: ConsumerInfo.self)
    }

    /// The consumer's positions and counters.
    public func consumerInfo(stream: String, consumer: String) throws(NATSError) -> ConsumerInfo {
        try validateName(stream, what: "stream")
        try validateName(consumer, what: "consumer")
        return try api("CONSUMER.INFO.\(stream).\(consumer)", body: [], as: ConsumerInfo.self)
    }

    /// Deletes a consumer.
    public func deleteConsumer(stream: String, consumer: String) throws(NATSError) {
        try validateName(stream, what: "stream")
        try validateName(consumer, what: "consumer")
        _ = try api("CONSUMER.DELETE.\(stream).\(consumer)", body: [], as: SuccessReply.self)
    }

    /// Pulls up to `batch` messages from a pull consumer, waiting at most
    /// `expires` seconds for them (CONSUMER.MSG.NEXT with batch and expires).
    /// Returns what arrived — possibly fewer than `batch`, or none when the
    /// expiry passed with nothing to deliver. With `noWait`, returns at once
    /// with what is available now.
    public func fetch(stream: String, consumer: String, batch: Int, expires: Double,
                      noWait: Bool = false) throws(NATSError) -> [JetStreamMessage] {
        guard batch > 0 else { throw .invalidArgument("fetch batch must be at least 1, got \(batch)") }
        guard expires > 0 else { throw .invalidArgument("fetch expiry must be positive, got \(expires) s") }
        try validateName(stream, what: "stream")
        try validateName(consumer, what: "consumer")
        let subject = "\(apiPrefix).CONSUMER.MSG.NEXT.\(stream).\(consumer)"
        var request: [String: Any] = ["batch": batch]
        if noWait { request["no_wait"] = true } else { request["expires"] = Int64(expires * 1e9) }
        let body = try json(request)
        // Deliveries keep their stream subject on the wire (only the
        // subscription id says where they belong), so each fetch listens on
        // its own inbox subscription rather than the request inbox.
        let inbox = try connection.subscribe("_INBOX." + NATSConnection.randomToken(22))
        defer { try? inbox.unsubscribe() }
        let queue = inbox.queue
        try connection.publish(subject, payload: body, replyTo: inbox.subject)
        // The server ends a short batch with a 408 (expired) or 404 (no
        // messages, no_wait) status; the client deadline adds a margin for
        // a server that went away without saying so.
        let deadline = Date(timeIntervalSinceNow: expires + max(1, timeout))
        var messages: [JetStreamMessage] = []
        while messages.count < batch {
            guard let message = try queue.pop(until: deadline) else {
                if messages.isEmpty {
                    throw .timeout(operation: "fetch from consumer \(consumer) of stream \(stream)", seconds: expires + max(1, timeout))
                }
                break
            }
            if let status = message.status {
                switch status {
                case 404, 408: return messages                    // no messages / request expired
                case 409:                                          // e.g. "Consumer Deleted", "Exceeded MaxWaiting"
                    if messages.isEmpty {
                        throw .jetStream(api: subject, code: 409, errorCode: 0, description: message.headers?.statusDescription ?? "")
                    }
                    return messages
                case 503: throw .noStream(subject: subject)
                case 100: continue                                 // idle heartbeat
                default:
                    throw .jetStream(api: subject, code: status, errorCode: 0, description: message.headers?.statusDescription ?? "")
                }
            }
            guard let reply = message.replyTo, let metadata = JetStreamMetadata(replySubject: reply) else {
                throw .protocolViolation("fetch from \(stream)/\(consumer): delivery without a $JS.ACK reply subject")
            }
            messages.append(JetStreamMessage(message: message, metadata: metadata, connection: connection))
        }
        return messages
    }

    // MARK: Publishing

    /// Publishes to a stream's subject and waits for the PubAck. With
    /// `messageID` the server drops a second publish of the same id within
    /// the stream's duplicate window (the ack then says `duplicate`).
    /// Throws `.noStream(subject)` when no stream captures `subject`.
    @discardableResult
    public func publish(_ subject: String, payload: [UInt8], headers: NATSHeaders? = nil,
                        messageID: String? = nil) throws(NATSError) -> PubAck {
        var headers = headers
        if let messageID {
            if headers == nil { headers = NATSHeaders() }
            headers?["Nats-Msg-Id"] = messageID
        }
        let reply: NATSMessage
        do {
            reply = try connection.request(subject, payload: payload, headers: headers, timeout: timeout)
        } catch .noResponders {
            throw .noStream(subject: subject)
        }
        return try decodeReply(reply.payload, api: "publish to \(subject)", as: PubAck.self)
    }

    // MARK: Internals

    private struct SuccessReply: Decodable {}
    private struct MessageGetReply: Decodable {
        struct Raw: Decodable { var subject: String; var seq: UInt64; var hdrs: String?; var data: String? }
        var message: Raw
    }
    private struct ErrorReply: Decodable {
        struct Body: Decodable { var code: Int; var errCode: Int?; var description: String? }
        var error: Body?
    }

    /// One API request and its decoded reply.
    func api<T: Decodable>(_ call: String, body: [UInt8], as: T.Type) throws(NATSError) -> T {
        let subject = "\(apiPrefix).\(call)"
        let reply: NATSMessage
        do {
            reply = try connection.request(subject, payload: body, timeout: timeout)
        } catch .noResponders {
            throw .noStream(subject: subject)
        }
        return try decodeReply(reply.payload, api: subject, as: T.self)
    }

    private func decodeReply<T: Decodable>(_ payload: [UInt8], api: String, as: T.Type) throws(NATSError) -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let data = Data(payload)
        if let failure = try? decoder.decode(ErrorReply.self, from: data), let error = failure.error {
            throw .jetStream(api: api, code: error.code, errorCode: error.errCode ?? 0, description: error.description ?? "")
        }
        do {
            return try decoder.decode(T.self, from: data)
        } catch {
            throw .protocolViolation("\(api): reply is not a \(T.self): \(error); reply: \(String(decoding: payload.prefix(300), as: UTF8.self))")
        }
    }

    private func encode(_ config: StreamConfig) throws(NATSError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        do { return Array(try encoder.encode(config)) } catch { throw .invalidArgument("stream config does not encode: \(error)") }
    }

    private func json(_ object: [String: Any]) throws(NATSError) -> [UInt8] {
        do { return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) } catch {
            throw .invalidArgument("request does not encode as JSON: \(error)")
        }
    }

    private func validateName(_ name: String, what: String) throws(NATSError) {
        guard !name.isEmpty, !name.contains(where: { $0 == "." || $0 == "*" || $0 == ">" || $0.isWhitespace }) else {
            throw .invalidArgument("\(what) name '\(name)' is empty or holds '.', '*', '>' or whitespace")
        }
    }
}
