import Foundation
import Strata

/// How the Nexmark stream is shaped: seed, length, event-time rate and
/// disorder. Everything else (proportions, hot ratios, id windows) is the
/// reference generator's, as constants on `NexmarkGenerator`.
///
/// Thread safety: a value type, `Sendable`.
public struct NexmarkConfig: Sendable, Hashable {
    /// Seed of every random choice (event i depends on seed and i only).
    public var seed: UInt64 = 1
    /// Events in the stream (the source ends after them). At most 2^50.
    public var events: UInt64 = 10_000_000
    /// Events per second of event time. Default 10,000,000: the density of
    /// the Flink Nexmark suite (`tps` 10M; its 100M events span 10 s of
    /// event time). The event-time gap between events is 1000 / rate ms
    /// (the reference generator's inter-event delay, one generator).
    public var eventsPerSecond: Int64 = 10_000_000
    /// Each event's time is its place in the stream minus a uniform random
    /// lag in [0, maxDisorder] ms: bounded disorder. Default 0 (the
    /// reference generator's default, `outOfOrderGroupSize` 1, is in order).
    public var maxDisorder: Int64 = 0
    /// Event time of event 0: 2020-01-01T00:00:00Z, a multiple of every
    /// window size used, so window boundaries are round numbers.
    public var baseTime: Int64 = 1_577_836_800_000

    /// A shape; the base time is the default. Validated by `NexmarkGenerator.init`.
    public init(seed: UInt64 = 1, events: UInt64 = 10_000_000, eventsPerSecond: Int64 = 10_000_000,
                maxDisorder: Int64 = 0) {
        self.seed = seed
        self.events = events
        self.eventsPerSecond = eventsPerSecond
        self.maxDisorder = maxDisorder
    }
}

/// The Nexmark generator: event i is a pure function of (config, i), so a
/// `GeneratorSource` over it seeks for free (exactly-once replay).
///
/// Facts carried over from the reference generator (Apache Beam's Nexmark
/// and the nexmark/nexmark Flink repository):
/// - Event i (its id) is a person when `i mod 50 < 1`, an auction when
///   `< 4`, a bid otherwise: persons, auctions, bids 1 : 3 : 46.
/// - Persons and auctions get dense ids from 1000 (the n-th person is
///   1000 + n), so ids are computable from i alone.
/// - A bid is for a *hot* auction with probability 1 − 1/2
///   (`hotAuctionRatio` 2): the first auction of the current batch of 100;
///   otherwise a random one of the last 100 auctions plus 10 not yet opened
///   (`numInFlightAuctions`, the id lead).
/// - A bid is by a *hot* bidder with probability 1 − 1/4 (`hotBiddersRatio`
///   4): the second person of the current batch of 100; otherwise a random
///   one of the last 1,000 people plus 10 not yet registered
///   (`numActivePeople`).
/// - An auction's seller is hot with probability 1 − 1/4 (`hotSellersRatio`
///   4): the first person of the current batch of 100; otherwise random as
///   for bidders. Category 10 + uniform(5). Prices are
///   `round(10^(6u) · 100)` cents, u uniform in [0, 1). An auction lasts
///   1 + uniform(2h) ms, h the event time until 100 more auctions exist.
/// - Event time: `baseTime + i · 1000 / eventsPerSecond` ms (one generator
///   timeline), then minus the disorder lag.
///
/// Randomness differs (a SplitMix64 stream per event, not one sequential
/// `java.util.Random`), so the events are not the reference's bit for bit;
/// the proportions and distributions are.
///
/// Thread safety: a value type, `Sendable`; `event(_:)` is pure.
public struct NexmarkGenerator: Sendable {
    /// Persons per 50 events.
    public static let personProportion: UInt64 = 1
    /// Auctions per 50 events.
    public static let auctionProportion: UInt64 = 3
    /// Bids per 50 events.
    public static let bidProportion: UInt64 = 46
    /// 50: one cycle of the proportions.
    public static let totalProportion: UInt64 = personProportion + auctionProportion + bidProportion
    /// Id of the first person and of the first auction (the reference
    /// starts above zero "so queries find matches on small data").
    public static let firstPersonID: Int64 = 1000
    /// Id of the first auction (see `firstPersonID`).
    public static let firstAuctionID: Int64 = 1000
    /// Categories are 10 ..< 15.
    public static let firstCategoryID: Int64 = 10
    /// Number of categories (the reference keeps it small so queries find matches).
    public static let categories: UInt64 = 5
    /// 1 in `hotAuctionRatio` bids picks a random auction; the rest the hot one.
    public static let hotAuctionRatio: UInt64 = 2
    /// 1 in `hotBiddersRatio` bids picks a random bidder; the rest the hot one.
    public static let hotBiddersRatio: UInt64 = 4
    /// 1 in `hotSellersRatio` auctions picks a random seller; the rest the hot one.
    public static let hotSellersRatio: UInt64 = 4
    /// Hot auctions, bidders and sellers are the first (bidders: second) of
    /// each batch of this many ids.
    public static let hotBatch: Int64 = 100
    /// Random auctions come from the last this many (plus the lead).
    public static let inFlightAuctions: Int64 = 100
    /// Random people come from the last this many (plus the lead).
    public static let activePeople: Int64 = 1000
    /// Ids not yet created that random picks may name ("leads": a bid can
    /// arrive for an auction whose creation event comes a little later).
    public static let idLead: Int64 = 10

