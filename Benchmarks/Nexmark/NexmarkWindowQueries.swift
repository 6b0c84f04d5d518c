import Strata
import StrataStreams

// q5 (hot items), q7 (highest bid) and q11 (user sessions): window
// operators over the partition's state. q5 and q7 need the maximum over
// all auctions of a window, in two steps. In the partition: all results
// of a window come from the same `processWatermark` call (every (key,
// window) timer of the window is due at the same watermark, and without
// allowed lateness nothing re-fires), in window-end order, so the
// partition's maximum rows of each window are found without state and
// sent as partial results. In the pipeline's combine stage
// (`WindowMaximumCombiner`), once every partition has processed that
// watermark: the rows with the largest value among all partitions'
// partials, in key order. The same rows for any number of partitions.

/// Emits, for each window among `fired` (contiguous, in window-end order),
/// the results whose `measure` is the window's maximum, in their order.
func forEachWindowMaximum<K, V>(_ fired: [WindowResult<K, V>], measure: (V) -> Int64,
                                 _ body: (WindowResult<K, V>, Int64) -> Void) {
    var first = 0
    while first < fired.count {
        let window = fired[first].window
        var end = first
        var best = Int64.min
        while end < fired.count && fired[end].window == window {
            best = max(best, measure(fired[end].value))
            end += 1
        }
        for r in fired[first..<end] where measure(r.value) == best { body(r, best) }
        first = end
    }
}

/// The combine stage of q5 and q7: per window, the rows with the largest
/// measure among every partition's maximum rows, sorted by row key (so
/// the output does not depend on the number of partitions). Partials are
/// grouped by window (`"start|end"`, zero-padded: windows in end order)
/// and carry `measure TAB row key TAB row value`. Counts the final rows
/// into `results` (the run's combined results) and returns them as rows
/// only in `.jsonl` mode.
///
/// Thread safety: called by the pipeline's combine stage, one call at a
/// time; `results` is read after the run.
final class WindowMaximumCombiner: PartialResultCombiner {
    let results: NexmarkResults

    init(results: NexmarkResults) { self.results = results }

    /// Sends one of the partition's maximum rows of `window` to the combine stage.
    static func emitPartial(_ output: OutputCollector, stream: String, window: TimeWindow, measure: Int64,
                            key: String, value: String) {
        output.emitPartial(stream: stream, group: String(format: "%020lld|%020lld", window.end, window.start),
                           value: "\(measure)\t\(key)\t\(value)")
    }

    func combine(stream: String, group: String, partials: [PartialRow]) throws -> [SinkRecord] {
        var rows: [(measure: Int64, key: String, value: String)] = []
        rows.reserveCapacity(partials.count)
        for partial in partials {
            let parts = partial.value.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let measure = Int64(parts[0]) else {
                throw StrataError(.corruption, "nexmark \(stream): partial '\(partial.value)', expected measure TAB key TAB value")
            }
            rows.append((measure, String(parts[1]), String(parts[2])))
        }
        guard let best = rows.map(\.measure).max() else { return [] }
        var out: [SinkRecord] = []
        for row in rows.filter({ $0.measure == best }).sorted(by: { ($0.key, $0.value) < ($1.key, $1.value) }) {
            results.emit(into: &out, stream: stream, key: row.key, value: row.value, checksum: row.measure)
        }
        return out
    }
}

/// q5: bids counted per auction in 10 s windows sliding by 2 s (2 s panes),
/// then per window the auction(s) with the most bids.
/// Rows `{"auction","num","starttime","endtime"}`, key `start|auction`.
///
/// Thread safety: its partition's thread only.
final class HotItemsLogic: PartitionLogic {
    typealias Record = NexmarkRecord
    let counts: WindowOperator<Int64Codec, Int64, Int64>
    let results: NexmarkResults

    init(backend: StateBackend, results: NexmarkResults) throws {
        counts = try WindowOperator(
            name: "q5-bids-per-auction", backend: backend, keyCodec: Int64Codec(),
            assigner: try .sliding(size: NexmarkQuery.windowSize, slide: NexmarkQuery.hotItemsSlide),
            aggregate: CountAggregate<Int64>())
        self.results = results
    }

