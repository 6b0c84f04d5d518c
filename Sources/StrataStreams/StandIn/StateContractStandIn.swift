// TEMPORARY STAND-IN — deleted when the lead's keyed state layer
// ("StrataStreams: keyed state", Sources/StrataStreams/State/) is merged.
//
// It declares the state API contract of issue 8 (TimeWindow, Namespace,
// StateKey, codecs, AggregateFunction, StateBackend, ValueState, ListState,
// AggregatingState, TimerService) with in-memory dictionaries behind it, so
// the window operator can be built and its semantics tested before the
// engine-backed layer exists. Nothing here is meant to survive the merge;
// it is not engine-backed, and no figure is measured on it.
import Foundation
import Strata

/// [start, end) in event-time milliseconds.
public struct TimeWindow: Hashable, Comparable, Sendable {
    public var start: Int64
    public var end: Int64
    public init(start: Int64, end: Int64) { self.start = start; self.end = end }
    public var maxTimestamp: Int64 { end - 1 }
    public static func < (a: TimeWindow, b: TimeWindow) -> Bool { (a.start, a.end) < (b.start, b.end) }
}

public struct Namespace: Hashable, Sendable {
    public let window: TimeWindow?
    public static let none = Namespace(window: nil)
    public static func window(_ w: TimeWindow) -> Namespace { Namespace(window: w) }
}

public struct StateKey: Hashable, Sendable {
    public let keyGroup: UInt16
    public let encoded: [UInt8]
}

public protocol StateCodec<Value>: Sendable {
    associatedtype Value
    var fixedWidth: Int? { get }
    func encode(_ value: Value, into out: inout [UInt8])
    func decode(_ bytes: UnsafeRawBufferPointer) throws -> Value
}

public struct Int64Codec: StateCodec {
    public init() {}
    public var fixedWidth: Int? { 8 }
    public func encode(_ value: Int64, into out: inout [UInt8]) {
        let u = UInt64(bitPattern: value) ^ (1 << 63)
        for i in (0..<8).reversed() { out.append(UInt8(truncatingIfNeeded: u >> (8 * UInt64(i)))) }
    }
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> Int64 {
        guard bytes.count == 8 else { throw StrataError.corruption("Int64Codec: \(bytes.count) bytes, expected 8") }
        var u: UInt64 = 0
        for b in bytes { u = u << 8 | UInt64(b) }
        return Int64(bitPattern: u ^ (1 << 63))
    }
}

public struct StringCodec: StateCodec {
    public init() {}
    public var fixedWidth: Int? { nil }
    public func encode(_ value: String, into out: inout [UInt8]) { out.append(contentsOf: value.utf8) }
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> String { String(decoding: bytes, as: UTF8.self) }
}

public struct DoubleCodec: StateCodec {
    public init() {}
    public var fixedWidth: Int? { 8 }
    public func encode(_ value: Double, into out: inout [UInt8]) {
        Int64Codec().encode(Int64(bitPattern: value.bitPattern), into: &out)
    }
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> Double {
        Double(bitPattern: UInt64(bitPattern: try Int64Codec().decode(bytes)))
    }
}

public struct StateTTL: Sendable { public var milliseconds: Int64; public init(milliseconds: Int64) { self.milliseconds = milliseconds } }
public struct StateDescriptor: Sendable {
    public var name: String; public var ttl: StateTTL?
    public init(_ name: String, ttl: StateTTL? = nil) { self.name = name; self.ttl = ttl }
}

public protocol AggregateFunction<Input, Accumulator, Output>: Sendable {
    associatedtype Input
    associatedtype Accumulator
    associatedtype Output
    associatedtype AccumulatorCodec: StateCodec where AccumulatorCodec.Value == Accumulator
    var accumulatorCodec: AccumulatorCodec { get }
    func createAccumulator() -> Accumulator
    func add(_ input: Input, to accumulator: inout Accumulator)
    func merge(_ a: Accumulator, _ b: Accumulator) -> Accumulator
    func result(_ accumulator: Accumulator) -> Output
}

public struct CountAggregate<Input>: AggregateFunction {
    public init() {}
    public var accumulatorCodec: Int64Codec { Int64Codec() }
    public func createAccumulator() -> Int64 { 0 }
    public func add(_ input: Input, to accumulator: inout Int64) { accumulator += 1 }
    public func merge(_ a: Int64, _ b: Int64) -> Int64 { a + b }
    public func result(_ accumulator: Int64) -> Int64 { accumulator }
}

