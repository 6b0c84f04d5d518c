import Foundation

/// How a stream stores messages (StreamConfig `storage`).
public enum JetStreamStorage: String, Codable, Sendable {
    case file, memory
}

/// A stream's configuration: the subset of the server's StreamConfig this
/// project uses. Durations are nanoseconds, as on the wire.
public struct StreamConfig: Codable, Sendable, Hashable {
    /// Stream name (no '.', '*', '>' or whitespace).
    public var name: String
    /// Subjects it captures (wildcards allowed).
    public var subjects: [String]
    /// File (default) or memory storage.
    public var storage: JetStreamStorage = .file
    /// How long the server remembers `Nats-Msg-Id` values to drop
    /// duplicate publishes, in nanoseconds. Default 2 minutes (the server's default).
    public var duplicateWindow: Int64 = 120_000_000_000
    /// Retention: "limits" (default; messages stay until limits remove them).
    public var retention: String = "limits"
    /// Replicas (1 on a single server).
    public var numReplicas: Int = 1

    /// A file-stored stream on `subjects` with the given duplicate window (default 2 minutes).
    public init(name: String, subjects: [String], storage: JetStreamStorage = .file,
                duplicateWindowSeconds: Double = 120) {
        self.name = name
        self.subjects = subjects
        self.storage = storage
        self.duplicateWindow = Int64(duplicateWindowSeconds * 1e9)
    }
}

/// A stream's counters (StreamState).
public struct StreamState: Codable, Sendable, Hashable {
    /// Messages stored.
    public var messages: UInt64
    /// Bytes stored.
    public var bytes: UInt64
    /// First and last stream sequence held (0 when empty).
    public var firstSeq: UInt64
    public var lastSeq: UInt64
    /// Consumers on the stream.
    public var consumerCount: Int
}

/// What STREAM.CREATE and STREAM.INFO return.
public struct StreamInfo: Codable, Sendable {
    /// The configuration the server holds.
    public var config: StreamConfig
    /// The stream's counters now.
    public var state: StreamState
}

/// When a consumer starts (ConsumerConfig `deliver_policy`).
public enum DeliverPolicy: Sendable, Hashable {
    /// From the first message of the stream.
    case all
    /// From the first message with stream sequence ≥ the given one.
    case byStartSequence(UInt64)
    /// Only messages published after the consumer was made.
    case new
}

/// Whether deliveries must be acknowledged (ConsumerConfig `ack_policy`).
public enum AckPolicy: String, Codable, Sendable {
    /// Each message is acked on its own; unacked ones are redelivered after `ackWait`.
    case explicit
    /// Deliveries count as acked when sent (ordered reads by sequence).
    case none
    /// An ack acknowledges every earlier delivery too.
    case all
}

/// A pull consumer's configuration (the subset this project uses).
public struct ConsumerConfig: Sendable, Hashable {
    /// Durable name; nil makes an ephemeral consumer (removed by the
    /// server after `inactiveThreshold` without use).
    public var durableName: String?
    /// Where delivery starts (default: the stream's first message).
    public var deliverPolicy: DeliverPolicy = .all
    /// Whether deliveries must be acked (default: each one explicitly).
    public var ackPolicy: AckPolicy = .explicit
    /// Seconds before an unacked delivery is sent again. Default 30 s (the server's default).
    public var ackWait: Double = 30
    /// Deliveries of a message before the server gives up (-1: unlimited, the default).
    public var maxDeliver: Int = -1
    /// Only messages whose subject matches (wildcards allowed); nil: all of the stream.
    public var filterSubject: String?
    /// Unacked deliveries outstanding at most (server default 1000 when nil).
    public var maxAckPending: Int?
    /// Seconds an ephemeral consumer survives unused; nil: the server's default (5 s).
    public var inactiveThreshold: Double?
    /// Keep the consumer's state in memory only (ephemeral readers).
    public var memoryStorage: Bool = false

    /// A pull consumer; the other fields keep their defaults.
    public init(durableName: String? = nil, filterSubject: String? = nil, deliverPolicy: DeliverPolicy = .all,
                ackPolicy: AckPolicy = .explicit) {
        self.durableName = durableName
        self.filterSubject = filterSubject
        self.deliverPolicy = deliverPolicy
        self.ackPolicy = ackPolicy
    }

    /// The wire object (ConsumerConfig JSON).
    var json: [String: Any] {
        var object: [String: Any] = ["ack_policy": ackPolicy.rawValue, "replay_policy": "instant",
                                     "ack_wait": Int64(ackWait * 1e9), "max_deliver": maxDeliver]
        switch deliverPolicy {
        case .all: object["deliver_policy"] = "all"
        case .new: object["deliver_policy"] = "new"
        case .byStartSequence(let seq):
            object["deliver_policy"] = "by_start_sequence"
            object["opt_start_seq"] = seq
        }
        if let durableName { object["durable_name"] = durableName }
        if let filterSubject { object["filter_subject"] = filterSubject }
        if let maxAckPending { object["max_ack_pending"] = maxAckPending }
        if let inactiveThreshold { object["inactive_threshold"] = Int64(inactiveThreshold * 1e9) }
        if memoryStorage { object["mem_storage"] = true }
        return object
    }
}

