import Strata

/// The watermark of an operator with several inputs: the minimum of its
/// inputs' watermarks, leaving out idle inputs.
///
/// Rules (Flink's `StatusWatermarkValve`):
/// - The output is the minimum over the inputs that are active and
///   *aligned*; it never decreases.
/// - An idle input is left out. When every input is idle, the output moves
///   to the largest watermark any input reached (nothing is holding it back)
///   and the combiner reports itself idle.
/// - An input that comes back from idleness with a watermark below the
///   output is not aligned: it joins the minimum again only once its
///   watermark has caught up with the output. Until then its events at or
///   below the output are late — the price of not waiting for it.
/// - A watermark lower than the input's previous one is ignored (inputs are
///   monotonic).
///
/// Thread safety: a value type for one thread (the operator's).
public struct WatermarkCombiner: Sendable {
    private struct Input: Sendable {
        var watermark: Int64 = .min
        var idle = false
        var aligned = true
    }

    private var inputs: [Input]
    /// The combined watermark: `Int64.min` until every active input has one.
    public private(set) var watermark: Int64 = .min
    /// True when every input is idle.
    public private(set) var isIdle = false

    /// A combiner for `inputCount` inputs (≥ 1; `StrataError.invalidArgument` otherwise), all active.
    public init(inputCount: Int) throws {
        guard inputCount >= 1 else {
            throw StrataError.invalidArgument("watermark combiner: \(inputCount) inputs; expected at least one")
        }
        inputs = Array(repeating: Input(), count: inputCount)
    }

    /// The number of inputs.
    public var inputCount: Int { inputs.count }

    /// The last watermark recorded for `input`.
    public func watermark(ofInput input: Int) -> Int64 { inputs[input].watermark }

    /// Records a watermark of `input` (which also marks it active: a
    /// watermark is a sign of life). Returns the new combined watermark when
    /// it advanced, `nil` otherwise. `input` must be in `0..<inputCount`
    /// (a precondition: a wrong index is a programming error).
    public mutating func update(input: Int, watermark w: Int64) -> Int64? {
        precondition(inputs.indices.contains(input), "watermark combiner: no input \(input)")
        if w > inputs[input].watermark { inputs[input].watermark = w }
        if inputs[input].idle { inputs[input].idle = false; inputs[input].aligned = false }
        if !inputs[input].aligned, inputs[input].watermark >= watermark { inputs[input].aligned = true }
        return recompute()
    }

    /// Marks `input` idle or active. Returns the new combined watermark when
    /// it advanced (a lagging input going idle releases the others).
    public mutating func setIdle(input: Int, _ idle: Bool) -> Int64? {
        precondition(inputs.indices.contains(input), "watermark combiner: no input \(input)")
        guard inputs[input].idle != idle else { return nil }
        inputs[input].idle = idle
        if !idle { inputs[input].aligned = inputs[input].watermark >= watermark }
        return recompute()
    }

    private mutating func recompute() -> Int64? {
        let active = inputs.filter { !$0.idle }
        isIdle = active.isEmpty
        let candidate: Int64
        if active.isEmpty {
            candidate = inputs.map(\.watermark).max()!
        } else {
            let aligned = active.filter(\.aligned)
            guard let minimum = aligned.map(\.watermark).min() else { return nil }
            candidate = minimum
        }
        guard candidate > watermark else { return nil }
        watermark = candidate
        for i in inputs.indices where !inputs[i].idle && !inputs[i].aligned && inputs[i].watermark >= watermark {
            inputs[i].aligned = true
        }
        return watermark
    }
}
