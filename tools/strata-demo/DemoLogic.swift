import Foundation
import Strata
import StrataStreams

/// The demo job's operator chain for one partition (key = user).
final class DemoLogic: PartitionLogic {
    typealias Record = ClickstreamEvent
    let minuteCounts: WindowOperator<Int64Codec, ClickstreamEvent, Int64>
    let sessions: WindowOperator<Int64Codec, ClickstreamEvent, Int64>
    let dedup: DedupOperator<Int64Codec, ClickstreamEvent>
    let attribution: IntervalJoinOperator<Int64Codec, Int64Codec, AdClickCodec>
    let logins: PatternOperator<Int64Codec, BoolCodec>
    /// Ad → campaign, kept in the engine (every partition has the table).
    let campaigns: LookupTable<Int64Codec, StringCodec>
    /// Stateless stage: drops bot traffic (users whose id ends in 999).
    let humans = Flow<ClickstreamEvent, ClickstreamEvent>().filter { $0.user % 1_000 != 999 }
    private var botEvents = 0
    private var windowsFired = 0
    private var lateEvents = 0
    private var duplicates = 0

    init(_ context: PartitionContext) throws {
        let backend = context.backend
        minuteCounts = try WindowOperator(name: "minute-counts", backend: backend, keyCodec: Int64Codec(),
                                          assigner: try .tumbling(size: 60_000), aggregate: CountAggregate<ClickstreamEvent>())
        sessions = try WindowOperator(name: "sessions", backend: backend, keyCodec: Int64Codec(),
                                      assigner: try .session(gap: 30_000), aggregate: CountAggregate<ClickstreamEvent>())
        dedup = try DedupOperator(backend: backend, name: "click-ids", keyCodec: Int64Codec(),
                                  options: DedupOptions(ttl: 10 * 60_000,
                                                        mode: .exactWithBloomFrontEnd(expectedKeysPerTTL: 200_000, bitsPerKey: 10)))
        attribution = try IntervalJoinOperator(backend: backend, name: "attribution", keyCodec: Int64Codec(),
                                               leftCodec: Int64Codec(), rightCodec: AdClickCodec(),
                                               lower: 0, upper: 60_000)
        let pattern = Pattern<Bool>.begin("fail") { !$0 }.times(3).followedBy("success") { $0 }.within(60_000)
        logins = try PatternOperator(backend: backend, name: "failed-logins", keyCodec: Int64Codec(),
                                     payloadCodec: BoolCodec(), pattern: pattern, afterMatch: .skipPastLastEvent,
                                     emitTimeouts: false)
        campaigns = try LookupTable(backend: backend, name: "campaigns", keyCodec: Int64Codec(), valueCodec: StringCodec())
        try campaigns.loadIfEmpty((Int64(0)..<291).map { ($0, "campaign-\($0 % 17)") })
    }

    func process(_ record: ClickstreamEvent, timestamp: Int64, output: OutputCollector) throws {
        var human = false
        try humans.run(record) { e in
            human = true
            try processHuman(e, timestamp: timestamp, output: output)
        }
        if !human { botEvents += 1 }
    }

    private func processHuman(_ e: ClickstreamEvent, timestamp: Int64, output: OutputCollector) throws {
        switch e.kind {
        case .impression:
            try minuteCounts.processElement(key: e.user, timestamp: timestamp, value: e)
            try sessions.processElement(key: e.user, timestamp: timestamp, value: e)
            try attribution.processLeft(Event(key: e.user, timestamp: timestamp, payload: e.ad ?? 0))
        case .click:
            try minuteCounts.processElement(key: e.user, timestamp: timestamp, value: e)
            try sessions.processElement(key: e.user, timestamp: timestamp, value: e)
            try dedup.processElement(Event(key: e.click ?? 0, timestamp: timestamp, payload: e))
            let unique = dedup.takeOutput()
            duplicates = dedup.statistics.duplicates
            for d in unique {
                output.emit(stream: "unique_clicks", key: "\(d.event.key)",
                            value: "{\"user\":\(d.event.payload.user),\"ad\":\(d.event.payload.ad ?? 0),\"ts\":\(d.event.timestamp)}")
                try attribution.processRight(Event(key: e.user, timestamp: timestamp, payload: (e.ad ?? 0, e.click ?? 0)))
            }
        case .login:
            try logins.processElement(Event(key: e.user, timestamp: timestamp, payload: e.success ?? true))
        }
        try drain(output)
    }

    func processWatermark(_ watermark: Int64, output: OutputCollector) throws {
        try minuteCounts.processWatermark(watermark)
        try sessions.processWatermark(watermark)
        try dedup.processWatermark(watermark)
        try attribution.processWatermark(watermark)
        try logins.processWatermark(watermark)
        try drain(output)
    }

    private func drain(_ output: OutputCollector) throws {
        let minuteOutputs = minuteCounts.takeOutput()
        for case .result(let r) in minuteOutputs {
            windowsFired += 1
            output.emit(stream: "user_minute_counts", key: "\(r.key)|\(r.window.start)",
                        value: "{\"user\":\(r.key),\"start\":\(r.window.start),\"end\":\(r.window.end),\"events\":\(r.value)}")
        }
        lateEvents += minuteOutputs.filter { $0.lateEvent != nil }.count
        let sessionOutputs = sessions.takeOutput()
        for case .result(let r) in sessionOutputs {
            windowsFired += 1
            output.emit(stream: "user_sessions", key: "\(r.key)|\(r.window.start)",
                        value: "{\"user\":\(r.key),\"start\":\(r.window.start),\"end\":\(r.window.end),\"events\":\(r.value)}")
        }
        lateEvents += sessionOutputs.filter { $0.lateEvent != nil }.count
        for j in attribution.takeOutput() {
            switch j {
            case .joined(let impression, let click, _) where impression.payload == click.payload.0:
                let campaign = try campaigns.get(click.payload.0) ?? "unknown"
                output.emit(stream: "attributed_clicks", key: "\(click.payload.1)|\(impression.timestamp)",
                            value: "{\"user\":\(click.key),\"ad\":\(click.payload.0),\"campaign\":\"\(campaign)\",\"impression_ts\":\(impression.timestamp),\"click_ts\":\(click.timestamp)}")
            case .lateLeft, .lateRight:
                lateEvents += 1
            default:
                break
            }
        }
        for p in logins.takeOutput() {
            switch p {
            case .match(let m):
                let fails = m.events(of: "fail").map(\.timestamp)
                let success = m.events(of: "success").first?.timestamp ?? 0
                output.emit(stream: "suspicious_logins", key: "\(m.key)|\(success)",
                            value: "{\"user\":\(m.key),\"failures\":\(fails),\"success_ts\":\(success)}")
            case .late:
                lateEvents += 1
            case .timeout:
                break
            }
        }
    }

    var counters: [String: Int] {
        ["bot events filtered": botEvents, "windows fired": windowsFired, "late events": lateEvents, "duplicate clicks": duplicates,
         "failed-login matches": logins.matches, "lookups skipped by the dedup filter": dedup.statistics.lookupsSkipped]
    }
}
