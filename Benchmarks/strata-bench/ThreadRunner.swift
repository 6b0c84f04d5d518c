import Foundation
import Strata
import ToolSupport

/// What one benchmark thread counted. Threads keep their own tallies (no
/// shared counters on the hot path); the benchmark adds them up at the end.
struct ThreadTally {
    var operations = 0
    var bytes = 0
    var found = 0
    var latency = LatencyHistogram()
    /// Operations completed in each whole second since the benchmark
    /// started (index = second): the ops/s-over-time series.
    var timeline: [Int] = []
    /// Keys this thread wrote (S-Amp bookkeeping), when the run tracks them.
    var live: LiveKeys?
    /// Keys this thread deleted (S-Amp bookkeeping), when the run tracks them.
    var removed: LiveKeys?

    /// Records one operation that ended at `now` and started at `last`.
    @inline(__always)
    mutating func record(now: UInt64, last: UInt64, start: UInt64) {
        latency.record(now - last)
        operations += 1
        let second = Int((now - start) / 1_000_000_000)
        if second >= timeline.count { timeline.append(contentsOf: repeatElement(0, count: second - timeline.count + 1)) }
        timeline[second] += 1
    }

    /// Adds another thread's tally into this one.
    mutating func absorb(_ other: ThreadTally) {
        operations += other.operations
        bytes += other.bytes
        found += other.found
        latency.add(other.latency)
        if other.timeline.count > timeline.count {
            timeline.append(contentsOf: repeatElement(0, count: other.timeline.count - timeline.count))
        }
        for (i, n) in other.timeline.enumerated() { timeline[i] += n }
        if let theirs = other.live {
            if live == nil { live = theirs } else { live!.formUnion(theirs) }
        }
        if let theirs = other.removed {
            if removed == nil { removed = theirs } else { removed!.formUnion(theirs) }
        }
    }
}

/// Times one benchmark thread's operations: `lap` records the operation
/// that just ended into the thread's tally (latency, ops/s timeline) and
/// ticks the progress line (printed by thread 0 only).
struct OperationTimer {
    private let start: UInt64
    private var last: UInt64
    private var progress: Progress

    /// `start`: the benchmark's start (the timeline's second 0);
    /// `progressTotal`: the operation count the progress line counts to
    /// (0 for no progress line).
    init(start: UInt64, progressTotal: Int) {
        self.start = start
        last = nanoseconds()
        progress = Progress(total: progressTotal)
    }

    /// Ends an operation; returns the time it ended.
    @inline(__always)
    @discardableResult
    mutating func lap(_ tally: inout ThreadTally) -> UInt64 {
        let now = nanoseconds()
        tally.record(now: now, last: last, start: start)
        last = now
        progress.tick(tally.operations)
        return now
    }

    func finish() { progress.finish() }
}

/// Lets a benchmark closure cross into the worker threads. @unchecked:
/// each worker touches only its own slot of `results`, and the caller
/// reads them after every worker has signalled `done`.
private final class ThreadSlots: @unchecked Sendable {
    var results: [Result<ThreadTally, any Error>?]
    let body: (Int) throws -> ThreadTally
    let done = DispatchSemaphore(value: 0)

    init(count: Int, body: @escaping (Int) throws -> ThreadTally) {
        results = Array(repeating: nil, count: count)
        self.body = body
    }
}

/// Runs `body(thread)` on `threads` threads at once (db_bench `--threads`:
/// each thread does the whole per-thread operation count) and returns the
/// tallies added up. One thread runs on the caller's thread. Workers are
/// plain threads, not the Swift concurrency pool: they block in I/O.
func runThreads(_ threads: Int, _ body: @escaping (Int) throws -> ThreadTally) throws -> ThreadTally {
    if threads <= 1 { return try body(0) }
    let slots = ThreadSlots(count: threads, body: body)
    for t in 0..<threads {
        let worker = Thread {
            let outcome = Result { try slots.body(t) }
            slots.results[t] = outcome
            slots.done.signal()
        }
        worker.stackSize = 1 << 20
        worker.start()
    }
    for _ in 0..<threads { slots.done.wait() }
    var total = ThreadTally()
    for outcome in slots.results {
        total.absorb(try outcome!.get())
    }
    return total
}

extension BenchResult {
    /// Takes the counts of an added-up tally from `threads` threads.
    mutating func take(_ tally: ThreadTally, threads: Int) {
        self.threads = threads
        operations = tally.operations
        bytes = tally.bytes
        latency = tally.latency
        timeline = tally.timeline
    }
}
