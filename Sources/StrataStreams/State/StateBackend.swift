import Foundation
import Strata

/// Options of a keyed state backend.
public struct StateBackendOptions: Sendable {
    /// Engine options. The backend sets `mergeOperator` and
    /// `compactionFilter` itself (list and aggregating states merge, TTL
    /// states expire); anything else is used as given.
    ///
    /// Default: the engine's defaults, except that state which is deleted
    /// leaves the disk soon (a job whose live state is bounded keeps a
    /// bounded disk footprint, docs/compaction.md):
    /// - `compactOnDeletion`: a table is compacted when 128 of 256
    ///   consecutive entries, or a quarter of all its entries, are
    ///   deletions (fired windows, timers, cleared map state), or when it
    ///   holds a range tombstone (a fired window's or timer bucket's
    ///   `deleteRange`);
    /// - `periodicCompactionSeconds` 30 days, so expired TTL entries go even
    ///   where no write reaches them (Flink's default
    ///   `state.backend.rocksdb.compaction.filter.periodic-compaction-time`).
    /// Replacing `engine` with `Options()` turns both off.
    public var engine: Options = {
        var o = Options()
        o.compactOnDeletion = CompactOnDeletionOptions(slidingWindowSize: 256, deletionTrigger: 128,
                                                       deletionRatio: 0.25, rangeDeletionTrigger: 1)
        o.periodicCompactionSeconds = 30 * 24 * 3600
        return o
    }()

    /// Number of key groups (Flink `maxParallelism`, default 128): a key's
    /// group is `XXPH3(key bytes) mod maxParallelism`; a range of groups is a
    /// contiguous key range, the unit for splitting state when rescaling.
    /// Must stay the same for the life of the state (1...32,768).
    public var maxParallelism: Int = 128

    /// Entries each write-back cache (value and aggregating states) holds
    /// before it writes them to the engine and starts over (default 262,144).
    /// Bounds memory: roughly this many keys × (key + value sizes) per state.
    public var writeBackCacheEntries: Int = 1 << 18

    /// Processing-time clock in epoch milliseconds for TTL (default: the
    /// system clock). Tests inject their own.
    public var clock: @Sendable () -> Int64 = {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// Write options for the backend's engine writes (default: WAL on, no sync —
    /// durability comes from checkpoints, as in Flink).
    public var writeOptions: WriteOptions = WriteOptions()

    public init() {}
}

/// Something that buffers writes in memory and must write them to the
/// engine before a checkpoint.
protocol WriteBackBuffer: AnyObject {
    /// Appends every buffered write to `batch` and empties the buffer.
    func drain(into batch: inout WriteBatch) throws
}

/// Keyed state over a Strata database: named states (value, list, map,
/// aggregating) and timer services, each one contiguous key range of the
/// layout `[state id][key group][key][namespace][user key]`.
///
/// Thread safety: not thread-safe. A backend and its states belong to one
/// thread (one partition of a pipeline), as a Flink keyed state backend
/// belongs to one task. The engine underneath is shared safely.
///
/// Durability: writes reach the engine (WAL on by default) either at once
/// (list, map, catalog) or when a write-back cache is drained (`flush()`,
/// `checkpoint(to:)`, or when a cache is full). A crash loses what was
/// still in caches; exactly-once pipelines recover from checkpoints.
public final class StateBackend {
    /// The engine. Reading it directly is fine; writing into the state
    /// key ranges behind the backend's back is not.
    public let database: Database
    @usableFromInline let options: StateBackendOptions
    /// `options.writeBackCacheEntries`, read per event by the caches
    /// (reading it through `options` copies the whole options value).
    @usableFromInline let writeBackCacheEntries: Int
    let registry: StateRegistry
    /// Drains the write-back buffers (`flush`), in registration order. A
    /// closure rather than `any WriteBackBuffer`, so a generic state's drain
    /// can be registered as code compiled for its concrete types.
    private var drains: [(inout WriteBatch) throws -> Void] = []
    private var closed = false

    /// Key groups: `maxParallelism`.
    public var maxParallelism: Int { options.maxParallelism }

    private init(database: Database, options: StateBackendOptions, registry: StateRegistry) {
        self.database = database
        self.options = options
        self.writeBackCacheEntries = options.writeBackCacheEntries
        self.registry = registry
    }

    /// Opens (creating if missing, per `options.engine.createIfMissing`) a
    /// state backend in `path` and reads its state catalog.
    /// Throws `.invalidArgument` for a bad `maxParallelism`, engine errors as they are.
    public static func open(at path: String, options: StateBackendOptions = StateBackendOptions()) throws -> StateBackend {
        try options.validate()
        let registry = StateRegistry(clock: options.clock)
        var engine = options.engine
        engine.mergeOperator = StateMergeOperator(registry: registry)
        engine.compactionFilter = StateTTLFilter(registry: registry)
        let database = try Database.open(at: path, options: engine)
        let backend = StateBackend(database: database, options: options, registry: registry)
        do {
            try backend.loadCatalog()
        } catch {
            try? database.close()
            throw error
        }
        return backend
    }

