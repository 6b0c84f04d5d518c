import Foundation
import StrataNATS
import StrataStreams

/// A replayable pipeline source over one subject of a JetStream stream —
/// by convention partition `p` of an input reads `<prefix>.<p>`.
///
/// Position: `SourcePosition.offset` is the stream sequence of the last
/// record returned (0 before the first), `record` the number of records
/// returned; both go into every pipeline checkpoint. `seek(to:)` makes an
/// ephemeral pull consumer with `deliver_policy` `by_start_sequence` at
/// `offset + 1`, `ack_policy` none and the subject as its filter, so a
/// replay restarts exactly after the last committed record: the stream
/// sequence is a total order fixed at publish time, and the pipeline's
/// checkpoint (not the broker) owns the position, so nothing is acked on
/// the broker. Deliveries are checked for gaps in the consumer sequence
/// (a lost fetch reply): on a gap, or when the broker restarts, the
/// consumer is made again at the position and reading goes on — no record
/// is skipped or read twice.
///
/// The stream must keep messages until they are checkpointed (retention
/// `limits` without a short max age).
///
/// End of input: with `endWhenCaughtUp` (the default; tests and batch
/// jobs), `next()` returns nil once a fetch finds nothing new; otherwise
/// it waits for new messages.
///
/// Thread safety: one thread (the pipeline's source thread).
public final class NATSStreamSource<Record>: ReplayableSource {
    /// The stream read.
    public let stream: String
    /// The subject (filter) read, e.g. `orders.3`.
    public let subject: String
    /// (stream sequence of the last record returned, records returned).
    public private(set) var position = SourcePosition.start
    /// Records per fetch. Default 256.
    public var batch = 256
    /// Seconds a fetch waits for new messages. Default 0.5.
    public var fetchExpiry = 0.5
    /// Return nil when caught up with the stream (default true).
    public var endWhenCaughtUp = true
    /// Consumers made so far (1 per seek, plus one per gap or broker restart).
    public private(set) var consumersCreated = 0

    private let session: JetStreamSession
    private let decode: (NATSMessage) throws -> Record
    private var consumer: String?
    private var lastConsumerSequence: UInt64 = 0
    private var buffered: [JetStreamMessage] = []
    private var bufferIndex = 0
    private var gaps = 0
    /// Consumers re-made in a row without a successful fetch before the source gives up.
    static var maxConsecutiveResets: Int { 20 }

    /// A source on `subject` of `stream` at `options`' server; `decode`
    /// turns a message into a record (throwing fails the pipeline run).
    /// Broker restarts are ridden out for `reconnectSeconds` (default 30).
    public init(options: NATSConnectionOptions, stream: String, subject: String, reconnectSeconds: Double = 30,
                decode: @escaping (NATSMessage) throws -> Record) {
        self.stream = stream
        self.subject = subject
        self.session = JetStreamSession(options: options, reconnectSeconds: reconnectSeconds)
        self.decode = decode
    }

    /// Partition `partition` of the input `prefix`: subject `<prefix>.<partition>`.
    public convenience init(options: NATSConnectionOptions, stream: String, prefix: String, partition: Int,
                            reconnectSeconds: Double = 30, decode: @escaping (NATSMessage) throws -> Record) {
        self.init(options: options, stream: stream, subject: "\(prefix).\(partition)",
                  reconnectSeconds: reconnectSeconds, decode: decode)
    }

    deinit { dropConsumer() }

    /// Moves to `position`; the next fetch starts at stream sequence `position.offset + 1`.
    public func seek(to position: SourcePosition) throws {
        dropConsumer()
        self.position = position
    }

    /// The next record on the subject; nil when caught up (with `endWhenCaughtUp`).
    /// Throws `NATSError` (a missing stream: `.jetStream` err_code 10059; the
    /// broker away longer than `reconnectSeconds`) or what `decode` throws.
    public func next() throws -> Record? {
        while true {
            switch try read(expiry: fetchExpiry) {
            case .record(let record): return record
            case .end: return nil
            case .pending: continue
            }
        }
    }