public struct SumAggregate: AggregateFunction {
    public init() {}
    public var accumulatorCodec: Int64Codec { Int64Codec() }
    public func createAccumulator() -> Int64 { 0 }
    public func add(_ input: Int64, to accumulator: inout Int64) { accumulator &+= input }
    public func merge(_ a: Int64, _ b: Int64) -> Int64 { a &+ b }
    public func result(_ accumulator: Int64) -> Int64 { accumulator }
}

public struct MinAggregate: AggregateFunction {
    public init() {}
    public var accumulatorCodec: Int64Codec { Int64Codec() }
    public func createAccumulator() -> Int64 { .max }
    public func add(_ input: Int64, to accumulator: inout Int64) { accumulator = min(accumulator, input) }
    public func merge(_ a: Int64, _ b: Int64) -> Int64 { min(a, b) }
    public func result(_ accumulator: Int64) -> Int64? { accumulator == .max ? nil : accumulator }
}

public struct MaxAggregate: AggregateFunction {
    public init() {}
    public var accumulatorCodec: Int64Codec { Int64Codec() }
    public func createAccumulator() -> Int64 { .min }
    public func add(_ input: Int64, to accumulator: inout Int64) { accumulator = max(accumulator, input) }
    public func merge(_ a: Int64, _ b: Int64) -> Int64 { max(a, b) }
    public func result(_ accumulator: Int64) -> Int64? { accumulator == .min ? nil : accumulator }
}

public struct StateBackendOptions: Sendable {
    public var engine = Options()
    public var maxParallelism: Int = 128
    public var writeBackCacheEntries: Int = 1 << 18
    public init() {}
}

struct StandInEntry: Hashable { var key: StateKey; var namespace: Namespace }

final class StandInStore {
    var states: [String: () -> Int] = [:]
}

public final class StateBackend {
    public let database: Database
    public let maxParallelism: Int
    let store = StandInStore()

    private init(database: Database, maxParallelism: Int) {
        self.database = database; self.maxParallelism = maxParallelism
    }

    public static func open(at path: String, options: StateBackendOptions = StateBackendOptions()) throws -> StateBackend {
        StateBackend(database: try Database.open(at: path, options: options.engine), maxParallelism: options.maxParallelism)
    }

    public func stateKey<C: StateCodec>(_ key: C.Value, codec: C) -> StateKey {
        var bytes: [UInt8] = []
        codec.encode(key, into: &bytes)
        var hash: UInt32 = 2_166_136_261
        for b in bytes { hash = (hash ^ UInt32(b)) &* 16_777_619 }
        if codec.fixedWidth == nil { bytes.insert(UInt8(truncatingIfNeeded: bytes.count), at: 0) }
        return StateKey(keyGroup: UInt16(hash % UInt32(maxParallelism)), encoded: bytes)
    }

    public func decodeKey<C: StateCodec>(_ key: StateKey, codec: C) throws -> C.Value {
        let bytes = codec.fixedWidth == nil ? Array(key.encoded.dropFirst()) : key.encoded
        return try bytes.withUnsafeBytes { try codec.decode($0) }
    }

    public func listState<V: StateCodec>(_ descriptor: StateDescriptor, elementCodec: V) throws -> ListState<V> {
        let s = ListState<V>(); store.states[descriptor.name] = { [unowned s] in s.values.count }; return s
    }
    public func valueState<V: StateCodec>(_ descriptor: StateDescriptor, valueCodec: V) throws -> ValueState<V> {
        let s = ValueState<V>(); store.states[descriptor.name] = { [unowned s] in s.values.count }; return s
    }
    public func aggregatingState<F: AggregateFunction>(_ descriptor: StateDescriptor, function: F) throws -> AggregatingState<F> {
        let s = AggregatingState(function); store.states[descriptor.name] = { [unowned s] in s.values.count }; return s
    }
    public func timerService(named name: String) throws -> TimerService {
        let s = TimerService(); store.states[name] = { [unowned s] in s.timers.count }; return s
    }
    public func flush() throws {}
    public func checkpoint(to path: String) throws { try database.checkpoint(to: path) }
    public func entryCount(ofStateNamed name: String) throws -> Int { store.states[name]?() ?? 0 }
    public func close() throws { try database.close() }
}

