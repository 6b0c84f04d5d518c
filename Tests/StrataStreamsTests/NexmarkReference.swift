import Foundation
import NexmarkSupport
import StrataStreams

/// Straightforward in-memory answers of the Nexmark queries over a stream
/// in source order, with the pipeline's watermarks replayed (a watermark
/// `max timestamp − bound − 1` after every `watermarkEvery`-th record, and
/// a final one past everything), producing the rows the queries emit.
/// Dictionaries and sorted arrays; no engine, no operators.
struct NexmarkReference {
    let events: [NexmarkEvent]
    let bound: Int64
    let watermarkEvery: Int

    /// Calls `record(i, event)` for every event and `watermark(w)` where the
    /// pipeline sends one (strictly increasing), ending with `Int64.max − 1`.
    func replay(record: (NexmarkEvent) -> Void, watermark: (Int64) -> Void) {
        var maxTimestamp = Int64.min
        var current = Int64.min
        for (i, e) in events.enumerated() {
            maxTimestamp = max(maxTimestamp, e.dateTime)
            record(e)
            if (i + 1) % watermarkEvery == 0 {
                let w = maxTimestamp - bound - 1
                if w > current {
                    current = w
                    watermark(w)
                }
            }
        }
        watermark(.max - 1)
    }

    var bids: [Bid] { events.compactMap { if case .bid(let b) = $0 { b } else { nil } } }

    static func floorMod(_ a: Int64, _ b: Int64) -> Int64 { ((a % b) + b) % b }

    func rows(_ query: NexmarkQuery) -> [SinkRecord] {
        switch query {
        case .q0: q0()
        case .q1: q1()
        case .q2: q2()
        case .q5: q5()
        case .q7: q7()
        case .q8: q8()
        case .q11: q11()
        case .q18: q18()
        }
    }

    func q0() -> [SinkRecord] {
        bids.map { b in
            SinkRecord(stream: "nexmark_q0", key: "\(b.auction)|\(b.bidder)|\(b.dateTime)",
                       value: "{\"auction\":\(b.auction),\"bidder\":\(b.bidder),\"price\":\(b.price),\"dateTime\":\(b.dateTime)}")
        }
    }

    func q1() -> [SinkRecord] {
        bids.map { b in
            // The exact product has three decimals; a Double is within 1e-6 of it.
            let text = String(format: "%.3f", Double(b.price) * 0.908)
            return SinkRecord(stream: "nexmark_q1", key: "\(b.auction)|\(b.bidder)|\(b.dateTime)",
                              value: "{\"auction\":\(b.auction),\"bidder\":\(b.bidder),\"price\":\(text),\"dateTime\":\(b.dateTime)}")
        }
    }

    func q2() -> [SinkRecord] {
        bids.filter { $0.auction % 123 == 0 }.map { b in
            SinkRecord(stream: "nexmark_q2", key: "\(b.auction)|\(b.dateTime)", value: "{\"auction\":\(b.auction),\"price\":\(b.price)}")
        }
    }

    /// Every 10 s window sliding by 2 s: bids per auction; the auctions with the most.
    func q5() -> [SinkRecord] {
        var counts: [Int64: [Int64: Int64]] = [:]          // window start → auction → bids
        for b in bids {
            var start = b.dateTime - Self.floorMod(b.dateTime, 2_000)
            while start > b.dateTime - 10_000 {
                counts[start, default: [:]][b.auction, default: 0] += 1
                start -= 2_000
            }
        }
        var rows: [SinkRecord] = []
        for (start, perAuction) in counts {
            let best = perAuction.values.max()!
            for (auction, n) in perAuction where n == best {
                rows.append(SinkRecord(stream: "nexmark_q5", key: "\(start)|\(auction)",
                                       value: "{\"auction\":\(auction),\"num\":\(n),\"starttime\":\(start),\"endtime\":\(start + 10_000)}"))
            }
        }
        return rows
    }