    private func loadCatalog() throws {
        let it = try database.makeIterator(options: ReadOptions(
            lowerBound: StateKeyLayout.stateLowerBound(StateRegistry.catalogID),
            upperBound: StateKeyLayout.stateUpperBound(StateRegistry.catalogID)))
        it.seekToFirst()
        while it.isValid {
            let nameBytes = it.key.dropFirst(2)
            guard let name = String(validating: nameBytes, as: UTF8.self) else {
                throw StrataError(.corruption, "state catalog: a state name is not UTF-8 (\(nameBytes.count) bytes)")
            }
            registry.record(name: name, entry: try StateCatalog.decode(name: name, it.value))
            it.next()
        }
        try it.status()
    }

    // MARK: Keys

    /// The stored form of a key: its encoding (length-prefixed when the
    /// codec is not fixed-width) and its key group.
    @inlinable
    public func stateKey<C: StateCodec>(_ key: C.Value, codec: C) -> StateKey {
        let encoded = StateKey.storedEncoding(of: key, codec: codec)
        return StateKey(keyGroup: keyGroup(ofEncoded: encoded), encoded: encoded)
    }

    /// The key group of a stored key encoding.
    @usableFromInline
    func keyGroup(ofEncoded encoded: [UInt8]) -> UInt16 {
        UInt16(XXPH3.hash64(encoded) % UInt64(options.maxParallelism))
    }

    /// Decodes a stored key back to its value. Throws `.corruption` when the
    /// bytes are not this codec's.
    public func decodeKey<C: StateCodec>(_ key: StateKey, codec: C) throws -> C.Value {
        try key.encoded.withUnsafeBytes { raw in
            if codec.fixedWidth != nil { return try codec.decode(raw) }
            let (length, prefix) = try KeyLengthPrefix.read(raw)
            guard prefix + length == raw.count else {
                throw StrataError(.corruption, "state key: length prefix says \(length) bytes, key has \(raw.count - prefix)")
            }
            return try codec.decode(UnsafeRawBufferPointer(rebasing: raw[prefix...]))
        }
    }

    // MARK: Declaring states

    /// The catalog entry for `descriptor` as `kind`, created on first use.
    /// Throws `.invalidArgument` when the name is taken by another kind.
    func declare(_ descriptor: StateDescriptor, kind: StateKind) throws -> StateRegistry.Entry {
        try checkOpen()
        let ttl = descriptor.ttl?.milliseconds
        if let ttl, ttl <= 0 {
            throw StrataError(.invalidArgument, "state '\(descriptor.name)': TTL \(ttl) ms, expected > 0")
        }
        if var existing = registry.entry(named: descriptor.name) {
            guard existing.kind == kind else {
                throw StrataError(.invalidArgument, "state '\(descriptor.name)' exists as \(existing.kind.name) state,"
                                  + " declared now as \(kind.name) state")
            }
            if existing.ttlMilliseconds != ttl {
                existing.ttlMilliseconds = ttl
                try database.put(StateCatalog.key(descriptor.name), StateCatalog.encode(existing), options: options.writeOptions)
                registry.record(name: descriptor.name, entry: existing)
            }
            return existing
        }
        let entry = StateRegistry.Entry(id: try registry.allocateID(), kind: kind, ttlMilliseconds: ttl)
        try database.put(StateCatalog.key(descriptor.name), StateCatalog.encode(entry), options: options.writeOptions)
        registry.record(name: descriptor.name, entry: entry)
        return entry
    }

    /// Declares an aggregating state (see `declare`); its id.
    @usableFromInline
    func declareAggregatingState(_ descriptor: StateDescriptor) throws -> UInt16 {
        try declare(descriptor, kind: .aggregating).id
    }

    func register(_ buffer: any WriteBackBuffer) { drains.append { batch in try buffer.drain(into: &batch) } }

    /// Registers a write-back buffer by its drain (see `drains`).
    @usableFromInline
    func registerDrain(_ drain: @escaping (inout WriteBatch) throws -> Void) { drains.append(drain) }