    /// The next record; when a fetch of up to `timeout` (at least 10 ms)
    /// finds nothing new, `.end` with `endWhenCaughtUp`, else `.pending`,
    /// so the pipeline sends barriers and watermarks while the subject is quiet.
    public func poll(timeout: Duration) throws -> SourcePoll<Record> {
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        return try read(expiry: max(0.01, seconds))
    }

    /// A source that waits for new messages (`endWhenCaughtUp` false) is live.
    public var isLive: Bool { !endWhenCaughtUp }

    /// A buffered record, or one fetch of up to `expiry` seconds: `.pending`
    /// when it found nothing (or the consumer had to be made again).
    private func read(expiry: Double) throws -> SourcePoll<Record> {
        while true {
            if bufferIndex < buffered.count {
                let delivery = buffered[bufferIndex]
                bufferIndex += 1
                let meta = delivery.metadata
                guard meta.consumerSequence == lastConsumerSequence + 1, meta.streamSequence > position.offset else {
                    dropConsumer()                      // a gap or a stale delivery: read again from the position
                    continue
                }
                lastConsumerSequence = meta.consumerSequence
                let record = try decode(delivery.message)
                position = SourcePosition(offset: meta.streamSequence, record: position.record + 1)
                return .record(record)
            }
            let fetched = try session.run { js, reconnected throws(NATSError) -> [JetStreamMessage]? in
                if reconnected { consumer = nil }        // an ephemeral consumer may not survive a restart
                let name = try ensureConsumer(js)
                do throws(NATSError) {
                    return try js.fetch(stream: stream, consumer: name, batch: batch, expires: expiry)
                } catch {
                    switch error {
                    case .jetStream(_, 404, _, _), .jetStream(_, 409, _, _), .timeout, .noStream:
                        // The consumer is gone (deleted, inactive, a restarted
                        // server) or its pull went unanswered: make it again
                        // at the position and fetch anew.
                        consumer = nil
                        return nil
                    default:
                        throw error
                    }
                }
            }
            guard let fetched else {
                gaps += 1
                guard gaps <= Self.maxConsecutiveResets else {
                    throw NATSError.timeout(operation: "reading \(subject) of stream \(stream): \(gaps) consumers in a row made no progress",
                                            seconds: expiry * Double(gaps))
                }
                continue
            }
            gaps = 0
            buffered = fetched
            bufferIndex = 0
            if fetched.isEmpty { return endWhenCaughtUp ? .end : .pending }
        }
    }

    private func ensureConsumer(_ js: JetStream) throws(NATSError) -> String {
        if let consumer { return consumer }
        var config = ConsumerConfig(durableName: nil, filterSubject: subject,
                                    deliverPolicy: .byStartSequence(position.offset + 1), ackPolicy: .none)
        config.inactiveThreshold = 60
        config.memoryStorage = true
        let info = try js.createConsumer(stream: stream, config)
        consumer = info.name
        lastConsumerSequence = 0
        consumersCreated += 1
        return info.name
    }

    private func dropConsumer() {
        buffered = []
        bufferIndex = 0
        guard let name = consumer else { return }
        consumer = nil
        try? session.jetStream().deleteConsumer(stream: stream, consumer: name)   // else the server drops it when inactive
    }
}

extension NATSStreamSource where Record: Decodable {
    /// A source whose records are JSON objects (one per message).
    public convenience init(options: NATSConnectionOptions, stream: String, subject: String, json: Record.Type,
                            reconnectSeconds: Double = 30) {
        self.init(options: options, stream: stream, subject: subject, reconnectSeconds: reconnectSeconds) { message in
            do {
                return try JSONDecoder().decode(Record.self, from: Data(message.payload))
            } catch {
                throw NATSRecordError(subject: message.subject, reason: "not a \(Record.self) JSON object: \(error)")
            }
        }
    }
}

/// A message the source could not turn into a record.
public struct NATSRecordError: Error, CustomStringConvertible {
    /// The message's subject.
    public let subject: String
    /// What is wrong with it.
    public let reason: String
    public var description: String { "NATS source: a message on '\(subject)' is \(reason)" }
}
