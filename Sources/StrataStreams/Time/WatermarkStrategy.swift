import Strata

/// How a pipeline's watermarks are generated from the timestamps of the
/// records its source reads (Flink's `WatermarkStrategy`).
///
/// The source thread emits the watermark (a) every
/// `PipelineOptions.watermarkEveryRecords` records, at record indexes of the
/// source, so a replay of a finite source sees the same watermarks at the
/// same places; and (b) while the source has no record ready
/// (`SourcePoll.pending`), every `PipelineOptions.watermarkInterval` of
/// processing time (Flink's `autoWatermarkInterval`), so a quiet live source
/// does not hold results back. Emissions of (b) depend on timing, so a replay
/// of a *live* source may judge lateness at other places, as in Flink.
///
/// Idleness (`withIdleness`): when the source has produced no record for the
/// timeout, it counts as idle and the watermark advances with processing
/// time — `max timestamp + idle time − δ − 1` — on the assumption that the
/// source's event time keeps pace with the clock (a live source). Flink
/// excludes an idle split from the minimum over splits; a pipeline has one
/// source, so excluding it means nothing holds event time back. Without
/// `withIdleness` a silent source holds the watermark where it is.
public struct WatermarkStrategy: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// Bounded out-of-orderness δ, ms.
        case bounded(Int64)
        /// `PercentileWatermarks` over a sliding window of processing time.
        case percentile(Double, PercentileWatermarks.Reference, windowMilliseconds: Int64, minimumSamples: Int)
    }

    let kind: Kind
    /// Processing time without records after which the source is idle, ms (nil: never).
    public private(set) var idleTimeoutMilliseconds: Int64?

    init(kind: Kind, idleTimeoutMilliseconds: Int64? = nil) {
        self.kind = kind
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
    }

    /// The bound δ in ms of a bounded-out-of-orderness strategy (0 for a
    /// percentile strategy, whose bound moves with the input).
    public var maxOutOfOrderness: Int64 {
        if case .bounded(let delta) = kind { return delta }
        return 0
    }

    /// Watermark `max timestamp read − δ − 1` (Flink's
    /// `forBoundedOutOfOrderness(δ)`): an event up to δ behind the largest
    /// timestamp seen is on time. `δ` is rounded down to milliseconds;
    /// a negative δ counts as zero.
    public static func boundedOutOfOrderness(_ delta: Duration) -> WatermarkStrategy {
        WatermarkStrategy(kind: .bounded(max(0, delta.wholeMilliseconds)))
    }

    /// Timestamps never go back: watermark `max timestamp − 1` (Flink's
    /// `forMonotonousTimestamps()`).
    public static var monotonousTimestamps: WatermarkStrategy { WatermarkStrategy(kind: .bounded(0)) }

    /// A heuristic watermark that allows for the `percentile` quantile of
    /// the skew observed over the last `window` of processing time
    /// (`PercentileWatermarks`: against processing time, the arrival delay;
    /// against the largest event time, the disorder). About a fraction
    /// `1 − percentile` of events is expected to be late. No watermark until
    /// `minimumSamples` events are in the window. Throws
    /// `StrataError.invalidArgument` unless `0 < percentile ≤ 1`, the window
    /// is at least 10 ms and `minimumSamples ≥ 1`. The skew histogram is not
    /// checkpointed: after a restart it fills again from the replayed records.
    public static func percentile(_ percentile: Double, of reference: PercentileWatermarks.Reference = .maxEventTime,
                                  over window: Duration = .seconds(10), minimumSamples: Int = 100) throws
        -> WatermarkStrategy
    {
        let ms = window.wholeMilliseconds
        _ = try PercentileWatermarks(percentile: percentile, window: ms, reference: reference,
                                     minimumSamples: minimumSamples)
        return WatermarkStrategy(kind: .percentile(percentile, reference, windowMilliseconds: ms,
                                                   minimumSamples: minimumSamples))
    }

    /// This strategy, with the source counted idle after `timeout` of
    /// processing time without a record (Flink's `withIdleness`); see the
    /// type's documentation for what idleness does. A timeout below 1 ms
    /// counts as 1 ms.
    public func withIdleness(_ timeout: Duration) -> WatermarkStrategy {
        WatermarkStrategy(kind: kind, idleTimeoutMilliseconds: max(1, timeout.wholeMilliseconds))
    }
}

/// The source thread's watermark state: the largest timestamp read, the
/// percentile generator when the strategy has one, and when the source
/// last produced a record. Used by one thread (the pipeline's source loop).
struct SourceWatermarks {
    let strategy: WatermarkStrategy
    /// The largest timestamp read (restored from the checkpoint).
    var maxTimestamp: Int64?
    /// The generator of a percentile strategy (nil: bounded).
    var percentile: PercentileWatermarks?
    /// Processing time (ms since the run started) of the last tick that
    /// saw new records.
    var lastRecordAt: Int64 = 0
    /// Whether the source is idle as of the last `timedWatermark` call.
    private(set) var idle = false

    init(strategy: WatermarkStrategy, maxTimestamp: Int64?) throws {
        self.strategy = strategy
        self.maxTimestamp = maxTimestamp
        if case .percentile(let p, let reference, let window, let samples) = strategy.kind {
            percentile = try PercentileWatermarks(percentile: p, window: window, reference: reference,
                                                  minimumSamples: samples)
        }
    }

    /// Observes one record's timestamp (`now`: processing time in ms, as of
    /// the last tick).
    @inline(__always)
    mutating func observe(_ timestamp: Int64, now: Int64) {
        if maxTimestamp.map({ timestamp > $0 }) ?? true { maxTimestamp = timestamp }
        if percentile != nil { percentile!.observe(eventTimestamp: timestamp, now: now) }
    }

    /// The watermark the strategy gives now, before idleness (nil: none yet).
    mutating func watermark(now: Int64) -> Int64? {
        if percentile != nil {
            let w = percentile!.currentWatermark(now: now)
            return w == .min ? nil : w
        }
        guard let maxTimestamp else { return nil }
        let (w, overflow) = maxTimestamp.subtractingReportingOverflow(strategy.maxOutOfOrderness &+ 1)
        return overflow ? nil : w
    }

    /// The watermark while the source has no record ready: the strategy's,
    /// or, once the source is idle, the one that follows processing time.
    mutating func timedWatermark(now: Int64) -> Int64? {
        let base = watermark(now: now)
        guard let timeout = strategy.idleTimeoutMilliseconds, let maxTimestamp else {
            idle = false
            return base
        }
        let quiet = now &- lastRecordAt
        idle = quiet >= timeout
        guard idle else { return base }
        let (advanced, overflow) = maxTimestamp.addingReportingOverflow(quiet)
        let (w, overflow2) = advanced.subtractingReportingOverflow(strategy.maxOutOfOrderness &+ 1)
        guard !overflow, !overflow2 else { return base }
        return max(base ?? .min, w)
    }
}
