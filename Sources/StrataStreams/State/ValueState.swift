import Strata

/// The key of a write-back cache entry: a key and a namespace.
struct CacheKey: Hashable {
    var key: StateKey
    var namespace: Namespace
}

/// One value per (key, namespace).
///
/// Without a TTL, reads and writes go through a bounded write-back cache
/// (`StateBackendOptions.writeBackCacheEntries`): a read misses to the
/// engine once, updates and clears stay in memory until the backend is
/// flushed or the cache fills. With a TTL every call goes to the engine
/// (the value carries its expiry time in front: `[expiry ms: 8 LE][value]`).
///
/// Thread safety: owned by the backend's thread. Absent keys read as nil.
public final class ValueState<V: StateCodec>: WriteBackBuffer {
    private enum Slot {
        case clean(V.Value?)   // the engine holds this (nil: nothing)
        case dirty(V.Value)    // to be written
        case deleted           // to be deleted
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
        if ttl != nil {
            guard let stored = try backend.database.get(engineKey(key, namespace)) else { return nil }
            return try decodeExpiring(stored)
        }
        let cacheKey = CacheKey(key: key, namespace: namespace)
        if let slot = cache[cacheKey] {
            switch slot {
            case .clean(let v): return v
            case .dirty(let v): return v
            case .deleted: return nil
            }
        }
        let value = try backend.database.get(engineKey(key, namespace)).map { try codec.decode($0) }
        try makeRoom()
        cache[cacheKey] = .clean(value)
        return value
    }

    /// Sets the value (replacing any).
    public func update(_ value: V.Value, for key: StateKey, in namespace: Namespace = .none) throws {
        try backend.checkOpen()
        if let ttl {
            var stored: [UInt8] = []
            withUnsafeBytes(of: (backend.now + ttl).littleEndian) { stored.append(contentsOf: $0) }
            codec.encode(value, into: &stored)
            try backend.database.put(engineKey(key, namespace), stored, options: backend.options.writeOptions)
            return
        }
        let cacheKey = CacheKey(key: key, namespace: namespace)
        if cache[cacheKey] == nil { try makeRoom() }
        cache[cacheKey] = .dirty(value)
    }

    /// Removes the value; later reads return nil.
    public func clear(for key: StateKey, in namespace: Namespace = .none) throws {
        try backend.checkOpen()
        if ttl != nil {
            try backend.database.delete(engineKey(key, namespace), options: backend.options.writeOptions)
            return
        }
        let cacheKey = CacheKey(key: key, namespace: namespace)
        if case .clean(nil)? = cache[cacheKey] { return }
        if cache[cacheKey] == nil { try makeRoom() }
        cache[cacheKey] = .deleted
    }

    private func decodeExpiring(_ stored: [UInt8]) throws -> V.Value? {
        guard stored.count >= 8 else {
            throw StrataError(.corruption, "value state '\(name)': TTL value of \(stored.count) bytes, expected ≥ 8")
        }
        return try stored.withUnsafeBytes { raw in
            let expiry = Int64(littleEndian: raw.loadUnaligned(as: Int64.self))
            if expiry <= backend.now { return nil }
            return try codec.decode(UnsafeRawBufferPointer(rebasing: raw[8...]))
        }
    }

    /// Writes the cache out when it is full, so it stays bounded.
    private func makeRoom() throws {
        guard cache.count >= backend.options.writeBackCacheEntries else { return }
        var batch = WriteBatch()
        try drain(into: &batch)
        if !batch.isEmpty { try backend.write(batch) }
    }

    func drain(into batch: inout WriteBatch) throws {
        for (cacheKey, slot) in cache {
            switch slot {
            case .clean: break
            case .dirty(let v): batch.put(engineKey(cacheKey.key, cacheKey.namespace), codec.encoded(v))
            case .deleted: batch.delete(engineKey(cacheKey.key, cacheKey.namespace))
            }
        }
        cache.removeAll(keepingCapacity: true)
    }
}
