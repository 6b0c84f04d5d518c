import Foundation
import Glibc
import Strata

/// Drives one operator the way a test wants: feed events and watermarks,
/// move processing time, collect every output with the watermarks between
/// them, count the state left behind, restart from a checkpoint. Like
/// Flink's `KeyedOneInputStreamOperatorTestHarness`; users test their own
/// operators with it.
///
/// The harness owns a `StateBackend` in a fresh temporary directory (removed
/// by `close()`) and builds the operator with the closure it is given (again
/// after a restart). Optionally it runs a `WatermarkGenerator` over the
/// events it is fed: every event is observed at the current processing time,
/// and `emitWatermark()` (also called by `advanceProcessingTime`) processes
/// the generator's watermark when it moved.
///
/// Everything is deterministic: no clock is read (processing time is what
/// the test sets), outputs are taken after each call.
///
/// Thread safety: none; one test uses one harness.
public final class OperatorTestHarness<Operator: StreamOperator> {
    /// One line of the harness's record: an output, or a watermark that was
    /// processed (so a test can see which outputs a watermark produced).
    public enum Record {
        /// Something the operator emitted.
        case output(Operator.Output)
        /// A watermark handed to the operator (only those above the previous one).
        case watermark(Int64)
    }

    /// The backend the operator keeps its state in.
    public private(set) var backend: StateBackend
    /// The operator under test (a new instance after `restartFromCheckpoint`).
    public private(set) var op: Operator
    /// Every output and processed watermark so far, in order.
    public private(set) var records: [Record] = []
    /// Processing time in ms, as set by the test. Starts at 0.
    public private(set) var processingTime: Int64 = 0
    /// The last watermark processed, `Int64.min` before the first.
    public private(set) var watermark: Int64 = .min
    /// The generator applied to fed events, if any.
    public var watermarkGenerator: (any WatermarkGenerator)?
    /// The temporary directory holding the backend (and checkpoints).
    public let directory: String

    private let options: StateBackendOptions
    private let make: (StateBackend) throws -> Operator
    private var restarts = 0
    private var closed = false

    /// Opens a backend in a new temporary directory and builds the operator
    /// with `make`. Throws what opening or `make` throws (the directory is
    /// removed then).
    public init(
        options: StateBackendOptions = StateBackendOptions(), watermarkGenerator: (any WatermarkGenerator)? = nil,
        make: @escaping (StateBackend) throws -> Operator
    ) throws {
        var template = Array("\(NSTemporaryDirectory())/strata-harness-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw StrataError.ioError("operator harness: mkdtemp in \(NSTemporaryDirectory()) failed (errno \(errno))")
        }
        directory = String(cString: made)
        self.options = options
        self.make = make
        self.watermarkGenerator = watermarkGenerator
        do {
            backend = try StateBackend.open(at: "\(directory)/state", options: options)
            op = try make(backend)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    deinit {
        if !closed { try? close() }
    }

    /// Feeds one event (observed by the watermark generator, if any) and
    /// returns what it produced.
    @discardableResult
    public func processElement(_ event: Event<Operator.Key, Operator.Input>) throws -> [Operator.Output] {
        watermarkGenerator?.observe(eventTimestamp: event.timestamp, now: processingTime)
        try op.processElement(event)
        return collect()
    }

    /// Feeds `Event(key:timestamp:payload:)`.
    @discardableResult
    public func processElement(key: Operator.Key, timestamp: Int64, _ payload: Operator.Input) throws
        -> [Operator.Output]
    {
        try processElement(Event(key: key, timestamp: timestamp, payload: payload))
    }

    /// Hands the operator a watermark and returns what it produced. A
    /// watermark not above the last one is not recorded (the operator
    /// ignores it too).
    @discardableResult
    public func processWatermark(_ watermark: Int64) throws -> [Operator.Output] {
        if watermark > self.watermark {
            self.watermark = watermark
            records.append(.watermark(watermark))
        }
        try op.processWatermark(watermark)
        return collect()
    }

    /// Asks the watermark generator (if any) for its watermark at the
    /// current processing time and processes it if it moved.
    @discardableResult
    public func emitWatermark() throws -> [Operator.Output] {
        guard let w = watermarkGenerator?.currentWatermark(now: processingTime), w > watermark else { return [] }
        return try processWatermark(w)
    }

    /// Moves processing time forward to `time` (never back) and emits the
    /// generator's watermark, as a periodic watermark emitter would.
    @discardableResult
    public func advanceProcessingTime(to time: Int64) throws -> [Operator.Output] {
        processingTime = max(processingTime, time)
        return try emitWatermark()
    }

    /// Every output so far (without the watermarks).
    public var outputs: [Operator.Output] {
        records.compactMap { if case .output(let o) = $0 { return o } else { return nil } }
    }

    /// Engine entries in each of the operator's states, by state name (a
    /// scan of each state's key range, after flushing caches).
    public func stateEntryCounts() throws -> [String: Int] {
        try backend.flush()
        var counts: [String: Int] = [:]
        for name in op.stateNames { counts[name] = try backend.entryCount(ofStateNamed: name) }
        return counts
    }

    /// The sum of `stateEntryCounts()`: 0 means nothing is left behind.
    public func stateEntryCount() throws -> Int { try stateEntryCounts().values.reduce(0, +) }

    /// Takes a checkpoint, closes the backend, opens the checkpoint as the
    /// new backend and builds a new operator with the same closure — as a
    /// job restarting from its last checkpoint. The operator then gets the
    /// last watermark again (watermarks are not part of a checkpoint; the
    /// input re-sends them, as in Flink). Outputs recorded so far stay.
    public func restartFromCheckpoint() throws {
        restarts += 1
        let checkpoint = "\(directory)/checkpoint-\(restarts)"
        try backend.checkpoint(to: checkpoint)
        try backend.close()
        backend = try StateBackend.open(at: checkpoint, options: options)
        op = try make(backend)
        if watermark > .min {
            try op.processWatermark(watermark)
            _ = collect()
        }
    }

    /// Closes the backend and removes the temporary directory. Idempotent.
    public func close() throws {
        guard !closed else { return }
        closed = true
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try backend.close()
    }

    private func collect() -> [Operator.Output] {
        let produced = op.takeOutput()
        records.reserveCapacity(records.count + produced.count)
        for output in produced { records.append(.output(output)) }
        return produced
    }
}
