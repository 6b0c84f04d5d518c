import Strata

/// A heuristic watermark from the observed distribution of skew:
/// `w = now − F⁻¹(p)`, where `F` is the distribution of recent skews.
///
/// The skew of an event is how far behind a reference point it arrives:
/// - `.processingTime`: skew = `now − eventTimestamp` (arrival delay), and
///   the watermark trails processing time by the `p`-quantile of delays
///   (MillWheel's and Dataflow's heuristic watermarks).
/// - `.maxEventTime`: skew = `maxSeen − eventTimestamp` (disorder), and the
///   watermark trails the largest timestamp seen by the `p`-quantile of
///   disorder: an adaptive bounded out-of-orderness for replays, where
///   processing time says nothing about event time.
///
/// So about a fraction `1 − p` of events is expected to arrive late; the
/// quantile is over a `SlidingSkewHistogram` of the last `window` ms of
/// processing time, so the bound follows the input as it changes. Skews
/// below zero (events from the future) count as 0. Like every generator
/// the watermark never decreases: a widening skew holds it back until the
/// reference has moved on. No watermark (`Int64.min`) until
/// `minimumSamples` skews are in the window.
public struct PercentileWatermarks: WatermarkGenerator, Sendable {
    /// What skew is measured against.
    public enum Reference: Sendable, Hashable {
        /// Skew = processing time − event timestamp.
        case processingTime
        /// Skew = largest event timestamp seen − event timestamp.
        case maxEventTime
    }

    /// The quantile of skew the watermark allows for, in (0, 1].
    public let percentile: Double
    /// What skew is measured against.
    public let reference: Reference
    /// Skews needed in the window before a watermark is produced.
    public let minimumSamples: Int
    /// The sliding histogram of observed skews.
    public private(set) var histogram: SlidingSkewHistogram
    private var maxTimestamp: Int64?
    private var emitted: Int64 = .min

    /// Creates a generator. `percentile` in (0, 1]; `window` ms of
    /// processing time cut into `slots`; `minimumSamples` ≥ 1.
    /// Throws `StrataError.invalidArgument` for anything else.
    public init(
        percentile: Double, window: Int64, slots: Int = 10, reference: Reference = .processingTime,
        minimumSamples: Int = 1
    ) throws {
        guard percentile > 0, percentile <= 1, minimumSamples >= 1 else {
            throw StrataError.invalidArgument(
                "watermarks: percentile \(percentile) and minimumSamples \(minimumSamples); expected 0 < p ≤ 1 and at least one sample")
        }
        self.percentile = percentile
        self.reference = reference
        self.minimumSamples = minimumSamples
        histogram = try SlidingSkewHistogram(windowLength: window, slotCount: slots)
    }

    /// Records the event's skew against the reference.
    public mutating func observe(eventTimestamp: Int64, now: Int64) {
        if maxTimestamp.map({ eventTimestamp > $0 }) ?? true { maxTimestamp = eventTimestamp }
        let base = reference == .processingTime ? now : maxTimestamp!
        let (skew, overflow) = base.subtractingReportingOverflow(eventTimestamp)
        histogram.record(overflow ? (eventTimestamp > base ? 0 : .max) : skew, now: now)
    }

    /// `reference − F⁻¹(p)`, never below the last watermark returned.
    public mutating func currentWatermark(now: Int64) -> Int64 {
        histogram.advance(to: now)
        guard histogram.count >= UInt64(minimumSamples), let skew = histogram.quantile(percentile),
            let base = reference == .processingTime ? now : maxTimestamp
        else { return emitted }
        let (w, overflow) = base.subtractingReportingOverflow(skew)
        if !overflow, w > emitted { emitted = w }
        return emitted
    }
}