/// A consumer/stream sequence pair (SequenceInfo).
public struct SequencePair: Codable, Sendable, Hashable {
    /// The consumer's delivery sequence.
    public var consumerSeq: UInt64
    /// The stream sequence of that message.
    public var streamSeq: UInt64
}

/// What CONSUMER.CREATE and CONSUMER.INFO return (the fields used here).
public struct ConsumerInfo: Codable, Sendable, Hashable {
    /// The stream the consumer reads.
    public var streamName: String
    /// The consumer's name (the durable name, or the server's for an ephemeral one).
    public var name: String
    /// The last delivered message.
    public var delivered: SequencePair
    /// Everything up to here is acknowledged.
    public var ackFloor: SequencePair
    /// Delivered and not yet acked.
    public var numAckPending: Int
    /// Delivered more than once and not yet acked.
    public var numRedelivered: Int
    /// Messages matching the filter not yet delivered.
    public var numPending: UInt64
}

/// The server's answer to a JetStream publish (PubAck).
public struct PubAck: Codable, Sendable, Hashable {
    /// The stream that stored it.
    public var stream: String
    /// Its stream sequence (for a duplicate: the sequence of the original).
    public var seq: UInt64
    /// True when the `Nats-Msg-Id` was seen within the duplicate window
    /// and the message was not stored again.
    public var duplicate: Bool?

    /// `duplicate` with the server's omission read as false.
    public var isDuplicate: Bool { duplicate ?? false }
}

/// A message read by sequence or by last-of-subject (STREAM.MSG.GET).
public struct StoredMessage: Sendable, Hashable {
    /// The subject it was published to.
    public var subject: String
    /// Its stream sequence.
    public var sequence: UInt64
    /// Its headers (with `Nats-Msg-Id` if it was published with one), or nil.
    public var headers: NATSHeaders?
    /// Its payload.
    public var payload: [UInt8]
}

/// Where a JetStream delivery sits, parsed from its `$JS.ACK` reply subject.
public struct JetStreamMetadata: Sendable, Hashable {
    /// The stream the message is in.
    public var stream: String
    /// The consumer that delivered it.
    public var consumer: String
    /// How many times this message has been delivered (1: first delivery).
    public var delivered: UInt64
    /// The message's sequence in the stream (stable across deliveries).
    public var streamSequence: UInt64
    /// The delivery's sequence in the consumer (grows with redeliveries).
    public var consumerSequence: UInt64
    /// Publish time, nanoseconds since the Unix epoch.
    public var timestamp: Int64
    /// Messages left for the consumer after this one.
    public var pending: UInt64

    /// Parses `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<time>.<pending>`
    /// (9 tokens) or the newer form with domain and account hash before the
    /// stream (12 tokens, a random token last). Nil when it is neither.
    public init?(replySubject: String) {
        let tokens = replySubject.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard tokens.count >= 9, tokens[0] == "$JS", tokens[1] == "ACK" else { return nil }
        let base: Int
        switch tokens.count {
        case 9: base = 2
        case 11, 12: base = 4          // $JS.ACK.<domain>.<account hash>.<stream>...
        default: return nil
        }
        guard let delivered = UInt64(tokens[base + 2]), let sseq = UInt64(tokens[base + 3]),
              let cseq = UInt64(tokens[base + 4]), let time = Int64(tokens[base + 5]),
              let pending = UInt64(tokens[base + 6]) else { return nil }
        stream = tokens[base]
        consumer = tokens[base + 1]
        self.delivered = delivered
        streamSequence = sseq
        consumerSequence = cseq
        timestamp = time
        self.pending = pending
    }
}

/// A message delivered by a pull consumer, with its position and ack calls.
public struct JetStreamMessage: Sendable {
    /// The delivery as received (subject, headers, payload, `$JS.ACK` reply subject).
    public var message: NATSMessage
    /// Its position, parsed from the reply subject.
    public var metadata: JetStreamMetadata
    let connection: NATSConnection

    /// The subject it was published to.
    public var subject: String { message.subject }
    /// Its payload.
    public var payload: [UInt8] { message.payload }
    /// Its headers, or nil.
    public var headers: NATSHeaders? { message.headers }

    /// Acknowledges it (`+ACK` to its reply subject), without waiting.
    /// The server has it after the next `flush()` or request on the connection.
    public func ack() throws(NATSError) { try reply("+ACK") }
    /// Acknowledges it and waits until the server confirms the ack is stored.
    public func ackSync(timeout: Double? = nil) throws(NATSError) {
        guard let replyTo = message.replyTo else { throw .invalidArgument("message has no reply subject to ack") }
        _ = try connection.request(replyTo, payload: Array("+ACK".utf8), timeout: timeout)
    }
    /// Asks for redelivery now (`-NAK`).
    public func nak() throws(NATSError) { try reply("-NAK") }
    /// Resets the ack timer (`+WPI`, work in progress).
    public func inProgress() throws(NATSError) { try reply("+WPI") }

    private func reply(_ verb: String) throws(NATSError) {
        guard let replyTo = message.replyTo else { throw .invalidArgument("message has no reply subject to ack") }
        try connection.publish(replyTo, payload: Array(verb.utf8))
    }
}
