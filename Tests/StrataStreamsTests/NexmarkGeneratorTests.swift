import Foundation
import NexmarkSupport
import Strata
import StrataStreams
import Testing

@Suite struct NexmarkGeneratorTests {
    @Test("event i depends only on the seed and i: any order, any seek, same events")
    func deterministic() throws {
        let seed: UInt64 = 7
        print("nexmark generator seed \(seed)")
        let config = NexmarkConfig(seed: seed, events: 5_000, eventsPerSecond: 1_000, maxDisorder: 300)
        let g = try NexmarkGenerator(config)
        let forward = (0..<5_000).map { g.event(UInt64($0))! }
        let backward = (0..<5_000).reversed().map { g.event(UInt64($0))! }.reversed()
        #expect(forward == Array(backward))
        #expect(g.event(5_000) == nil)
        // A source seeks by index and replays the same records.
        let source = GeneratorSource { g.event($0) }
        try source.seek(to: SourcePosition(offset: 1_234, record: 1_234))
        #expect(try source.next() == forward[1_234])
        let other = try NexmarkGenerator(NexmarkConfig(seed: seed + 1, events: 5_000, eventsPerSecond: 1_000, maxDisorder: 300))
        #expect((0..<5_000).map { other.event(UInt64($0))! } != forward)
    }

    @Test("persons, auctions and bids come 1 : 3 : 46, with dense ids from 1000")
    func proportions() throws {
        let g = try NexmarkGenerator(NexmarkConfig(seed: 3, events: 50_000))
        var persons: [Int64] = [], auctions: [Int64] = [], bids = 0
        for i in 0..<UInt64(50_000) {
            switch g.event(i)! {
            case .person(let p): persons.append(p.id)
            case .auction(let a): auctions.append(a.id)
            case .bid: bids += 1
            }
        }
        #expect(persons.count == 1_000 && auctions.count == 3_000 && bids == 46_000)
        #expect(persons == Array(1_000..<2_000))
        #expect(auctions == Array(1_000..<4_000))
    }

    @Test("hot auctions, bidders and sellers as the reference generator; ids within the leads; prices and times in range")
    func distributions() throws {
        let seed: UInt64 = 11
        print("nexmark generator seed \(seed)")
        let config = NexmarkConfig(seed: seed, events: 200_000, eventsPerSecond: 10_000, maxDisorder: 250)
        let g = try NexmarkGenerator(config)
        var hotAuctions = 0, hotBidders = 0, bids = 0, hotSellers = 0, auctions = 0
        var lastPerson: Int64 = 999, lastAuction: Int64 = 999
        for i in 0..<config.events {
            let e = g.event(i)!
            let scheduled = g.scheduledTime(i)
            #expect(e.dateTime <= scheduled && e.dateTime >= scheduled - 250)
            switch e {
            case .person(let p):
                lastPerson = p.id
                #expect(!p.name.isEmpty && !p.city.isEmpty && p.state.count == 2)
            case .auction(let a):
                lastAuction = a.id
                auctions += 1
                if (a.seller - 1_000) % 100 == 0 { hotSellers += 1 }
                #expect(a.seller <= lastPerson + 10)
                #expect((10...14).contains(a.category))
                #expect(a.expires > a.dateTime && a.reserve > a.initialBid)
            case .bid(let b):
                bids += 1
                if (b.auction - 1_000) % 100 == 0 { hotAuctions += 1 }
                if (b.bidder - 1_000) % 100 == 1 { hotBidders += 1 }
                #expect(b.auction <= lastAuction + 10 && b.auction >= 1_000)
                #expect(b.bidder <= lastPerson + 10 && b.bidder >= 1_000)
                #expect((100...100_000_000).contains(b.price))
            }
        }
        // Hot with probability 1/2 (auctions) and 3/4 (bidders, sellers),
        // plus the few random picks that land on a hot id.
        let auctionShare = Double(hotAuctions) / Double(bids)
        let bidderShare = Double(hotBidders) / Double(bids)
        let sellerShare = Double(hotSellers) / Double(auctions)
        print("hot auction share \(auctionShare), hot bidder share \(bidderShare), hot seller share \(sellerShare)")
        #expect(auctionShare > 0.49 && auctionShare < 0.53)
        #expect(bidderShare > 0.74 && bidderShare < 0.77)
        #expect(sellerShare > 0.73 && sellerShare < 0.78)
    }

    @Test("event time advances by 1000 / rate ms per event from the base time")
    func eventTime() throws {
        let g = try NexmarkGenerator(NexmarkConfig(seed: 1, events: 100, eventsPerSecond: 4_000))
        #expect(g.scheduledTime(0) == g.config.baseTime)
        #expect(g.scheduledTime(3) == g.config.baseTime)          // 0.75 ms
        #expect(g.scheduledTime(4) == g.config.baseTime + 1)
        #expect(g.scheduledTime(4_000_000) == g.config.baseTime + 1_000_000)
        #expect(g.event(17)!.dateTime == g.scheduledTime(17))     // no disorder
    }

    @Test("a bad configuration is an invalidArgument error naming the field")
    func badConfig() {
        for (config, field) in [(NexmarkConfig(eventsPerSecond: 0), "eventsPerSecond"),
                                (NexmarkConfig(maxDisorder: -1), "maxDisorder"),
                                (NexmarkConfig(events: 1 << 51), "events")] {
            do {
                _ = try NexmarkGenerator(config)
                Issue.record("accepted a bad \(field)")
            } catch let error as StrataError {
                #expect(error.kind == .invalidArgument && "\(error)".contains(field))
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }
}
