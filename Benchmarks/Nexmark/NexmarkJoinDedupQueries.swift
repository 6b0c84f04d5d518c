import Strata
import StrataStreams

/// q8: people who registered and opened an auction within the same 10 s
/// tumbling window: a window join of persons (left, by id, payload the
/// name) and auctions (right, by seller, payload the auction id). The
/// Flink SQL groups each side by (id, window) first, so a person appears
/// once per window however many auctions they opened; the join's pairs of
/// one (key, window) come out together, so repeats are dropped as they
/// come. Rows `{"id","name","starttime"}`, key `id|start`.
///
/// Thread safety: its partition's thread only.
final class NewUsersLogic: PartitionLogic {
    typealias Record = NexmarkRecord
    let join: WindowJoinOperator<Int64Codec, StringCodec, Int64Codec>
    let results: NexmarkResults

    init(backend: StateBackend, results: NexmarkResults) throws {
        join = try WindowJoinOperator(
            backend: backend, name: "q8-new-users", keyCodec: Int64Codec(), leftCodec: StringCodec(),
            rightCodec: Int64Codec(), assigner: try .tumbling(size: NexmarkQuery.windowSize))
        self.results = results
    }

    func process(_ record: NexmarkRecord, timestamp: Int64, output: OutputCollector) throws {
        switch record.event {
        case .person(let p): try join.processLeft(Event(key: p.id, timestamp: timestamp, payload: p.name))
        case .auction(let a): try join.processRight(Event(key: a.seller, timestamp: timestamp, payload: a.id))
        case .bid: return
        }
        // Late events are the only output between watermarks.
        for out in join.takeOutput() {
            switch out {
            case .lateLeft, .lateRight: results.lateEvents += 1
            default: break
            }
        }
    }

    func processWatermark(_ watermark: Int64, output: OutputCollector) throws {
        let arrival = nexmarkMonotonicNanos()
        try join.processWatermark(watermark)
        let before = results.rows
        var last: (Int64, TimeWindow)? = nil
        for out in join.takeOutput() {
            switch out {
            case .joined(let person, _, let window?):
                if let last, last.0 == person.key && last.1 == window { continue }
                last = (person.key, window)
                results.emit(output, stream: "nexmark_q8", key: "\(person.key)|\(window.start)",
                             value: "{\"id\":\(person.key),\"name\":\"\(person.payload)\",\"starttime\":\(window.start)}",
                             checksum: person.key)
            case .lateLeft, .lateRight:
                results.lateEvents += 1
            default:
                break
            }
        }
        results.recordLatency(since: arrival, count: results.rows - before)
    }

    var counters: [String: Int] { ["rows": results.rows, "late events": results.lateEvents] }
}

/// q18: the last bid per (bidder, auction), by a keep-last dedup with an
/// event-time TTL (`NexmarkQuery.lastBidTTL`): every bid not older than
/// the pair's kept one is emitted as its replacement (an upsert by
/// `bidder|auction` ends with the last bid), older ones are dropped.
/// Rows `{"auction","bidder","price","dateTime"}`.
///
/// Thread safety: its partition's thread only.
final class LastBidLogic: PartitionLogic {
    typealias Record = NexmarkRecord
    let dedup: DedupOperator<BidderAuctionCodec, Bid>
    let results: NexmarkResults

    /// Bits per pair of the dedup's Bloom filter front end: 10 bits
    /// leave ~1% of new pairs looked up in the engine for nothing.
    static let bloomBitsPerPair = 10.0
    /// Bound on the pairs the filter is sized for (10 bits each: 5 MB per
    /// filter generation); beyond it the false-positive rate grows, and
    /// only lookups are wasted, never answers.
    static let maxBloomPairs = 4_000_000

    /// Bids per partition within one TTL of event time: an upper bound on
    /// the pairs the dedup holds, to size its filter.
    static func expectedPairs(_ config: NexmarkConfig, partitions: Int) -> Int {
        let bidsPerTTL = Double(config.eventsPerSecond) * Double(NexmarkQuery.lastBidTTL) / 1000
            * Double(NexmarkGenerator.bidProportion) / Double(NexmarkGenerator.totalProportion)
        return max(1, min(maxBloomPairs, Int(bidsPerTTL) / max(1, partitions)))
    }

    /// The dedup answers "new pair" from an in-memory Bloom filter without
    /// an engine lookup for most new pairs (its positives are still looked
    /// up: exact).
    init(backend: StateBackend, results: NexmarkResults, expectedPairsPerTTL: Int) throws {
        dedup = try DedupOperator(
            backend: backend, name: "q18-last-bid", keyCodec: BidderAuctionCodec(),
            options: DedupOptions(ttl: NexmarkQuery.lastBidTTL, keep: .last,
                                  mode: .exactWithBloomFrontEnd(expectedKeysPerTTL: expectedPairsPerTTL,
                                                                bitsPerKey: Self.bloomBitsPerPair)))
        self.results = results
    }

    func process(_ record: NexmarkRecord, timestamp: Int64, output: OutputCollector) throws {
        guard case .bid(let b) = record.event else { return }
        try dedup.processElement(Event(key: BidderAuction(bidder: b.bidder, auction: b.auction), timestamp: timestamp, payload: b))
        for kept in dedup.takeOutput() {
            let b = kept.event.payload
            results.emit(output, stream: "nexmark_q18", key: "\(b.bidder)|\(b.auction)",
                         value: "{\"auction\":\(b.auction),\"bidder\":\(b.bidder),\"price\":\(b.price),\"dateTime\":\(b.dateTime)}",
                         checksum: b.price)
            results.recordLatency(since: record.sourceNanos)
        }
    }

    func processWatermark(_ watermark: Int64, output: OutputCollector) throws {
        try dedup.processWatermark(watermark)
    }

    var counters: [String: Int] {
        ["rows": results.rows, "stale bids": dedup.statistics.stale, "pairs expired": dedup.statistics.expired,
         "lookups skipped by the Bloom filter": dedup.statistics.lookupsSkipped]
    }
}
