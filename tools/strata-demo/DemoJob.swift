import Foundation
import Strata
import StrataStreams

// The demo job on the fluent job API (docs/getting-started.md): the
// clickstream, keyed by user, into per-user minute counts, sessions,
// deduplicated clicks, clicks attributed to the impression before them
// (with the ad's campaign from a table), and the failed-login pattern.

/// A user's events in one window (`user_minute_counts`, `user_sessions`).
struct UserWindowCount: Encodable {
    var user: Int64
    var start: Int64
    var end: Int64
    var events: Int64

    init(_ result: WindowResult<Int64, Int64>) {
        user = result.key
        start = result.window.start
        end = result.window.end
        events = result.value
    }
}

/// A click kept by the dedup (`unique_clicks`, row key: the click id).
struct UniqueClick: Encodable {
    var click: Int64
    var user: Int64
    var ad: Int64
    var ts: Int64
    private enum CodingKeys: String, CodingKey { case user, ad, ts }
}

/// A unique click on the ad of an impression the same user saw up to a
/// minute before it (`attributed_clicks`, row key: click id | impression time).
struct AttributedClick: Encodable {
    var click: Int64
    var user: Int64
    var ad: Int64
    var campaign: String
    var impressionTs: Int64
    var clickTs: Int64
    private enum CodingKeys: String, CodingKey {
        case user, ad, campaign
        case impressionTs = "impression_ts"
        case clickTs = "click_ts"
    }
}

/// Three failed logins, then a success, within a minute (`suspicious_logins`).
struct SuspiciousLogin: Encodable {
    var user: Int64
    var failures: [Int64]
    var successTs: Int64
    private enum CodingKeys: String, CodingKey {
        case user, failures
        case successTs = "success_ts"
    }
}

/// A click as the attribution join keeps it: its ad and click id.
struct AdClick: Sendable, Equatable {
    var ad: Int64
    var click: Int64
}

/// The demo job over `source` (the generator or a JSON-lines event log),
/// watermarks `disorder` behind the newest event.
func demoJob<S: ReplayableSource>(source: S, disorder: Duration) -> StreamJob where S.Record == ClickstreamEvent {
    let job = StreamJob()
    let users = job.source(source, watermarks: .boundedOutOfOrderness(disorder), timestamp: \.ts)
        .filter { $0.user % 1_000 != 999 }                   // bot traffic (counted in source.filtered)
        .keyBy(Int64Codec()) { $0.user }

    // Per-user activity: impressions and clicks per minute and per session.
    let activity = users.filter { $0.kind != .login }
    activity.window(.tumbling(.seconds(60)), name: "minute-counts")
        .aggregate(CountAggregate<ClickstreamEvent>())
        .map(UserWindowCount.init)
        .sink("user_minute_counts") { "\($0.user)|\($0.start)" }
    activity.window(.session(gap: .seconds(30)), name: "sessions")
        .aggregate(CountAggregate<ClickstreamEvent>())
        .map(UserWindowCount.init)
        .sink("user_sessions") { "\($0.user)|\($0.start)" }

    // Clicks without the retried duplicates (same click id within 10 minutes).
    let clicks = users.filter { $0.kind == .click }
        .dedup(by: Int64Codec(), { $0.click ?? 0 }, keep: .first, ttl: .seconds(600),
               mode: .exactWithBloomFrontEnd(expectedKeysPerTTL: 200_000, bitsPerKey: 10), name: "click-ids")
    clicks.events()
        .map { UniqueClick(click: $0.payload.click ?? 0, user: $0.key, ad: $0.payload.ad ?? 0, ts: $0.timestamp) }
        .sink("unique_clicks") { "\($0.click)" }

    // Attribution: a unique click joins the user's impressions of the same
    // ad in the minute before it; the campaign comes from the ad table.
    let campaigns = job.table("campaigns", keyCodec: Int64Codec(), valueCodec: StringCodec()) {
        (Int64(0)..<291).map { ($0, "campaign-\($0 % 17)") }
    }
    let impressions = users.filter { $0.kind == .impression }.mapValues { $0.ad ?? 0 }
    impressions.intervalJoin(clicks.mapValues { AdClick(ad: $0.ad ?? 0, click: $0.click ?? 0) },
                             between: .zero, and: .seconds(60),
                             leftCodec: Int64Codec(), rightCodec: AdClickCodec(), name: "attribution")
        .flatMap { output -> [(impression: Event<Int64, Int64>, click: Event<Int64, AdClick>)] in
            guard case .joined(let impression, let click, _) = output, impression.payload == click.payload.ad else { return [] }
            return [(impression, click)]
        }
        .lookup(campaigns, key: { $0.click.payload.ad }) { pair, campaign in
            AttributedClick(click: pair.click.payload.click, user: pair.click.key, ad: pair.click.payload.ad,
                            campaign: campaign ?? "unknown", impressionTs: pair.impression.timestamp,
                            clickTs: pair.click.timestamp)
        }
        .sink("attributed_clicks") { "\($0.click)|\($0.impressionTs)" }

    // Three failed logins, then a success, within a minute; one alert per
    // burst (after a match, the search resumes past its last event).
    let failedLogins = Pattern<Bool>.begin("fail") { !$0 }.times(3)
        .followedBy("success") { $0 }
        .within(.seconds(60))
    users.filter { $0.kind == .login }
        .mapValues { $0.success ?? true }
        .pattern(failedLogins, payloadCodec: BoolCodec(), afterMatch: .skipPastLastEvent, name: "failed-logins")
        .map { match in
            SuspiciousLogin(user: match.key, failures: match.events(of: "fail").map(\.timestamp),
                            successTs: match.events(of: "success").first?.timestamp ?? 0)
        }
        .sink("suspicious_logins") { "\($0.user)|\($0.successTs)" }
    return job
}

/// The summary's counters from the job's (`StreamJob`'s counter names).
func demoCounters(_ counters: [String: Int]) -> [String: Int] {
    [
        "bot events filtered": counters["source.filtered", default: 0],
        "windows fired": counters["minute-counts.fired", default: 0] + counters["sessions.fired", default: 0],
        "late events": counters["late events", default: 0],
        "duplicate clicks": counters["click-ids.duplicates", default: 0],
        "failed-login matches": counters["failed-logins.matches", default: 0],
        "lookups skipped by the dedup filter": counters["click-ids.lookupsSkipped", default: 0],
    ]
}