    /// Every 10 s tumbling window: the bids at the window's highest price.
    func q7() -> [SinkRecord] {
        var perWindow: [Int64: [Bid]] = [:]
        for b in bids { perWindow[b.dateTime - Self.floorMod(b.dateTime, 10_000), default: []].append(b) }
        var rows: [SinkRecord] = []
        for (start, windowBids) in perWindow {
            let best = windowBids.map(\.price).max()!
            for b in windowBids where b.price == best {
                rows.append(SinkRecord(stream: "nexmark_q7", key: "\(start)|\(b.auction)|\(b.bidder)|\(b.dateTime)",
                                       value: "{\"auction\":\(b.auction),\"bidder\":\(b.bidder),\"price\":\(b.price),\"dateTime\":\(b.dateTime),\"starttime\":\(start)}"))
            }
        }
        return rows
    }

    /// Persons who registered and opened an auction in the same 10 s window.
    func q8() -> [SinkRecord] {
        var people: [Int64: [Int64: String]] = [:]         // window start → id → name
        var sellers: [Int64: Set<Int64>] = [:]
        for e in events {
            switch e {
            case .person(let p): people[p.dateTime - Self.floorMod(p.dateTime, 10_000), default: [:]][p.id] = p.name
            case .auction(let a): sellers[a.dateTime - Self.floorMod(a.dateTime, 10_000), default: []].insert(a.seller)
            case .bid: break
            }
        }
        var rows: [SinkRecord] = []
        for (start, ids) in people {
            for (id, name) in ids where sellers[start]?.contains(id) == true {
                rows.append(SinkRecord(stream: "nexmark_q8", key: "\(id)|\(start)",
                                       value: "{\"id\":\(id),\"name\":\"\(name)\",\"starttime\":\(start)}"))
            }
        }
        return rows
    }

    /// Session windows per bidder (gap 10 s; windows that touch merge),
    /// fired when the watermark reaches their end − 1.
    func q11() -> [SinkRecord] {
        struct Session { var start: Int64; var end: Int64; var count: Int64 }
        var open: [Int64: [Session]] = [:]
        var rows: [SinkRecord] = []
        replay(record: { e in
            guard case .bid(let b) = e else { return }
            var merged = Session(start: b.dateTime, end: b.dateTime + 10_000, count: 1)
            var rest: [Session] = []
            for s in open[b.bidder] ?? [] {
                if s.start <= merged.end && merged.start <= s.end {
                    merged = Session(start: min(s.start, merged.start), end: max(s.end, merged.end), count: s.count + merged.count)
                } else {
                    rest.append(s)
                }
            }
            open[b.bidder] = rest + [merged]
        }, watermark: { w in
            var fired: [(Int64, Session)] = []
            for (bidder, sessions) in open {
                fired += sessions.filter { $0.end - 1 <= w }.map { (bidder, $0) }
                open[bidder] = sessions.filter { $0.end - 1 > w }
            }
            for (bidder, s) in fired {
                rows.append(SinkRecord(stream: "nexmark_q11", key: "\(bidder)|\(s.start)",
                                       value: "{\"bidder\":\(bidder),\"bid_count\":\(s.count),\"starttime\":\(s.start),\"endtime\":\(s.end)}"))
            }
        })
        return rows
    }

    /// Keep-last per (bidder, auction): every bid not older than the kept
    /// one, in arrival order; a pair is forgotten once the watermark
    /// reaches its kept time + 10 s.
    func q18() -> [SinkRecord] {
        var kept: [BidderAuction: Int64] = [:]
        var rows: [SinkRecord] = []
        replay(record: { e in
            guard case .bid(let b) = e else { return }
            let pair = BidderAuction(bidder: b.bidder, auction: b.auction)
            if let t = kept[pair], b.dateTime < t { return }
            kept[pair] = b.dateTime
            rows.append(SinkRecord(stream: "nexmark_q18", key: "\(b.bidder)|\(b.auction)",
                                   value: "{\"auction\":\(b.auction),\"bidder\":\(b.bidder),\"price\":\(b.price),\"dateTime\":\(b.dateTime)}"))
        }, watermark: { w in
            kept = kept.filter { $0.value + 10_000 > w }
        })
        return rows
    }
}