    func process(_ record: NexmarkRecord, timestamp: Int64, output: OutputCollector) throws {
        guard case .bid(let b) = record.event else { return }
        try counts.processElement(key: b.auction, timestamp: timestamp, value: b.price)
    }

    func processWatermark(_ watermark: Int64, output: OutputCollector) throws {
        let arrival = nexmarkMonotonicNanos()
        try counts.processWatermark(watermark)
        let outputs = counts.takeOutput()
        results.lateEvents += outputs.filter { $0.lateEvent != nil }.count
        let fired = outputs.compactMap(\.result)
        guard !fired.isEmpty else { return }
        var partials = 0
        forEachWindowMaximum(fired, measure: { $0 }) { r, _ in
            WindowMaximumCombiner.emitPartial(output, stream: "nexmark_q5", window: r.window, measure: r.value,
                                              key: "\(r.window.start)|\(r.key)",
                                              value: "{\"auction\":\(r.key),\"num\":\(r.value),\"starttime\":\(r.window.start),\"endtime\":\(r.window.end)}")
            partials += 1
        }
        results.recordLatency(since: arrival, count: partials)
    }

    var counters: [String: Int] { ["rows": results.rows, "late events": results.lateEvents] }
}

/// The highest-priced bid(s) seen: q7's accumulator. `price` is the
/// maximum (Int64.min when empty); `bids` every bid at that price, in the
/// order they were folded in.
public struct MaxBids: Sendable, Hashable {
    /// The highest price folded in; `Int64.min` when empty.
    public var price: Int64
    /// Every bid at `price`, in the order folded in.
    public var bids: [Bid]

    /// An accumulator (empty by default).
    public init(price: Int64 = .min, bids: [Bid] = []) {
        self.price = price
        self.bids = bids
    }
}

/// q7's accumulator codec: `[count 4 B BE][bid 32 B (BidCodec)] × count`;
/// the price is the first bid's (`Int64.min` for none).
public struct MaxBidsCodec: StateCodec {
    public init() {}
    public var fixedWidth: Int? { nil }
    public func encode(_ value: MaxBids, into out: inout [UInt8]) {
        withUnsafeBytes(of: UInt32(value.bids.count).bigEndian) { out.append(contentsOf: $0) }
        for bid in value.bids { BidCodec().encode(bid, into: &out) }
    }
    /// Throws `.corruption` when the length is not 4 + 32 × count or the
    /// bids' prices differ.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> MaxBids {
        guard bytes.count >= 4 else {
            throw StrataError(.corruption, "MaxBidsCodec: \(bytes.count) bytes, expected at least 4")
        }
        let count = Int(UInt32(bigEndian: bytes.loadUnaligned(as: UInt32.self)))
        guard bytes.count == 4 + 32 * count else {
            throw StrataError(.corruption, "MaxBidsCodec: \(bytes.count) bytes for \(count) bids, expected \(4 + 32 * count)")
        }
        var bids: [Bid] = []
        bids.reserveCapacity(count)
        for i in 0..<count {
            bids.append(try BidCodec().decode(UnsafeRawBufferPointer(rebasing: bytes[(4 + 32 * i)..<(36 + 32 * i)])))
        }
        guard bids.allSatisfy({ $0.price == bids[0].price }) else {
            throw StrataError(.corruption, "MaxBidsCodec: \(count) bids of different prices, expected one price")
        }
        return MaxBids(price: bids.first?.price ?? .min, bids: bids)
    }
}

/// Keeps the highest-priced bids (ties: all of them, in order).
public struct MaxBidAggregate: AggregateFunction {
    public init() {}
    public var accumulatorCodec: MaxBidsCodec { MaxBidsCodec() }
    public func createAccumulator() -> MaxBids { MaxBids() }
    public func add(_ input: Bid, to accumulator: inout MaxBids) {
        if input.price > accumulator.price {
            accumulator.price = input.price
            accumulator.bids.removeAll(keepingCapacity: true)
            accumulator.bids.append(input)
        } else if input.price == accumulator.price {
            accumulator.bids.append(input)
        }
    }
    public func merge(_ a: MaxBids, _ b: MaxBids) -> MaxBids {
        if a.price > b.price { return a }
        if b.price > a.price { return b }
        return MaxBids(price: a.price, bids: a.bids + b.bids)
    }
    public func result(_ accumulator: MaxBids) -> MaxBids { accumulator }
}

