import Strata

/// A chain of stateless operators — map, filter, flatMap — applied to one
/// record at a time and fused into one closure (no queue or allocation
/// between stages, as Flink chains operators in one task).
///
/// ```swift
/// let flow = Flow<Click, Click>().filter { !$0.isBot }.map { Enriched($0) }.flatMap { $0.items }
/// try flow.run(click) { item in try windows.processElement(...) }
/// ```
///
/// Thread safety: a value; its closures run on the caller's thread.
public struct Flow<Input, Output> {
    private let body: (Input, (Output) throws -> Void) throws -> Void

    private init(_ body: @escaping (Input, (Output) throws -> Void) throws -> Void) { self.body = body }

    /// Passes every output of the chain for `input` to `emit`, in order.
    public func run(_ input: Input, _ emit: (Output) throws -> Void) throws {
        try withoutActuallyEscaping(emit) { try body(input, $0) }
    }

    /// Transforms each output.
    public func map<T>(_ transform: @escaping (Output) throws -> T) -> Flow<Input, T> {
        let body = self.body
        return Flow<Input, T> { input, emit in try body(input) { try emit(transform($0)) } }
    }

    /// Keeps the outputs `isIncluded` accepts.
    public func filter(_ isIncluded: @escaping (Output) throws -> Bool) -> Flow<Input, Output> {
        let body = self.body
        return Flow { input, emit in try body(input) { if try isIncluded($0) { try emit($0) } } }
    }

    /// Replaces each output by zero or more.
    public func flatMap<S: Sequence>(_ transform: @escaping (Output) throws -> S) -> Flow<Input, S.Element> {
        let body = self.body
        return Flow<Input, S.Element> { input, emit in
            try body(input) { for element in try transform($0) { try emit(element) } }
        }
    }

    /// Transforms each output, dropping nils.
    public func compactMap<T>(_ transform: @escaping (Output) throws -> T?) -> Flow<Input, T> {
        let body = self.body
        return Flow<Input, T> { input, emit in try body(input) { if let t = try transform($0) { try emit(t) } } }
    }
}

extension Flow where Input == Output {
    /// The empty chain: every input is its own output.
    public init() { self.init { input, emit in try emit(input) } }
}

/// A lookup table kept in the engine (Flink's broadcast state or a lookup
/// join against a table): every partition holds the whole table in its
/// backend, under one state, and enriches records by point lookups (served
/// by the value state's write-back cache after the first read).
///
/// The table is part of the partition's state, so checkpoints hold it and a
/// restart restores it; `loadIfEmpty` fills it once.
///
/// Thread safety: the backend's thread.
public final class LookupTable<KeyCodec: StateCodec, ValueCodec: StateCodec> {
    private let backend: StateBackend
    private let keyCodec: KeyCodec
    private let values: ValueState<ValueCodec>
    private let marker: ValueState<BoolCodec>
    private static var markerKey: StateKey { StateKey(keyGroup: 0, encoded: []) }

    /// The table named `name` in `backend` (states `<name>` and `<name>/loaded`).
    public init(backend: StateBackend, name: String, keyCodec: KeyCodec, valueCodec: ValueCodec) throws {
        self.backend = backend
        self.keyCodec = keyCodec
        values = try backend.valueState(StateDescriptor(name), valueCodec: valueCodec)
        marker = try backend.valueState(StateDescriptor("\(name)/loaded"), valueCodec: BoolCodec())
    }

    /// Fills the table from `rows` unless it was filled before (restarts
    /// find it in their checkpoint). Returns whether it loaded now.
    @discardableResult
    public func loadIfEmpty(_ rows: some Sequence<(KeyCodec.Value, ValueCodec.Value)>) throws -> Bool {
        try loadIfEmpty { rows }
    }

    /// `loadIfEmpty`, calling `rows` only when the table is empty.
    @discardableResult
    package func loadIfEmpty<Rows: Sequence<(KeyCodec.Value, ValueCodec.Value)>>(
        _ rows: () throws -> Rows
    ) throws -> Bool {
        if try marker.value(for: Self.markerKey) == true { return false }
        for (key, value) in try rows() { try put(key, value) }
        try marker.update(true, for: Self.markerKey)
        return true
    }

    /// Sets one row.
    public func put(_ key: KeyCodec.Value, _ value: ValueCodec.Value) throws {
        try values.update(value, for: backend.stateKey(key, codec: keyCodec))
    }

    /// The row for `key`, or nil.
    public func get(_ key: KeyCodec.Value) throws -> ValueCodec.Value? {
        try values.value(for: backend.stateKey(key, codec: keyCodec))
    }
}
