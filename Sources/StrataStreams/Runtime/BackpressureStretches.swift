/// How long the source of a pipeline was held back by full partition
/// queues (the pipeline's backpressure): the total wait, and the longest
/// stretch of waiting. Waits separated by less than `mergeGapNanoseconds`
/// of running are one stretch: under sustained overload the source waits
/// on nearly every push and runs in between only to route the next batch,
/// so single waits are short while the source is held back for seconds.
///
/// Thread safety: a value owned by the pipeline's source thread.
struct BackpressureStretches {
    /// Two waits closer than this belong to one stretch. Routing one batch
    /// (`PipelineOptions.batchSize` records) takes well under a
    /// millisecond, and a scheduler slice on a loaded machine a few; 20 ms
    /// is above both, and far below any relief worth the name.
    static let mergeGapNanoseconds: UInt64 = 20_000_000

    /// Nanoseconds the source waited in all.
    private(set) var totalNanoseconds: UInt64 = 0
    private var longestClosed: UInt64 = 0
    private var stretch: (start: UInt64, end: UInt64)?

    /// The source waited `nanoseconds` for room, the wait ending at the
    /// monotonic instant `end` (nanoseconds). Instants are non-decreasing.
    mutating func waited(_ nanoseconds: UInt64, endingAt end: UInt64) {
        guard nanoseconds > 0 else { return }
        totalNanoseconds &+= nanoseconds
        let start = end &- min(nanoseconds, end)
        if let open = stretch, start <= open.end &+ Self.mergeGapNanoseconds {
            stretch = (open.start, max(open.end, end))
        } else {
            if let open = stretch { longestClosed = max(longestClosed, open.end - open.start) }
            stretch = (start, end)
        }
    }

    /// The longest stretch so far (the open one included), in nanoseconds.
    var longestNanoseconds: UInt64 {
        max(longestClosed, stretch.map { $0.end - $0.start } ?? 0)
    }
}
