import Strata

/// The key of a write-back cache entry: a key and a namespace.
@usableFromInline
struct CacheKey: Hashable {
    @usableFromInline var key: StateKey
    @usableFromInline var namespace: Namespace

    @inlinable
    init(key: StateKey, namespace: Namespace) {
        self.key = key
        self.namespace = namespace
    }
}

/// One value per (key, namespace).
///
/// Reads and writes go through a bounded write-back cache
/// (`StateBackendOptions.writeBackCacheEntries`): a read misses to the
/// engine once, updates and clears stay in memory until the backend is
/// flushed or the cache fills. With a TTL the value carries its expiry time
/// in front (`[expiry ms: 8 LE][value]`, set to now + TTL on every update);
/// an expired value reads as nil at once, in the cache and in the engine,
/// and compaction removes it from the engine.
///
/// Thread safety: owned by the backend's thread. Absent keys read as nil.
public final class ValueState<V: StateCodec>: WriteBackBuffer {
    private enum Slot {
        case clean(V.Value?, expiry: Int64)   // the engine holds this (nil: nothing)
        case dirty(V.Value, expiry: Int64)    // to be written
        case deleted                          // to be deleted
    }

    private unowned let backend: StateBackend
    /// The state's name in the catalog.
    public let name: String
    let id: UInt16
    let ttl: Int64?
    let codec: V
    private var cache: [CacheKey: Slot] = [:]

    init(backend: StateBackend, name: String, id: UInt16, ttl: Int64?, codec: V) {
        self.backend = backend
        self.name = name
        self.id = id
        self.ttl = ttl
        self.codec = codec
    }

    private func engineKey(_ key: StateKey, _ namespace: Namespace) -> [UInt8] {
        StateKeyLayout.prefix(stateID: id, key: key, namespace: namespace)
    }

    /// The value for `key` in `namespace`, or nil if none was set, it was
    /// cleared, or (with a TTL) it expired.
    public func value(for key: StateKey, in namespace: Namespace = .none) throws -> V.Value? {
        try backend.checkOpen()
        let cacheKey = CacheKey(key: key, namespace: namespace)
        if let slot = cache[cacheKey] {
            switch slot {
            case .clean(let v, let expiry): return live(v, expiry)
            case .dirty(let v, let expiry): return live(v, expiry)
            case .deleted: return nil
            }
        }
        var value: V.Value? = nil
        var expiry = Int64.max
        if let stored = try backend.database.get(engineKey(key, namespace)) {
            try stored.withUnsafeBytes { raw in
                var body = raw
                if ttl != nil {
                    guard raw.count >= 8 else {
                        throw StrataError(.corruption, "value state '\(name)': TTL value of \(raw.count) bytes, expected ≥ 8")
                    }
                    expiry = Int64(littleEndian: raw.loadUnaligned(as: Int64.self))
                    body = UnsafeRawBufferPointer(rebasing: raw[8...])
                }
                value = try codec.decode(body)
            }
        }
        try makeRoom()
        cache[cacheKey] = .clean(value, expiry: expiry)
        return live(value, expiry)
    }

    @inline(__always)
    private func live(_ value: V.Value?, _ expiry: Int64) -> V.Value? {
        if ttl != nil, expiry <= backend.now { return nil }
        return value
    }

    /// Sets the value (replacing any); with a TTL, it lives until now + TTL.
    public func update(_ value: V.Value, for key: StateKey, in namespace: Namespace = .none) throws {
        try backend.checkOpen()
        let cacheKey = CacheKey(key: key, namespace: namespace)
        if cache[cacheKey] == nil { try makeRoom() }
        cache[cacheKey] = .dirty(value, expiry: ttl.map { backend.now + $0 } ?? .max)
    }

    /// Removes the value; later reads return nil.
    public func clear(for key: StateKey, in namespace: Namespace = .none) throws {
        try backend.checkOpen()
        let cacheKey = CacheKey(key: key, namespace: namespace)
        if case .clean(nil, _)? = cache[cacheKey] { return }
        if cache[cacheKey] == nil { try makeRoom() }
        cache[cacheKey] = .deleted
    }

    /// Keeps the cache bounded: when it is full, every change is written to
    /// the engine and three quarters of the (now clean) entries are dropped,
    /// so the rest still answers reads.
    private func makeRoom() throws {
        guard cache.count >= backend.writeBackCacheEntries else { return }
        var batch = WriteBatch()
        writeChanges(into: &batch, keepEvery: 4)
        if !batch.isEmpty { try backend.write(batch) }
    }

    /// Writes every change into `batch` (the backend's flush); the entries
    /// stay cached, clean, so reads after a checkpoint still hit.
    func drain(into batch: inout WriteBatch) throws {
        // A cache more than half full keeps half, so the next inserts do
        // not run straight into `makeRoom` (keys that are not read again,
        // as in a dedup of unique ids, would only cost a scan there).
        writeChanges(into: &batch, keepEvery: cache.count > backend.writeBackCacheEntries / 2 ? 2 : 1)
    }

    /// Appends the puts and deletes of dirty entries to `batch` and keeps
    /// every `keepEvery`-th entry, marked clean.
    private func writeChanges(into batch: inout WriteBatch, keepEvery: Int) {
        var bytes: [UInt8] = []
        let now = backend.now
        var kept: [CacheKey: Slot] = [:]
        kept.reserveCapacity(cache.count / keepEvery + 1)
        var index = 0
        for (cacheKey, slot) in cache {
            let clean: Slot
            switch slot {
            case .clean:
                clean = slot
            case .dirty(let v, let expiry) where ttl != nil && expiry <= now:
                // Expired before it was written: anything older in the
                // engine expired earlier still, so nothing needs writing.
                clean = .clean(v, expiry: expiry)
            case .dirty(let v, let expiry):
                bytes.removeAll(keepingCapacity: true)
                if ttl != nil { withUnsafeBytes(of: expiry.littleEndian) { bytes.append(contentsOf: $0) } }
                codec.encode(v, into: &bytes)
                batch.put(engineKey(cacheKey.key, cacheKey.namespace), bytes)
                clean = .clean(v, expiry: expiry)
            case .deleted:
                batch.delete(engineKey(cacheKey.key, cacheKey.namespace))
                clean = .clean(nil, expiry: .max)
            }
            if index % keepEvery == 0 { kept[cacheKey] = clean }
            index += 1
        }
        cache = kept
    }
}
