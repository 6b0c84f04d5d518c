import Foundation
import Strata

/// One partition's partial result for a group of the combine stage.
public struct PartialRow: Sendable, Hashable {
    /// The partition that emitted it.
    public var partition: Int
    /// Its value, as the partition emitted it.
    public var value: String

    public init(partition: Int, value: String) {
        self.partition = partition
        self.value = value
    }
}

/// The pipeline's second stage: turns the partial results of every
/// partition into final rows, for results no single partition can compute
/// (a maximum over all keys of a window, a global top-N, a total).
///
/// Partitions emit partial rows with `OutputCollector.emitPartial(stream:group:value:)`
/// while they process a watermark (window results fired by it). Once every
/// partition has processed that watermark, the stage calls `combine` once
/// per (stream, group) that got partials, groups in ascending order of
/// their group key's UTF-8 bytes (then stream), with the partials in
/// partition order and, within a partition, in emission order. The rows it
/// returns go to the pipeline's sinks in the epoch of that watermark, after
/// the partitions' own rows of the epoch (`outputs/combined/`).
///
/// Contract: `combine` is a deterministic function of its arguments (so a
/// replay after a crash commits the same rows), and the rows of a group do
/// not depend on which partition sent which partial if the job is to give
/// the same output for any number of partitions. It is called on one
/// partition thread at a time (whichever processed the watermark last),
/// under the stage's lock; it keeps no state between calls that a restart
/// would need (see docs/pipeline.md, "Combine stage").
public protocol PartialResultCombiner: AnyObject {
    /// The final rows of one group from its partials (may be none).
    func combine(stream: String, group: String, partials: [PartialRow]) throws -> [SinkRecord]
}

/// Collects the partitions' partials per watermark and combines them when
/// every partition has reported (pipeline internal).
///
/// Every partition receives the same watermarks and barriers in the same
/// order (the source broadcasts them), so all partials of a watermark
/// belong to the same epoch, and when every partition has acknowledged
/// barrier E every watermark before it has been combined: the stage holds
/// nothing at a checkpoint, and a restart needs no state of its own.
///
/// Thread safety: `report` from partition threads, `finishEpoch` and
/// `takeRows` from the source thread; everything under `lock`.
final class CombineStage: @unchecked Sendable {
    // @unchecked: every field is touched with `lock` held (an NSLock, so
    // ThreadSanitizer sees the synchronization).
    private let lock = NSLock()
    private let combiner: any PartialResultCombiner
    private let partitions: Int
    private let writer: StagedEpochWriter
    private let keepRows: Bool
    private var pending: [Int64: (reported: Int, partials: [[SinkRecord]])] = [:]
    private var epochRows: [UInt64: [SinkRecord]] = [:]
    private var rows: UInt64 = 0

    init(combiner: any PartialResultCombiner, partitions: Int, writer: StagedEpochWriter, keepRows: Bool) {
        self.combiner = combiner
        self.partitions = partitions
        self.writer = writer
        self.keepRows = keepRows
    }

    /// Partition `partition` processed `watermark` in `epoch` and emitted
    /// `partials` (stream, group in `key`, value). The last partition to
    /// report a watermark runs the combiner and stages the final rows.
    func report(partition: Int, watermark: Int64, epoch: UInt64, partials: [SinkRecord]) throws {
        lock.lock()
        defer { lock.unlock() }
        var entry = pending[watermark] ?? (0, Array(repeating: [], count: partitions))
        entry.reported += 1
        entry.partials[partition] = partials
        guard entry.reported == partitions else {
            pending[watermark] = entry
            return
        }
        pending[watermark] = nil
        struct Group: Hashable { var group: String; var stream: String }
        var groups: [Group: [PartialRow]] = [:]
        for (p, list) in entry.partials.enumerated() {
            for partial in list {
                groups[Group(group: partial.key, stream: partial.stream), default: []]
                    .append(PartialRow(partition: p, value: partial.value))
            }
        }
        guard !groups.isEmpty else { return }
        let ordered = groups.keys.sorted {
            $0.group.utf8.lexicographicallyPrecedes($1.group.utf8)
                || ($0.group == $1.group && $0.stream.utf8.lexicographicallyPrecedes($1.stream.utf8))
        }
        var out: [SinkRecord] = []
        for g in ordered { out += try combiner.combine(stream: g.stream, group: g.group, partials: groups[g]!) }
        try writer.write(out, epoch: epoch)
        rows += UInt64(out.count)
        if keepRows && !out.isEmpty { epochRows[epoch, default: []] += out }
    }

    /// Before epoch `epoch` commits (every partition acknowledged its
    /// barrier): fsyncs and closes its staged file if still open.
    func finishEpoch(_ epoch: UInt64) throws {
        lock.lock()
        defer { lock.unlock() }
        try writer.close(ifAtMost: epoch)
    }

    /// The final rows of `epoch` (kept only for committers), removed.
    func takeRows(_ epoch: UInt64) -> [SinkRecord] {
        lock.lock()
        defer { lock.unlock() }
        return epochRows.removeValue(forKey: epoch) ?? []
    }

    /// Final rows staged in this run.
    var rowsWritten: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return rows
    }
}