    /// Registers the engine-side merge of aggregating state `id`'s encoded
    /// accumulators (the merge operator and compaction call it).
    @usableFromInline
    func setAccumulatorMerger(
        _ merger: @escaping @Sendable (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> [UInt8], for id: UInt16
    ) {
        registry.setMerger(merger, for: id)
    }

    /// A value state: one engine entry per (key, namespace).
    public func valueState<V: StateCodec>(_ descriptor: StateDescriptor, valueCodec: V) throws -> ValueState<V> {
        let entry = try declare(descriptor, kind: .value)
        let state = ValueState(backend: self, name: descriptor.name, id: entry.id, ttl: entry.ttlMilliseconds, codec: valueCodec)
        register(state)
        return state
    }

    /// A list state: appends are merge operands (no read-modify-write).
    public func listState<V: StateCodec>(_ descriptor: StateDescriptor, elementCodec: V) throws -> ListState<V> {
        guard descriptor.ttl == nil else {
            throw StrataError(.notSupported, "state '\(descriptor.name)': TTL on list state is not supported;"
                              + " use timers to clear it, or a map state with TTL")
        }
        let entry = try declare(descriptor, kind: .list)
        let state = ListState(backend: self, name: descriptor.name, id: entry.id, codec: elementCodec)
        register(state)
        return state
    }

    /// A map state: one engine entry per map key, under the (key, namespace) prefix.
    public func mapState<K: StateCodec, V: StateCodec>(_ descriptor: StateDescriptor, keyCodec: K,
                                                       valueCodec: V) throws -> MapState<K, V> {
        let entry = try declare(descriptor, kind: .map)
        let state = MapState(backend: self, name: descriptor.name, id: entry.id, ttl: entry.ttlMilliseconds,
                             keyCodec: keyCodec, valueCodec: valueCodec)
        register(state)
        return state
    }

    /// An aggregating state: `add` folds inputs into a cached delta
    /// accumulator, written to the engine as merge operands.
    @inlinable
    public func aggregatingState<F: AggregateFunction>(_ descriptor: StateDescriptor,
                                                       function: F) throws -> AggregatingState<F> {
        guard descriptor.ttl == nil else {
            throw StrataError(.notSupported, "state '\(descriptor.name)': TTL on aggregating state is not supported;"
                              + " clear it with timers")
        }
        let id = try declareAggregatingState(descriptor)
        let codec = function.accumulatorCodec
        setAccumulatorMerger({ a, b in
            let merged = function.merge(try codec.decode(a), try codec.decode(b))
            return codec.encoded(merged)
        }, for: id)
        let state = AggregatingState(backend: self, name: descriptor.name, id: id, function: function)
        registerDrain { batch in try state.drain(into: &batch) }
        return state
    }

    /// A timer service: timers ordered by timestamp in their own key range.
    public func timerService(named name: String) throws -> TimerService {
        let entry = try declare(StateDescriptor(name), kind: .timers)
        let service = TimerService(backend: self, name: name, id: entry.id)
        register(service)
        return service
    }

    // MARK: Maintenance

    /// Writes every write-back cache and pending timer change to the engine
    /// in one atomic batch. After it returns, the engine holds all state.
    public func flush() throws {
        try checkOpen()
        var batch = WriteBatch()
        for drain in drains { try drain(&batch) }
        if !batch.isEmpty { try database.write(batch, options: options.writeOptions) }
    }

    /// Flushes, then takes an engine checkpoint (hard-linked tables) in
    /// `path`: a consistent copy of all state, openable with `open(at:)`.
    @discardableResult
    public func checkpoint(to path: String) throws -> CheckpointResult {
        try flush()
        return try database.checkpoint(to: path)
    }

    /// Engine entries in a state's key range (a scan; timers count too).
    /// For tests and tools: "after the watermark passed every window, the
    /// state is empty". Flushes first so cached writes count.
    /// Throws `.invalidArgument` for an unknown name.
    public func entryCount(ofStateNamed name: String) throws -> Int {
        guard let entry = registry.entry(named: name) else {
            throw StrataError(.invalidArgument, "state backend: no state named '\(name)'")
        }
        try flush()
        return try entryCount(stateID: entry.id)
    }

    /// Engine entries in the key range of state `id` (a scan).
    func entryCount(stateID id: UInt16) throws -> Int {
        let it = try database.makeIterator(options: ReadOptions(
            lowerBound: StateKeyLayout.stateLowerBound(id), upperBound: StateKeyLayout.stateUpperBound(id)))
        var count = 0
        it.seekToFirst()
        while it.isValid {
            count += 1
            it.next()
        }
        try it.status()
        return count
    }

    /// Names of every state and timer service in the catalog, sorted.
    public var stateNames: [String] { registry.allEntries().map(\.0).sorted() }

    /// Flushes the caches and closes the engine. Further calls throw `.closed`.
    public func close() throws {
        guard !closed else { return }
        try flush()
        closed = true
        drains.removeAll()
        try database.close()
    }

    @usableFromInline
    func checkOpen() throws {
        if closed { throw StrataError(.closed, "state backend is closed") }
    }

    // MARK: Engine access for the states

    @usableFromInline
    func write(_ batch: WriteBatch) throws {
        try database.write(batch, options: options.writeOptions)
    }

    /// The processing time now (epoch ms), from `options.clock`.
    var now: Int64 { registry.clock() }
}

/// A state's name and optional TTL.
public struct StateDescriptor: Sendable {
    /// Unique within a backend; the catalog maps it to a stable state id.
    public var name: String
    /// Time to live, or nil to keep entries until cleared.
    public var ttl: StateTTL?

    public init(_ name: String, ttl: StateTTL? = nil) {
        self.name = name
        self.ttl = ttl
    }
}

/// Processing-time TTL, refreshed on every write (Flink
/// `StateTtlConfig.UpdateType.OnCreateAndWrite`, `NeverReturnExpired`):
/// an expired entry reads as absent at once, and compaction removes it.
public struct StateTTL: Sendable, Equatable {
    /// Lifetime after the last write, in milliseconds (> 0).
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
}
