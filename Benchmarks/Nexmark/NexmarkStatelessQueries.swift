import StrataStreams

/// q0 (pass-through), q1 (currency conversion) and q2 (selection): one
/// row per qualifying bid, no state. Persons and auctions are ignored.
///
/// Rows: q0 `{"auction","bidder","price","dateTime"}`, q1 the same with
/// the price in euros (3 decimals), q2 `{"auction","price"}`; keys
/// `auction|bidder|dateTime` (q2: `auction|dateTime`).
///
/// Thread safety: its partition's thread only.
final class StatelessQueryLogic: PartitionLogic {
    typealias Record = NexmarkRecord
    let query: NexmarkQuery
    let results: NexmarkResults

    init(query: NexmarkQuery, results: NexmarkResults) throws {
        precondition([.q0, .q1, .q2].contains(query), "StatelessQueryLogic runs q0, q1 and q2 only")
        self.query = query
        self.results = results
    }

    func process(_ record: NexmarkRecord, timestamp: Int64, output: OutputCollector) throws {
        guard case .bid(let b) = record.event else { return }
        switch query {
        case .q0:
            results.emit(output, stream: "nexmark_q0", key: "\(b.auction)|\(b.bidder)|\(b.dateTime)",
                         value: "{\"auction\":\(b.auction),\"bidder\":\(b.bidder),\"price\":\(b.price),\"dateTime\":\(b.dateTime)}",
                         checksum: b.price)
        case .q1:
            let euroMilli = b.price &* NexmarkQuery.euroPerDollarMilli
            results.emit(output, stream: "nexmark_q1", key: "\(b.auction)|\(b.bidder)|\(b.dateTime)",
                         value: "{\"auction\":\(b.auction),\"bidder\":\(b.bidder),\"price\":\(decimal3(euroMilli)),\"dateTime\":\(b.dateTime)}",
                         checksum: euroMilli)
        default:
            guard b.auction % NexmarkQuery.selectionModulus == 0 else { return }
            results.emit(output, stream: "nexmark_q2", key: "\(b.auction)|\(b.dateTime)",
                         value: "{\"auction\":\(b.auction),\"price\":\(b.price)}", checksum: b.price)
        }
        results.recordLatency(since: record.sourceNanos)
    }

    func processWatermark(_ watermark: Int64, output: OutputCollector) throws {}

    var counters: [String: Int] { ["rows": results.rows] }
}
