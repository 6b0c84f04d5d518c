import Foundation
import Strata

/// A timer of a keyed process function, as it fires.
public struct ProcessTimer<Key> {
    /// Which clock it was registered on.
    public enum Domain: Sendable, Hashable {
        /// Fires when the watermark reaches `timestamp`.
        case eventTime
        /// Fires when the processing-time clock reaches `timestamp`.
        case processingTime
    }
    /// The key it was registered for.
    public var key: Key
    /// Its time, ms.
    public var timestamp: Int64
    /// Its clock.
    public var domain: Domain
}

/// A counter defined by a keyed process function (Flink's
/// `getRuntimeContext().getMetricGroup().counter(name)`), obtained with
/// `ProcessContext.counter(_:)`. It is published as `<operator>.<name>`
/// exactly like the operators' own counters: summed over partitions in
/// `PipelineSummary.counters` and per partition as the metric
/// `<prefix>_logic_<operator>_<name>_total`, at each checkpoint.
///
/// Counts cover the current run only, as in Flink: a restart starts every
/// counter at 0, and the records it replays since the last checkpoint are
/// counted again. Each record and timer is handled once, on the partition
/// that owns its key, so the counts of a run are exact.
///
/// Thread safety: one instance per partition; use it only on that
/// partition's thread (inside the process function).
public final class ProcessCounter {
    /// The published name, `<operator>.<name>`.
    public let name: String
    /// The count of this partition in the current run.
    public private(set) var count = 0

    init(name: String) {
        self.name = name
    }

    /// Adds `amount` (default 1). Throws `.invalidArgument` for a negative
    /// amount (a counter never goes down) or one that would overflow `Int`;
    /// the count is then unchanged.
    public func increment(by amount: Int = 1) throws {
        guard amount >= 0 else {
            throw StrataError(.invalidArgument, "job: counter '\(name)': increment by \(amount); expected an amount >= 0")
        }
        let (sum, overflow) = count.addingReportingOverflow(amount)
        if overflow {
            throw StrataError(.invalidArgument, "job: counter '\(name)': \(count) + \(amount) overflows Int")
        }
        count = sum
    }
}

/// The user counters of one process operator in one partition, registered
/// in the partition's counters the first time each name is asked for.
final class ProcessCounters {
    let operatorName: String
    let partition: JobPartition
    private var byName: [String: ProcessCounter] = [:]

    init(operatorName: String, partition: JobPartition) {
        self.operatorName = operatorName
        self.partition = partition
    }

    func counter(_ name: String) throws -> ProcessCounter {
        if let existing = byName[name] { return existing }
        // Letters, digits and `_` only: the metric name replaces every other
        // character by `_`, so two names differing there would share a metric.
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic
                  || $0.properties.numericType != nil || $0 == "_") }) else {
            throw StrataError(.invalidArgument, "job: process '\(operatorName)': counter name '\(name)' is invalid; "
                              + "expected a non-empty name of ASCII letters, digits and '_'")
        }
        // `late events` adds up every `<operator>.late` counter.
        guard name != "late" else {
            throw StrataError(.invalidArgument, "job: process '\(operatorName)': counter name 'late' is reserved "
                              + "(every '<operator>.late' counter is summed into 'late events')")
        }
        let fullName = "\(operatorName).\(name)"
        guard partition.counters[fullName] == nil else {
            throw StrataError(.invalidArgument, "job: process '\(operatorName)': counter '\(fullName)' clashes "
                              + "with a counter of the job's operators; choose another counter or operator name")
        }
        let counter = ProcessCounter(name: fullName)
        partition.counters[fullName] = { counter.count }
        byName[name] = counter
        return counter
    }
}

/// What a keyed process function can do while it handles one event or
/// timer of one key (Flink's `KeyedProcessFunction.Context`): emit
/// outputs, read the clocks, register or delete timers of that key, and
/// count with user-defined counters.
///
/// Thread safety: valid only during the call it is passed to.
public final class ProcessContext<Key, Output> {
    /// The key of the event or timer being handled.
    public let key: Key
    /// The watermark when the call began (`Int64.min` before the first).
    public let currentWatermark: Int64
    /// Processing time in ms (`StateBackendOptions.clock`) when the call began.
    public let currentProcessingTime: Int64
    let stateKey: StateKey
    let eventTimers: TimerService
    let processingTimers: TimerService
    let counters: ProcessCounters
    var outputs: [(Output, Int64)] = []
    let defaultTimestamp: Int64

    init(key: Key, stateKey: StateKey, watermark: Int64, processingTime: Int64, defaultTimestamp: Int64,
         eventTimers: TimerService, processingTimers: TimerService, counters: ProcessCounters) {
        self.key = key
        self.stateKey = stateKey
        currentWatermark = watermark
        currentProcessingTime = processingTime
        self.defaultTimestamp = defaultTimestamp
        self.eventTimers = eventTimers
        self.processingTimers = processingTimers
        self.counters = counters
    }

    /// The user-defined counter `name` of this operator in this partition,
    /// created at 0 on first use (Flink's `getMetricGroup().counter(name)`):
    /// `try context.counter("alerts").increment()`. Published as
    /// `<operator>.<name>`; see `ProcessCounter`. A counter appears in the
    /// counters once a partition has asked for it. Throws `.invalidArgument`
    /// for a name that is empty, has characters other than ASCII letters,
    /// digits and `_`, is `late` (reserved for `late events`), or whose
    /// published name another operator's counter already has (e.g. a
    /// process named `source` counting `filtered`).
    public func counter(_ name: String) throws -> ProcessCounter {
        try counters.counter(name)
    }