public final class ValueState<V: StateCodec> {
    var values: [StandInEntry: V.Value] = [:]
    public func value(for key: StateKey, in namespace: Namespace = .none) throws -> V.Value? { values[StandInEntry(key: key, namespace: namespace)] }
    public func update(_ value: V.Value, for key: StateKey, in namespace: Namespace = .none) throws { values[StandInEntry(key: key, namespace: namespace)] = value }
    public func clear(for key: StateKey, in namespace: Namespace = .none) throws { values[StandInEntry(key: key, namespace: namespace)] = nil }
}

public final class ListState<V: StateCodec> {
    var values: [StandInEntry: [V.Value]] = [:]
    public func add(_ value: V.Value, for key: StateKey, in namespace: Namespace = .none) throws { values[StandInEntry(key: key, namespace: namespace), default: []].append(value) }
    public func addAll(_ list: [V.Value], for key: StateKey, in namespace: Namespace = .none) throws {
        if list.isEmpty { return }
        values[StandInEntry(key: key, namespace: namespace), default: []].append(contentsOf: list)
    }
    public func get(for key: StateKey, in namespace: Namespace = .none) throws -> [V.Value] { values[StandInEntry(key: key, namespace: namespace)] ?? [] }
    public func update(_ list: [V.Value], for key: StateKey, in namespace: Namespace = .none) throws { values[StandInEntry(key: key, namespace: namespace)] = list.isEmpty ? nil : list }
    public func clear(for key: StateKey, in namespace: Namespace = .none) throws { values[StandInEntry(key: key, namespace: namespace)] = nil }
}

public final class AggregatingState<F: AggregateFunction> {
    let function: F
    var values: [StandInEntry: F.Accumulator] = [:]
    init(_ function: F) { self.function = function }
    public func add(_ input: F.Input, for key: StateKey, in namespace: Namespace = .none) throws {
        let e = StandInEntry(key: key, namespace: namespace)
        var acc = values[e] ?? function.createAccumulator()
        function.add(input, to: &acc)
        values[e] = acc
    }
    public func get(for key: StateKey, in namespace: Namespace = .none) throws -> F.Output? {
        values[StandInEntry(key: key, namespace: namespace)].map { function.result($0) }
    }
    public func accumulator(for key: StateKey, in namespace: Namespace = .none) throws -> F.Accumulator? {
        values[StandInEntry(key: key, namespace: namespace)]
    }
    public func mergeNamespaces(_ sources: [Namespace], into target: Namespace, for key: StateKey) throws {
        let t = StandInEntry(key: key, namespace: target)
        var acc = values[t]
        for s in sources where s != target {
            guard let v = values.removeValue(forKey: StandInEntry(key: key, namespace: s)) else { continue }
            acc = acc.map { function.merge($0, v) } ?? v
        }
        values[t] = acc
    }
    public func clear(for key: StateKey, in namespace: Namespace = .none) throws { values[StandInEntry(key: key, namespace: namespace)] = nil }
}

public struct Timer: Hashable, Sendable {
    public var timestamp: Int64; public var key: StateKey; public var namespace: Namespace
    public init(timestamp: Int64, key: StateKey, namespace: Namespace) { self.timestamp = timestamp; self.key = key; self.namespace = namespace }
}

public final class TimerService {
    var timers: Set<Timer> = []
    public func register(_ timer: Timer) throws { timers.insert(timer) }
    public func delete(_ timer: Timer) throws { timers.remove(timer) }
    public func nextTimestamp() throws -> Int64? { timers.map(\.timestamp).min() }
    public func count() throws -> Int { timers.count }
    public func fire(upTo watermark: Int64, _ body: (Timer) throws -> Void) throws {
        func order(_ a: Timer, _ b: Timer) -> Bool {
            if a.timestamp != b.timestamp { return a.timestamp < b.timestamp }
            if a.key.keyGroup != b.key.keyGroup { return a.key.keyGroup < b.key.keyGroup }
            if a.key.encoded != b.key.encoded { return a.key.encoded.lexicographicallyPrecedes(b.key.encoded) }
            let wa = a.namespace.window ?? TimeWindow(start: .min, end: .min)
            let wb = b.namespace.window ?? TimeWindow(start: .min, end: .min)
            return wa < wb
        }
        while let next = timers.filter({ $0.timestamp <= watermark }).min(by: order) {
            timers.remove(next)
            try body(next)
        }
    }
}