/// q7: per 10 s tumbling window, the highest bid of each auction, then the
/// bid(s) with the window's highest price (the Flink SQL joins every bid
/// with the window's maximum price; keeping the maximal bids in the
/// accumulator gives the same rows without storing every bid).
/// Rows `{"auction","bidder","price","dateTime","starttime"}`,
/// key `start|auction|bidder|dateTime`.
///
/// Thread safety: its partition's thread only.
final class HighestBidLogic: PartitionLogic {
    typealias Record = NexmarkRecord
    let highest: WindowOperator<Int64Codec, Bid, MaxBids>
    let results: NexmarkResults

    init(backend: StateBackend, results: NexmarkResults) throws {
        highest = try WindowOperator(
            name: "q7-highest-bid", backend: backend, keyCodec: Int64Codec(),
            assigner: try .tumbling(size: NexmarkQuery.windowSize), aggregate: MaxBidAggregate())
        self.results = results
    }

    func process(_ record: NexmarkRecord, timestamp: Int64, output: OutputCollector) throws {
        guard case .bid(let b) = record.event else { return }
        try highest.processElement(key: b.auction, timestamp: timestamp, value: b)
    }

    func processWatermark(_ watermark: Int64, output: OutputCollector) throws {
        let arrival = nexmarkMonotonicNanos()
        try highest.processWatermark(watermark)
        let outputs = highest.takeOutput()
        results.lateEvents += outputs.filter { $0.lateEvent != nil }.count
        let fired = outputs.compactMap(\.result)
        guard !fired.isEmpty else { return }
        var partials = 0
        forEachWindowMaximum(fired, measure: { $0.price }) { r, _ in
            for b in r.value.bids {
                WindowMaximumCombiner.emitPartial(output, stream: "nexmark_q7", window: r.window, measure: b.price,
                                                  key: "\(r.window.start)|\(b.auction)|\(b.bidder)|\(b.dateTime)",
                                                  value: "{\"auction\":\(b.auction),\"bidder\":\(b.bidder),\"price\":\(b.price),\"dateTime\":\(b.dateTime),\"starttime\":\(r.window.start)}")
                partials += 1
            }
        }
        results.recordLatency(since: arrival, count: partials)
    }

    var counters: [String: Int] { ["rows": results.rows, "late events": results.lateEvents] }
}

/// q11: bids counted per bidder in session windows with a 10 s gap.
/// Rows `{"bidder","bid_count","starttime","endtime"}`, key `bidder|start`.
///
/// Thread safety: its partition's thread only.
final class UserSessionsLogic: PartitionLogic {
    typealias Record = NexmarkRecord
    let sessions: WindowOperator<Int64Codec, Int64, Int64>
    let results: NexmarkResults

    init(backend: StateBackend, results: NexmarkResults) throws {
        sessions = try WindowOperator(
            name: "q11-sessions", backend: backend, keyCodec: Int64Codec(),
            assigner: try .session(gap: NexmarkQuery.sessionGap), aggregate: CountAggregate<Int64>())
        self.results = results
    }

    func process(_ record: NexmarkRecord, timestamp: Int64, output: OutputCollector) throws {
        guard case .bid(let b) = record.event else { return }
        try sessions.processElement(key: b.bidder, timestamp: timestamp, value: b.price)
    }

    func processWatermark(_ watermark: Int64, output: OutputCollector) throws {
        let arrival = nexmarkMonotonicNanos()
        try sessions.processWatermark(watermark)
        let outputs = sessions.takeOutput()
        results.lateEvents += outputs.filter { $0.lateEvent != nil }.count
        let fired = outputs.compactMap(\.result)
        guard !fired.isEmpty else { return }
        for r in fired {
            results.emit(output, stream: "nexmark_q11", key: "\(r.key)|\(r.window.start)",
                         value: "{\"bidder\":\(r.key),\"bid_count\":\(r.value),\"starttime\":\(r.window.start),\"endtime\":\(r.window.end)}",
                         checksum: r.value)
        }
        results.recordLatency(since: arrival, count: fired.count)
    }

    var counters: [String: Int] { ["rows": results.rows, "late events": results.lateEvents] }
}