    /// Emits `output` with event timestamp `timestamp` (default: the
    /// event's timestamp, an event-time timer's time, or the watermark for
    /// a processing-time timer).
    public func emit(_ output: Output, timestamp: Int64? = nil) {
        outputs.append((output, timestamp ?? defaultTimestamp))
    }

    /// Registers an event-time timer for this key at `time` ms: it fires
    /// once the watermark reaches `time` (at once on the next watermark if
    /// it already has). Registering the same time twice fires once. Durable
    /// with the operator's state (checkpointed).
    public func registerEventTimeTimer(at time: Int64) throws {
        try eventTimers.register(KeyedTimer(timestamp: time, key: stateKey))
    }

    /// Deletes this key's event-time timer at `time` (nothing if none).
    public func deleteEventTimeTimer(at time: Int64) throws {
        try eventTimers.delete(KeyedTimer(timestamp: time, key: stateKey))
    }

    /// Registers a processing-time timer for this key at `time` ms of the
    /// processing-time clock (`StateBackendOptions.clock`). It fires when
    /// the partition next handles a record or watermark at or after that
    /// time (there is no timer thread), and after a restart as soon as the
    /// clock has passed it. Processing time differs between a run and its
    /// replay, so outputs of processing-time timers are not reproducible.
    public func registerProcessingTimeTimer(at time: Int64) throws {
        try processingTimers.register(KeyedTimer(timestamp: time, key: stateKey))
    }

    /// Deletes this key's processing-time timer at `time` (nothing if none).
    public func deleteProcessingTimeTimer(at time: Int64) throws {
        try processingTimers.delete(KeyedTimer(timestamp: time, key: stateKey))
    }
}

extension KeyedStream {
    /// A keyed process function (Flink's `KeyedProcessFunction`) with one
    /// value of state per key, kept in the engine with `stateCodec`:
    /// `onEvent(event, &state, context)` runs for each event,
    /// `onTimer(timer, &state, context)` for each timer that fires, in
    /// timestamp order per clock; setting the state to nil clears it.
    /// Event-time timers fire when the watermark reaches them, before the
    /// watermark moves on downstream; processing-time timers fire as
    /// `ProcessContext.registerProcessingTimeTimer` describes. State names
    /// are `<name>/state`, `<name>/event-timers` and
    /// `<name>/processing-timers`; `name` must stay the same across restarts.
    /// `ProcessContext.counter(_:)` gives user-defined counters, published
    /// as `<name>.<counter>`.
    /// `outputType` names the type the function emits.
    public func process<StateCodecType: StateCodec, Output>(
        name: String? = nil, stateCodec: StateCodecType, emitting outputType: Output.Type,
        onEvent: @escaping (Event<Key, Element>, inout StateCodecType.Value?, ProcessContext<Key, Output>) throws -> Void,
        onTimer: @escaping (ProcessTimer<Key>, inout StateCodecType.Value?, ProcessContext<Key, Output>) throws -> Void
    ) -> DataStream<Output> {
        let operatorName = graph.operatorName(name, kind: "process", id: graph.newID())
        let keyCodec = self.keyCodec
        let upstream = self
        return DataStream(graph: graph, id: graph.newID()) { partition in
            let input = try upstream.port(in: partition)
            let backend = partition.backend
            let state = try backend.valueState(StateDescriptor("\(operatorName)/state"), valueCodec: stateCodec)
            let eventTimers = try backend.timerService(named: "\(operatorName)/event-timers")
            let processingTimers = try backend.timerService(named: "\(operatorName)/processing-timers")
            let clock = backend.options.clock
            let port = Port<Output>()
            let counters = ProcessCounters(operatorName: operatorName, partition: partition)

            func run(stateKey: StateKey, key: Key, defaultTimestamp: Int64, now: Int64,
                     _ body: (inout StateCodecType.Value?, ProcessContext<Key, Output>) throws -> Void) throws {
                let context = ProcessContext<Key, Output>(
                    key: key, stateKey: stateKey, watermark: partition.watermark, processingTime: now,
                    defaultTimestamp: defaultTimestamp, eventTimers: eventTimers, processingTimers: processingTimers,
                    counters: counters)
                var value = try state.value(for: stateKey)
                try body(&value, context)
                if let value { try state.update(value, for: stateKey) } else { try state.clear(for: stateKey) }
                for (output, ts) in context.outputs { try port.push(output, timestamp: ts) }
            }
            func fire(_ service: TimerService, upTo time: Int64, domain: ProcessTimer<Key>.Domain, now: Int64) throws {
                try service.fire(upTo: time) { timer in
                    let key = try backend.decodeKey(timer.key, codec: keyCodec)
                    let fired = ProcessTimer(key: key, timestamp: timer.timestamp, domain: domain)
                    try run(stateKey: timer.key, key: key,
                            defaultTimestamp: domain == .eventTime ? timer.timestamp : partition.watermark, now: now) {
                        try onTimer(fired, &$0, $1)
                    }
                }
            }
            input.subscribe(elements: { event, timestamp in
                let now = clock()
                try fire(processingTimers, upTo: now, domain: .processingTime, now: now)
                try run(stateKey: backend.stateKey(event.key, codec: keyCodec), key: event.key,
                        defaultTimestamp: timestamp, now: now) { try onEvent(event, &$0, $1) }
            }, watermark: { w in
                let now = clock()
                try fire(eventTimers, upTo: w, domain: .eventTime, now: now)
                try fire(processingTimers, upTo: now, domain: .processingTime, now: now)
                try port.watermark(w)
            })
            return port
        }
    }
}
