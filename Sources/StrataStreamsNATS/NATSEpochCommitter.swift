import Foundation
import StrataNATS
import StrataStreams

/// The pipeline's exactly-once NATS JetStream sink. Each committed epoch's
/// rows are published to `<prefix>.<p>` (p: a stable hash of the row's
/// stream and key, modulo `partitions`), each with the header
/// `Nats-Msg-Id: <epoch>/<p>/<i>` (i: the row's index among the epoch's
/// rows of partition p), each publish waiting for its PubAck; then a
/// marker `<epoch>` is published to `<prefix>-epochs` (id `<epoch>/commit`).
///
/// Exactly once: the rows of an epoch and their order are fixed once its
/// checkpoint is complete (the pipeline hands the same committed rows to a
/// replay), so a replayed epoch publishes the same ids, and the server
/// drops every id it has seen within the stream's duplicate window.
/// `lastCommittedEpoch()` reads the last marker, so only the epochs after
/// it are replayed — in practice the one epoch in flight at a crash, well
/// inside the window. The window (`duplicateWindowSeconds`, default 10
/// minutes) must exceed the longest outage the job recovers from.
///
/// A broker restart during a commit is ridden out for `reconnectSeconds`:
/// the epoch is published again from its first row (duplicates dropped).
///
/// Thread safety: the pipeline's source thread.
public final class NATSEpochCommitter: EpochCommitter {
    /// The output stream.
    public let stream: String
    /// Rows go to `<prefix>.<p>`; epoch markers to `<prefix>-epochs`.
    public let prefix: String
    /// Output partitions (subjects `<prefix>.0` …).
    public let partitions: Int
    /// Rows the server dropped as duplicates (a replayed epoch), for tests and logs.
    public private(set) var duplicatesDropped = 0
    /// Testing: throw after this many row publishes (a crash mid-epoch).
    package var failAfterPublishes: Int?

    private let session: JetStreamSession
    private var committed: UInt64?
    private var publishes = 0
    private let encoder: JSONEncoder

    /// The subject of the epoch markers.
    public var markerSubject: String { "\(prefix)-epochs" }

    /// A sink into `stream` (created if missing, capturing `<prefix>.*` and
    /// `<prefix>-epochs`, with the given duplicate window). Throws
    /// `NATSError` when the server cannot be reached or the stream exists
    /// with another configuration.
    public init(options: NATSConnectionOptions, stream: String, prefix: String, partitions: Int = 1,
                duplicateWindowSeconds: Double = 600, reconnectSeconds: Double = 30) throws {
        guard partitions >= 1 else { throw NATSError.invalidArgument("sink partitions must be at least 1, got \(partitions)") }
        self.stream = stream
        self.prefix = prefix
        self.partitions = partitions
        self.session = JetStreamSession(options: options, reconnectSeconds: reconnectSeconds)
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let subjects = ["\(prefix).*", "\(prefix)-epochs"]
        try session.run { js, _ throws(NATSError) in
            do throws(NATSError) {
                let info = try js.streamInfo(stream)
                guard Set(subjects).isSubset(of: Set(info.config.subjects)) else {
                    throw NATSError.invalidArgument("stream \(stream) exists but captures \(info.config.subjects), not \(subjects)")
                }
            } catch .jetStream(_, 404, 10059, _) {
                try js.createStream(StreamConfig(name: stream, subjects: subjects, duplicateWindowSeconds: duplicateWindowSeconds))
            }
        }
    }

    /// The output partition of a row: FNV-1a of `stream`, a 0 byte and `key`.
    public static func partition(of record: SinkRecord, partitions: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in record.stream.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        hash = (hash ^ 0) &* 0x100_0000_01b3
        for byte in record.key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(hash % UInt64(partitions))
    }

    /// The epoch of the last marker on `markerSubject` (0: none), read once, then kept.
    public func lastCommittedEpoch() throws -> UInt64 {
        if let committed { return committed }
        let last = try session.run { js, _ throws(NATSError) in try js.lastMessage(stream: stream, subject: markerSubject) }
        guard let last else { committed = 0; return 0 }
        guard let epoch = UInt64(String(decoding: last.payload, as: UTF8.self)) else {
            throw NATSError.protocolViolation("NATS sink: the epoch marker at \(stream) seq \(last.sequence) is not a number")
        }
        committed = epoch
        return epoch
    }

    /// Publishes the epoch's rows with their ids, each acked, then its marker. Throws
    /// `NATSError` when the broker stays away longer than `reconnectSeconds`.
    public func commit(epoch: UInt64, records: [SinkRecord]) throws {
        var byPartition = [[SinkRecord]](repeating: [], count: partitions)
        for record in records { byPartition[Self.partition(of: record, partitions: partitions)].append(record) }
        var payloads: [[[UInt8]]] = []
        for rows in byPartition { payloads.append(try rows.map { Array(try encoder.encode($0)) }) }
        try session.run { js, _ throws(NATSError) in
            for (p, rows) in payloads.enumerated() {
                for (i, payload) in rows.enumerated() {
                    if let limit = failAfterPublishes, publishes >= limit {
                        throw NATSError.connectionClosed(operation: "the testing hook failAfterPublishes (\(limit))")
                            .asTestingCrash
                    }
                    let ack = try js.publish("\(prefix).\(p)", payload: payload, messageID: "\(epoch)/\(p)/\(i)")
                    publishes += 1
                    if ack.isDuplicate { duplicatesDropped += 1 }
                }
            }
            try js.publish(markerSubject, payload: Array("\(epoch)".utf8), messageID: "\(epoch)/commit")
        }
        committed = epoch
    }
}

extension NATSError {
    /// The testing crash must not be retried as a reconnect: an invalid-argument error ends the commit.
    fileprivate var asTestingCrash: NATSError { .invalidArgument("testing crash: \(self)") }
}