    static let firstNames = ["Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"]
    static let lastNames = ["Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"]
    /// Every "First Last" combination, built once (a person's name is a lookup).
    static let names: [String] = firstNames.flatMap { first in lastNames.map { "\(first) \($0)" } }
    static let cities = ["Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond",
                         "Seattle", "Kent", "Cheyenne"]
    static let states = ["AZ", "CA", "ID", "OR", "WA", "WY"]

    /// The stream's shape.
    public let config: NexmarkConfig

    /// Throws `.invalidArgument` for a rate ≤ 0, a negative disorder, more
    /// than 2^50 events, or a base time outside ±2^60 ms.
    public init(_ config: NexmarkConfig) throws {
        guard config.eventsPerSecond > 0 else {
            throw StrataError(.invalidArgument, "nexmark: eventsPerSecond \(config.eventsPerSecond), expected > 0")
        }
        guard config.maxDisorder >= 0 && config.maxDisorder <= 1 << 40 else {
            throw StrataError(.invalidArgument, "nexmark: maxDisorder \(config.maxDisorder) ms, expected 0...2^40")
        }
        guard config.events <= 1 << 50 else {
            throw StrataError(.invalidArgument, "nexmark: \(config.events) events, expected at most 2^50")
        }
        guard abs(config.baseTime) <= 1 << 60 else {
            throw StrataError(.invalidArgument, "nexmark: baseTime \(config.baseTime) ms, expected within ±2^60")
        }
        self.config = config
    }

    /// Event `i`, or nil when `i ≥ config.events`.
    public func event(_ i: UInt64) -> NexmarkEvent? {
        guard i < config.events else { return nil }
        var random = EventRandom(seed: config.seed, index: i)
        let base = scheduledTime(i)
        let lag = config.maxDisorder == 0 ? 0 : Int64(random.below(UInt64(config.maxDisorder) + 1))
        let time = base - lag
        let slot = i % Self.totalProportion
        if slot < Self.personProportion {
            return .person(person(i, time, &random))
        } else if slot < Self.personProportion + Self.auctionProportion {
            return .auction(auction(i, time, &random))
        } else {
            return .bid(bid(i, time, &random))
        }
    }

    /// Event i's place in event time before disorder: `baseTime + i·1000/rate`.
    public func scheduledTime(_ i: UInt64) -> Int64 {
        let (high, low) = i.multipliedFullWidth(by: 1000)
        let (q, _) = UInt64(config.eventsPerSecond).dividingFullWidth((high, low))
        return config.baseTime + Int64(q)
    }

    // MARK: Ids (base 0, before adding the first id)

    /// The last person id created at or before event i (the current one for a person event).
    static func lastPersonID(_ i: UInt64) -> Int64 {
        // One person per cycle, at its slot 0.
        Int64(i / totalProportion)
    }

