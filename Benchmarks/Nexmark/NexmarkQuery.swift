import Strata
import StrataStreams

/// The Nexmark queries StrataStreams runs, with their semantics (the
/// nexmark/nexmark Flink SQL definitions; docs/benchmarks.md, Nexmark):
///
/// | query | semantics | operators |
/// |---|---|---|
/// | q0 | every bid, unchanged (pass-through) | none |
/// | q1 | every bid with its price × 0.908 (dollars to euros, 3 decimals) | none |
/// | q2 | (auction, price) of bids with auction mod 123 = 0 | none |
/// | q5 | per 10 s window sliding by 2 s: the auction(s) with the most bids | sliding count by auction, then the per-window max |
/// | q7 | per 10 s tumbling window: the bid(s) with the highest price | tumbling max-bid by auction, then the per-window max |
/// | q8 | per 10 s tumbling window: people who registered and opened an auction in it | window join person.id = auction.seller |
/// | q11 | per bidder, bids per session (10 s gap) | session count by bidder |
/// | q18 | per (bidder, auction), the last bid (keep-last dedup: every newer bid replaces the kept one) | dedup keep-last |
///
/// Thread safety: a value type, `Sendable`.
public enum NexmarkQuery: String, Sendable, CaseIterable {
    case q0, q1, q2, q5, q7, q8, q11, q18

    /// Window size of q5, q7 and q8 (the Flink suite's 10 s).
    public static let windowSize: Int64 = 10_000
    /// q5's slide (the Flink suite's 2 s).
    public static let hotItemsSlide: Int64 = 2_000
    /// q11's session gap (the Flink suite's 10 s).
    public static let sessionGap: Int64 = 10_000
    /// q18's event-time TTL of a (bidder, auction) pair. Flink keeps the
    /// pair forever; a TTL bounds state. It never changes results while
    /// the stream's disorder stays within the watermark bound: a bid older
    /// than a kept one arrives before the watermark passes the kept one,
    /// so before its state expires.
    public static let lastBidTTL: Int64 = 10_000
    /// q2 keeps bids on every 123rd auction (Flink suite).
    public static let selectionModulus: Int64 = 123
    /// q1's dollar-to-euro rate, in thousandths (0.908).
    public static let euroPerDollarMilli: Int64 = 908

    /// The stream name of the query's rows (`SinkRecord.stream`).
    public var stream: String { "nexmark_\(rawValue)" }

    /// One line: what the query computes.
    public var summary: String {
        switch self {
        case .q0: "pass-through of bids"
        case .q1: "currency conversion: bid price x 0.908"
        case .q2: "selection: bids on auctions with id mod 123 = 0"
        case .q5: "hot items: auctions with the most bids per 10 s window sliding by 2 s"
        case .q7: "highest bid per 10 s tumbling window"
        case .q8: "new users: people who registered and opened an auction in the same 10 s window (window join)"
        case .q11: "user sessions: bids per bidder per session, 10 s gap"
        case .q18: "last bid per (bidder, auction): dedup keep-last"
        }
    }

    /// What the row checksum sums, per row.
    public var checksumOf: String {
        switch self {
        case .q0, .q2, .q18: "price"
        case .q1: "euro price in thousandths"
        case .q5: "bid count"
        case .q7: "price"
        case .q8: "person id"
        case .q11: "bid count"
        }
    }

    /// The Flink + RocksDB figure, events/s per core, from the nexmark
    /// repository's README (Flink 1.13, 8 workers × 1 slot, 100M events,
    /// RocksDB state backend, incremental checkpoints every 3 minutes).
    public var flinkEventsPerCore: Double {
        switch self {
        case .q0: 155_020
        case .q1: 157_940
        case .q2: 175_210
        case .q5: 22_140
        case .q7: 12_330
        case .q8: 146_140
        case .q11: 39_700
        case .q18: 53_700
        }
    }

    /// The bytes the pipeline partitions a record by: the key of the
    /// query's state (q5, q7: auction; q8: person id = seller; q11: bidder;
    /// q18: (bidder, auction)). Events a query ignores, and every event of
    /// the stateless queries, go by their own id.
    public func routingKey(_ event: NexmarkEvent) -> [UInt8] {
        let codec = Int64Codec()
        switch (self, event) {
        case (.q5, .bid(let b)), (.q7, .bid(let b)): return codec.encoded(b.auction)
        case (.q11, .bid(let b)), (.q8, .bid(let b)): return codec.encoded(b.bidder)
        case (.q18, .bid(let b)): return BidderAuctionCodec().encoded(BidderAuction(bidder: b.bidder, auction: b.auction))
        case (_, .bid(let b)): return codec.encoded(b.auction)
        case (.q8, .auction(let a)): return codec.encoded(a.seller)
        case (_, .auction(let a)): return codec.encoded(a.id)
        case (_, .person(let p)): return codec.encoded(p.id)
        }
    }

    /// Builds the query's operator chain for one partition, over its
    /// backend, writing into `results`; `config` is the stream's shape
    /// (q18 sizes its dedup's Bloom filter front end from the bid rate).
    public func makeLogic(_ context: PartitionContext, config: NexmarkConfig,
                          results: NexmarkResults) throws -> any PartitionLogic<NexmarkRecord> {
        switch self {
        case .q0, .q1, .q2: try StatelessQueryLogic(query: self, results: results)
        case .q5: try HotItemsLogic(backend: context.backend, results: results)
        case .q7: try HighestBidLogic(backend: context.backend, results: results)
        case .q8: try NewUsersLogic(backend: context.backend, results: results)
        case .q11: try UserSessionsLogic(backend: context.backend, results: results)
        case .q18:
            try LastBidLogic(backend: context.backend, results: results,
                             expectedPairsPerTTL: LastBidLogic.expectedPairs(config, partitions: context.partitions))
        }
    }
}

/// A Nexmark query as a pipeline over the generator.
public enum NexmarkJob {
    /// A pipeline running `query` over `generator`'s stream, with
    /// `options` (directory, partitions, checkpoint interval, watermark
    /// bound...). Every `sampleEvery`-th record (0: none) carries its
    /// source time for latency. Each partition's results are appended to
    /// `results` when the pipeline builds it. q5 and q7 get the pipeline's
    /// combine stage (`WindowMaximumCombiner`, its results in
    /// `results.combined`): the global maximum for any number of partitions.
    public static func pipeline(
        query: NexmarkQuery, generator: NexmarkGenerator, options: PipelineOptions, mode: NexmarkOutputMode,
        sampleEvery: UInt64 = 0, results: NexmarkRunResults
    ) throws -> Pipeline<GeneratorSource<NexmarkRecord>> {
        let source = GeneratorSource<NexmarkRecord> { i in
            guard let event = generator.event(i) else { return nil }
            let sampled = sampleEvery > 0 && i % sampleEvery == 0
            return NexmarkRecord(event: event, sourceNanos: sampled ? nexmarkMonotonicNanos() : 0)
        }
        var combiner: WindowMaximumCombiner? = nil
        if [.q5, .q7].contains(query) {
            let combined = NexmarkResults(mode: mode)
            results.combined = combined
            combiner = WindowMaximumCombiner(results: combined)
        }
        return try Pipeline(options: options, source: source, key: { query.routingKey($0.event) },
                            timestamp: { $0.event.dateTime }, combiner: combiner) { context in
            let partition = NexmarkResults(mode: mode)
            results.append(partition)
            return try query.makeLogic(context, config: generator.config, results: partition)
        }
    }
}
