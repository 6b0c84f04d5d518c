import Foundation
import Strata
import StrataStreams

/// One clickstream record: an ad impression, a click on an ad, or a login.
struct ClickstreamEvent: Codable, Sendable, Equatable {
    enum Kind: String, Codable, Sendable { case impression, click, login }
    var kind: Kind
    var user: Int64
    var ts: Int64
    /// Impressions and clicks: the ad.
    var ad: Int64?
    /// Clicks: the click id (a retried request repeats it: dedup removes those).
    var click: Int64?
    /// Logins: whether it succeeded.
    var success: Bool?
}

/// How the generator shapes the stream.
struct ClickstreamShape: Sendable {
    var seed: UInt64 = 42
    var events: UInt64 = 2_000_000
    var users: Int64 = 5_000
    /// Milliseconds of event time per 1,000 events (the event-time rate).
    var millisPerThousand: Int64 = 1_000
    /// Events arrive up to this many ms behind their place in the stream.
    var disorder: Int64 = 2_000
    /// Per mille of events that arrive far too late (beyond the watermark).
    var latePerMille: Int64 = 2
    /// Per mille of clicks that are retried (same click id again).
    var duplicatePerMille: Int64 = 50
}

/// SplitMix64 of (seed, i): record i depends on nothing else, so the
/// source can seek anywhere (exactly-once replay) and partitions see the
/// same stream every run.
private func mix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// The deterministic clickstream generator.
///
/// Users are active in sessions: the stream is cut into slots of 500
/// events; each slot has 200 active users, drawn from the population by
/// the slot number, so a user's events cluster in time (session windows
/// see real sessions). 60% impressions, 30% clicks on an ad the same user
/// recently saw (attribution joins find them), 10% logins (a few users
/// fail three times and then succeed: the failed-login pattern).
func clickstream(_ shape: ClickstreamShape) -> (UInt64) -> ClickstreamEvent? {
    { i in
        guard i < shape.events else { return nil }
        var event = baseEvent(shape, i)
        // A retried click: the same click (user, ad, id) as event i − 1, again.
        let h = mix(shape.seed ^ mix(i) ^ 0x5EED)
        if event.kind == .click, i > 0, Int64(h % 1_000) < shape.duplicatePerMille {
            let previous = baseEvent(shape, i - 1)
            if previous.kind == .click {
                event = previous
                event.ts = baseEvent(shape, i).ts
            }
        }
        return event
    }
}

/// Event i before retries.
private func baseEvent(_ shape: ClickstreamShape, _ i: UInt64) -> ClickstreamEvent {
    let h = mix(shape.seed ^ mix(i))
    let slot = i / 500
    let activeIndex = Int64(h % 200)
    let user = Int64(mix(shape.seed &+ slot &* 1_000_003 &+ UInt64(activeIndex)) % UInt64(shape.users))
    let base = Int64(i) * shape.millisPerThousand / 1_000
    var ts = base - Int64((h >> 8) % UInt64(shape.disorder + 1))
    if Int64((h >> 20) % 1_000) < shape.latePerMille { ts -= 10 * shape.disorder + 60_000 }
    let roll = (h >> 32) % 100
    let ad = Int64((h >> 40) % 97) + user % 3 * 97          // a few ads per user
    if roll < 60 {
        return ClickstreamEvent(kind: .impression, user: user, ts: ts, ad: ad)
    } else if roll < 90 {
        return ClickstreamEvent(kind: .click, user: user, ts: ts, ad: ad, click: Int64(bitPattern: h >> 1))
    } else {
        // Users whose id is divisible by 7 fail three of four logins.
        let failing = user % 7 == 0 && (h >> 56) % 4 != 3
        return ClickstreamEvent(kind: .login, user: user, ts: ts, success: !failing)
    }
}

/// A click in the attribution join's state: ad, then click id, 16 bytes.
struct AdClickCodec: StateCodec {
    var fixedWidth: Int? { 16 }
    func encode(_ value: AdClick, into out: inout [UInt8]) {
        Int64Codec().encode(value.ad, into: &out)
        Int64Codec().encode(value.click, into: &out)
    }
    func decode(_ bytes: UnsafeRawBufferPointer) throws -> AdClick {
        guard bytes.count == 16 else { throw StrataError(.corruption, "AdClickCodec: \(bytes.count) bytes, expected 16") }
        return AdClick(ad: try Int64Codec().decode(UnsafeRawBufferPointer(rebasing: bytes[0..<8])),
                       click: try Int64Codec().decode(UnsafeRawBufferPointer(rebasing: bytes[8..<16])))
    }
}