    /// The last auction id created at or before event i (the current one for an auction event).
    static func lastAuctionID(_ i: UInt64) -> Int64 {
        var cycle = Int64(i / totalProportion)
        var offset = Int64(i % totalProportion)
        if offset < Int64(personProportion) {
            cycle -= 1                                   // a person: the previous cycle's last auction
            offset = Int64(auctionProportion) - 1
        } else if offset >= Int64(personProportion + auctionProportion) {
            offset = Int64(auctionProportion) - 1        // a bid: this cycle's last auction
        } else {
            offset -= Int64(personProportion)            // an auction: itself
        }
        return cycle * Int64(auctionProportion) + offset
    }

    /// A random person among the active ones, plus the lead.
    static func randomPerson(_ i: UInt64, _ random: inout EventRandom) -> Int64 {
        let people = lastPersonID(i) + 1
        let active = min(people, activePeople)
        return people - active + Int64(random.below(UInt64(active + idLead)))
    }

    /// A random auction among those in flight, plus the lead.
    static func randomAuction(_ i: UInt64, _ random: inout EventRandom) -> Int64 {
        let last = lastAuctionID(i)
        let first = max(last - inFlightAuctions, 0)
        return first + Int64(random.below(UInt64(last - first + 1 + idLead)))
    }

    /// `round(10^(6u) · 100)` cents: 100 ... 100,000,000, log-uniform.
    static func price(_ random: inout EventRandom) -> Int64 {
        Int64((pow(10.0, random.unit() * 6.0) * 100.0).rounded())
    }

    // MARK: Events

    func person(_ i: UInt64, _ time: Int64, _ random: inout EventRandom) -> Person {
        let id = Self.lastPersonID(i) + Self.firstPersonID
        let name = Self.names[Int(random.below(UInt64(Self.names.count)))]
        let city = Self.cities[Int(random.below(UInt64(Self.cities.count)))]
        let state = Self.states[Int(random.below(UInt64(Self.states.count)))]
        return Person(id: id, name: name, city: city, state: state, dateTime: time)
    }

    func auction(_ i: UInt64, _ time: Int64, _ random: inout EventRandom) -> Auction {
        let id = Self.lastAuctionID(i) + Self.firstAuctionID
        let seller: Int64
        if random.below(Self.hotSellersRatio) > 0 {
            seller = (Self.lastPersonID(i) / Self.hotBatch) * Self.hotBatch
        } else {
            seller = Self.randomPerson(i, &random)
        }
        let category = Self.firstCategoryID + Int64(random.below(Self.categories))
        let initialBid = Self.price(&random)
        let reserve = initialBid + Self.price(&random)
        // The auction lasts on average until `inFlightAuctions` more auctions exist.
        let eventsUntilThen = UInt64(Self.inFlightAuctions) * Self.totalProportion / Self.auctionProportion
        let horizon = scheduledTime(i + eventsUntilThen) - scheduledTime(i)
        let length = 1 + Int64(random.below(UInt64(max(horizon * 2, 1))))
        return Auction(id: id, initialBid: initialBid, reserve: reserve, dateTime: time, expires: time + length,
                       seller: seller + Self.firstPersonID, category: category)
    }

    func bid(_ i: UInt64, _ time: Int64, _ random: inout EventRandom) -> Bid {
        let auction: Int64
        if random.below(Self.hotAuctionRatio) > 0 {
            auction = (Self.lastAuctionID(i) / Self.hotBatch) * Self.hotBatch
        } else {
            auction = Self.randomAuction(i, &random)
        }
        let bidder: Int64
        if random.below(Self.hotBiddersRatio) > 0 {
            // The second of the batch, so hot bidders are not the hot sellers.
            bidder = (Self.lastPersonID(i) / Self.hotBatch) * Self.hotBatch + 1
        } else {
            bidder = Self.randomPerson(i, &random)
        }
        return Bid(auction: auction + Self.firstAuctionID, bidder: bidder + Self.firstPersonID,
                   price: Self.price(&random), dateTime: time)
    }
}

/// A SplitMix64 stream seeded by (seed, event index): each event's random
/// choices depend on nothing else.
struct EventRandom {
    private var state: UInt64

    init(seed: UInt64, index: UInt64) {
        state = Self.mix(seed ^ Self.mix(index &+ 0x5EED))
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0 ..< n (n > 0), by multiply-shift (bias at most n / 2^64).
    mutating func below(_ n: UInt64) -> UInt64 {
        next().multipliedFullWidth(by: n).high
    }

    /// Uniform in [0, 1), 53 bits.
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}
