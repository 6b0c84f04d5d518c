import Strata
import StrataStreams

// The Nexmark data model: an online auction system with three kinds of
// events. People register, open auctions (as sellers) and bid on auctions.
// Field names follow the Nexmark schema (nexmark/nexmark `ddl_gen.sql`).
// Times are event-time milliseconds. The padding strings of the reference
// generator (`extra`, email, credit card, item name, description) are not
// generated: no query here reads them (docs/benchmarks.md, Nexmark section).

/// A person who registered: a seller or a bidder.
///
/// Thread safety: a value type, `Sendable`.
public struct Person: Sendable, Hashable {
    /// Unique, dense: the n-th person has id 1000 + n.
    public var id: Int64
    /// "First Last" from the reference generator's name lists.
    public var name: String
    /// One of the reference generator's ten US cities.
    public var city: String
    /// One of the reference generator's six US states.
    public var state: String
    /// When the person registered (event time, ms).
    public var dateTime: Int64

    /// A person with every field given.
    public init(id: Int64, name: String, city: String, state: String, dateTime: Int64) {
        self.id = id
        self.name = name
        self.city = city
        self.state = state
        self.dateTime = dateTime
    }
}

/// An auction a seller opened.
///
/// Thread safety: a value type, `Sendable`.
public struct Auction: Sendable, Hashable {
    /// Unique, dense: the n-th auction has id 1000 + n.
    public var id: Int64
    /// Opening price, in cents.
    public var initialBid: Int64
    /// Reserve price (initial bid plus a random price), in cents.
    public var reserve: Int64
    /// When the auction opened (event time, ms).
    public var dateTime: Int64
    /// When it closes (event time, ms), after `dateTime`.
    public var expires: Int64
    /// The seller's person id.
    public var seller: Int64
    /// Category id, 10...14.
    public var category: Int64

    /// An auction with every field given.
    public init(id: Int64, initialBid: Int64, reserve: Int64, dateTime: Int64, expires: Int64,
                seller: Int64, category: Int64) {
        self.id = id
        self.initialBid = initialBid
        self.reserve = reserve
        self.dateTime = dateTime
        self.expires = expires
        self.seller = seller
        self.category = category
    }
}

/// A bid on an auction.
///
/// Thread safety: a value type, `Sendable`.
public struct Bid: Sendable, Hashable {
    /// The auction's id.
    public var auction: Int64
    /// The bidder's person id.
    public var bidder: Int64
    /// Price in cents, 100...100,000,000.
    public var price: Int64
    /// When the bid was placed (event time, ms).
    public var dateTime: Int64

    /// A bid with every field given.
    public init(auction: Int64, bidder: Int64, price: Int64, dateTime: Int64) {
        self.auction = auction
        self.bidder = bidder
        self.price = price
        self.dateTime = dateTime
    }
}

/// One Nexmark event: a person, an auction or a bid.
///
/// Thread safety: a value type, `Sendable`.
public enum NexmarkEvent: Sendable, Hashable {
    case person(Person)
    case auction(Auction)
    case bid(Bid)

    /// The event's time (its `dateTime`), event-time ms.
    public var dateTime: Int64 {
        switch self {
        case .person(let p): p.dateTime
        case .auction(let a): a.dateTime
        case .bid(let b): b.dateTime
        }
    }
}

/// What the pipeline carries: an event, and for latency measurement the
/// monotonic time (ns) at which the source produced it, or 0 when the
/// record is not sampled. The stamp never influences a query's results.
///
/// Thread safety: a value type, `Sendable`.
public struct NexmarkRecord: Sendable {
    /// The event.
    public var event: NexmarkEvent
    /// `CLOCK_MONOTONIC` ns when the source produced it; 0: not sampled.
    public var sourceNanos: UInt64

    /// A record; `sourceNanos` 0 leaves it out of latency sampling.
    public init(event: NexmarkEvent, sourceNanos: UInt64 = 0) {
        self.event = event
        self.sourceNanos = sourceNanos
    }
}

// MARK: - State codecs

/// A bid as 32 bytes: auction, bidder, price, dateTime (each `Int64Codec`,
/// order-preserving big-endian). Used in q7's accumulators.
public struct BidCodec: StateCodec {
    public init() {}
    public var fixedWidth: Int? { 32 }
    public func encode(_ value: Bid, into out: inout [UInt8]) {
        let codec = Int64Codec()
        codec.encode(value.auction, into: &out)
        codec.encode(value.bidder, into: &out)
        codec.encode(value.price, into: &out)
        codec.encode(value.dateTime, into: &out)
    }
    /// Throws `.corruption` unless `bytes` is exactly 32 bytes.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> Bid {
        guard bytes.count == 32 else {
            throw StrataError(.corruption, "BidCodec: expected 32 bytes, got \(bytes.count)")
        }
        func field(_ i: Int) -> Int64 {
            Int64(bitPattern: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) ^ (1 << 63))
        }
        return Bid(auction: field(0), bidder: field(1), price: field(2), dateTime: field(3))
    }
}

/// q18's dedup key, (bidder, auction), as 16 bytes: bidder then auction
/// (each `Int64Codec`), so one bidder's pairs are contiguous in the engine.
public struct BidderAuctionCodec: StateCodec {
    public init() {}
    public var fixedWidth: Int? { 16 }
    public func encode(_ value: BidderAuction, into out: inout [UInt8]) {
        Int64Codec().encode(value.bidder, into: &out)
        Int64Codec().encode(value.auction, into: &out)
    }
    /// Throws `.corruption` unless `bytes` is exactly 16 bytes.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> BidderAuction {
        guard bytes.count == 16 else {
            throw StrataError(.corruption, "BidderAuctionCodec: expected 16 bytes, got \(bytes.count)")
        }
        func field(_ i: Int) -> Int64 {
            Int64(bitPattern: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) ^ (1 << 63))
        }
        return BidderAuction(bidder: field(0), auction: field(1))
    }
}

/// A (bidder, auction) pair: q18's key.
public struct BidderAuction: Sendable, Hashable {
    /// The bidder's person id.
    public var bidder: Int64
    /// The auction's id.
    public var auction: Int64
    /// A pair.
    public init(bidder: Int64, auction: Int64) {
        self.bidder = bidder
        self.auction = auction
    }
}
