import Strata

/// A map per (key, namespace): one engine entry per map key, under the
/// prefix `[state id][key group][key][namespace]`, so the whole map is one
/// contiguous key range (iterated in map-key byte order, cleared with one
/// range delete).
///
/// With a TTL each entry carries its expiry in front of the value
/// (`[expiry ms: 8 LE][value]`), refreshed on `put`; expired entries read
/// as absent at once and are removed by compaction.
/// Writes are blind, so they collect in a pending batch written before the
/// next read of this state, when it reaches 1 MiB, and on the backend's flush.
///
/// Thread safety: owned by the backend's thread. Absent map keys read as nil.
public final class MapState<K: StateCodec, V: StateCodec>: WriteBackBuffer {
    private unowned let backend: StateBackend
    /// The state's name in the catalog.
    public let name: String
    let id: UInt16
    let ttl: Int64?
    let keyCodec: K
    let valueCodec: V
    private var pending = WriteBatch()

    init(backend: StateBackend, name: String, id: UInt16, ttl: Int64?, keyCodec: K, valueCodec: V) {
        self.backend = backend
        self.name = name
        self.id = id
        self.ttl = ttl
        self.keyCodec = keyCodec
        self.valueCodec = valueCodec
    }

    private func entryKey(_ mapKey: K.Value, _ key: StateKey, _ namespace: Namespace) -> [UInt8] {
        var out = StateKeyLayout.prefix(stateID: id, key: key, namespace: namespace)
        keyCodec.encode(mapKey, into: &out)
        return out
    }

    /// Decodes a stored value; nil when its TTL has passed.
    private func decodeValue(_ raw: UnsafeRawBufferPointer, now: Int64) throws -> V.Value? {
        guard ttl != nil else { return try valueCodec.decode(raw) }
        guard raw.count >= 8 else {
            throw StrataError(.corruption, "map state '\(name)': TTL value of \(raw.count) bytes, expected ≥ 8")
        }
        if Int64(littleEndian: raw.loadUnaligned(as: Int64.self)) <= now { return nil }
        return try valueCodec.decode(UnsafeRawBufferPointer(rebasing: raw[8...]))
    }

    /// The value under `mapKey`, or nil if absent (or expired).
    public func get(_ mapKey: K.Value, for key: StateKey, in namespace: Namespace = .none) throws -> V.Value? {
        try backend.checkOpen()
        try writePending()
        guard let stored = try backend.database.get(entryKey(mapKey, key, namespace)) else { return nil }
        let now = backend.now
        return try stored.withUnsafeBytes { try decodeValue($0, now: now) }
    }

    /// Whether `mapKey` is present (and not expired).
    public func contains(_ mapKey: K.Value, for key: StateKey, in namespace: Namespace = .none) throws -> Bool {
        try get(mapKey, for: key, in: namespace) != nil
    }

    /// Sets `mapKey` to `value`.
    public func put(_ mapKey: K.Value, _ value: V.Value, for key: StateKey, in namespace: Namespace = .none) throws {
        try backend.checkOpen()
        var stored: [UInt8] = []
        if let ttl { withUnsafeBytes(of: (backend.now + ttl).littleEndian) { stored.append(contentsOf: $0) } }
        valueCodec.encode(value, into: &stored)
        pending.put(entryKey(mapKey, key, namespace), stored)
        try bound()
    }

    /// Removes `mapKey` (nothing happens if absent).
    public func remove(_ mapKey: K.Value, for key: StateKey, in namespace: Namespace = .none) throws {
        try backend.checkOpen()
        pending.delete(entryKey(mapKey, key, namespace))
        try bound()
    }

    /// Every live entry in map-key byte order (numeric order for the
    /// order-preserving integer codecs).
    public func entries(for key: StateKey, in namespace: Namespace = .none) throws -> [(K.Value, V.Value)] {
        var out: [(K.Value, V.Value)] = []
        try forEach(for: key, in: namespace) { k, v in
            out.append((k, v))
            return true
        }
        return out
    }

    /// Calls `body` with each live entry in map-key byte order until it
    /// returns false, starting at the first map key whose encoding is ≥
    /// that of `start` (all entries when nil).
    public func forEach(for key: StateKey, in namespace: Namespace = .none, from start: K.Value? = nil,
                        _ body: (K.Value, V.Value) throws -> Bool) throws {
        try backend.checkOpen()
        try writePending()
        let prefix = StateKeyLayout.prefix(stateID: id, key: key, namespace: namespace)
        let it = try backend.database.makeIterator(options: ReadOptions(
            lowerBound: prefix, upperBound: StateKeyLayout.prefixSuccessor(prefix)))
        let now = backend.now
        if let start {
            var target = prefix
            keyCodec.encode(start, into: &target)
            it.seek(target)
        } else {
            it.seekToFirst()
        }
        while it.isValid {
            let entryKey = it.key
            let mapKey = try entryKey.withUnsafeBytes { try keyCodec.decode(UnsafeRawBufferPointer(rebasing: $0[prefix.count...])) }
            if let value = try it.value.withUnsafeBytes({ try decodeValue($0, now: now) }) {
                if try !body(mapKey, value) { break }
            }
            it.next()
        }
        try it.status()
    }

    /// Whether the map has no live entry.
    public func isEmpty(for key: StateKey, in namespace: Namespace = .none) throws -> Bool {
        var empty = true
        try forEach(for: key, in: namespace) { _, _ in
            empty = false
            return false
        }
        return empty
    }

    /// Removes the whole map with one range delete.
    public func clear(for key: StateKey, in namespace: Namespace = .none) throws {
        try backend.checkOpen()
        let prefix = StateKeyLayout.prefix(stateID: id, key: key, namespace: namespace)
        // A prefix with no successor is impossible: it starts with a state id < 0xFFFF.
        let end = StateKeyLayout.prefixSuccessor(prefix) ?? StateKeyLayout.stateUpperBound(id)
        pending.deleteRange(from: prefix, to: end)
        try bound()
    }

    private func bound() throws {
        if pending.byteSize >= 1 << 20 { try writePending() }
    }

    private func writePending() throws {
        guard !pending.isEmpty else { return }
        try backend.write(pending)
        pending.clear()
    }

    func drain(into batch: inout WriteBatch) throws {
        batch.append(contentsOf: pending)
        pending.clear()
    }
}
