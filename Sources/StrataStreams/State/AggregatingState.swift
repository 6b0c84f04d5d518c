import Strata

/// An aggregate per (key, namespace), updated without reading.
///
/// `add` folds the input into a delta accumulator in a bounded write-back
/// cache; the cache is written to the engine as merge operands
/// (`0x02` + accumulator) when the backend flushes or the cache fills, and
/// the engine's merge operator folds operands with this function (on read
/// and in compaction). A read resolves the engine's value once and keeps
/// it. A window that is created, read and cleared between two flushes never
/// touches the engine beyond one (usually filter-answered) lookup.
///
/// Thread safety: owned by the backend's thread. Absent keys read as nil.
public final class AggregatingState<F: AggregateFunction>: WriteBackBuffer {
    /// What the engine holds for a cached key.
    @usableFromInline
    enum Base {
        case unknown               // not read yet
        case absent                // nothing
        case present(F.Accumulator)
        case deleted               // something, to be deleted at the next flush
    }

    @usableFromInline
    struct Slot {
        @usableFromInline var base: Base
        @usableFromInline var delta: F.Accumulator?

        @inlinable
        init(base: Base, delta: F.Accumulator?) {
            self.base = base
            self.delta = delta
        }

        @inlinable
        mutating func fold(_ input: F.Input, _ function: F) {
            if delta == nil { delta = function.createAccumulator() }
            function.add(input, to: &delta!)
        }

        @usableFromInline
        mutating func combine(_ acc: F.Accumulator, _ function: F) {
            if let sofar = delta { delta = function.merge(sofar, acc) } else { delta = acc }
        }
    }

    @usableFromInline unowned let backend: StateBackend
    /// The state's name in the catalog.
    public let name: String
    @usableFromInline let id: UInt16
    /// The aggregation.
    public let function: F
    @usableFromInline var cache: [CacheKey: Slot] = [:]

    @usableFromInline
    init(backend: StateBackend, name: String, id: UInt16, function: F) {
        self.backend = backend
        self.name = name
        self.id = id
        self.function = function
    }

    @usableFromInline
    func engineKey(_ key: CacheKey) -> [UInt8] {
        StateKeyLayout.prefix(stateID: id, key: key.key, namespace: key.namespace)
    }

    /// Folds `input` into the aggregate (no engine read or write).
    @inlinable
    public func add(_ input: F.Input, for key: StateKey, in namespace: Namespace = .none) throws {
        try backend.checkOpen()
        let cacheKey = CacheKey(key: key, namespace: namespace)
        try addInput(input, cacheKey)
    }

    @inlinable
    func addInput(_ input: F.Input, _ cacheKey: CacheKey) throws {
        if cache.count >= backend.writeBackCacheEntries, cache[cacheKey] == nil { try spill() }
        let function = self.function
        cache[cacheKey, default: Slot(base: .unknown, delta: nil)].fold(input, function)
    }

    /// The accumulator of everything added since the last clear, or nil if nothing was.
    @inlinable
    public func accumulator(for key: StateKey, in namespace: Namespace = .none) throws -> F.Accumulator? {
        try backend.checkOpen()
        let cacheKey = CacheKey(key: key, namespace: namespace)
        var slot = cache[cacheKey] ?? Slot(base: .unknown, delta: nil)
        if case .unknown = slot.base {
            slot.base = try readEngine(cacheKey)
            if cache[cacheKey] == nil { try spill() }
            cache[cacheKey] = slot
        }
        switch (slot.base, slot.delta) {
        case (.present(let base), let delta?): return function.merge(base, delta)
        case (.present(let base), nil): return base
        case (_, let delta): return delta
        }
    }

    /// The result of the aggregate, or nil if nothing was added since the last clear.
    @inlinable
    public func get(for key: StateKey, in namespace: Namespace = .none) throws -> F.Output? {
        try accumulator(for: key, in: namespace).map { function.result($0) }
    }

    /// Removes the aggregate.
    @inlinable
    public func clear(for key: StateKey, in namespace: Namespace = .none) throws {
        try backend.checkOpen()
        let cacheKey = CacheKey(key: key, namespace: namespace)
        if let slot = cache[cacheKey], case .absent = slot.base {
            cache[cacheKey] = nil        // the engine holds nothing: no write at all
            return
        }
        if cache[cacheKey] == nil { try spill() }
        cache[cacheKey] = Slot(base: .deleted, delta: nil)
    }

    /// Merges the aggregates of `sources` into `target` and clears the
    /// sources (session windows merging). Sources equal to `target` are skipped.
    public func mergeNamespaces(_ sources: [Namespace], into target: Namespace, for key: StateKey) throws {
        var merged: F.Accumulator? = nil
        for source in sources where source != target {
            if let acc = try accumulator(for: key, in: source) {
                if let sofar = merged { merged = function.merge(sofar, acc) } else { merged = acc }
            }
            try clear(for: key, in: source)
        }
        guard let merged else { return }
        let cacheKey = CacheKey(key: key, namespace: target)
        if cache[cacheKey] == nil { try spill() }
        let function = self.function
        cache[cacheKey, default: Slot(base: .unknown, delta: nil)].combine(merged, function)
    }

    @inlinable
    func readEngine(_ cacheKey: CacheKey) throws -> Base {
        guard let stored = try backend.database.get(engineKey(cacheKey)) else { return .absent }
        return .present(try decodeValue(stored))
    }

    /// Decodes a merged engine value (`0x00` + accumulator, or `0x03` + a run of them).
    @usableFromInline
    func decodeValue(_ stored: [UInt8]) throws -> F.Accumulator {
        let codec = function.accumulatorCodec
        return try stored.withUnsafeBytes { raw in
            guard let tag = raw.first else {
                throw StrataError(.corruption, "aggregating state '\(name)': empty value")
            }
            let body = UnsafeRawBufferPointer(rebasing: raw[1...])
            switch tag {
            case MergeEncoding.accumulatorValue, MergeEncoding.accumulatorOperand:
                return try codec.decode(body)
            case MergeEncoding.pendingAccumulators:
                var acc: F.Accumulator? = nil
                try MergeEncoding.forEachElement(body, what: "aggregating state '\(name)'") { part in
                    let next = try codec.decode(part)
                    if let sofar = acc { acc = function.merge(sofar, next) } else { acc = next }
                }
                return acc ?? function.createAccumulator()
            default:
                throw StrataError(.corruption, "aggregating state '\(name)': value tag \(tag), expected 0 or 3")
            }
        }
    }

    /// Keeps the cache bounded: when it is full, every change is written to
    /// the engine and a quarter of the entries whose engine value is then
    /// known stay cached.
    @inlinable
    func spill() throws {
        guard cache.count >= backend.writeBackCacheEntries else { return }
        var batch = WriteBatch()
        writeChanges(into: &batch, keepEvery: 4)
        if !batch.isEmpty { try backend.write(batch) }
    }

    /// Writes every change into `batch` (the backend's flush); entries whose
    /// engine value is known afterwards stay cached.
    @inlinable
    func drain(into batch: inout WriteBatch) throws {
        // A cache more than half full keeps half, so the next inserts do
        // not run straight into `makeRoom` (keys that are not read again,
        // as in a dedup of unique ids, would only cost a scan there).
        writeChanges(into: &batch, keepEvery: cache.count > backend.writeBackCacheEntries / 2 ? 2 : 1)
    }

    @inlinable
    func writeChanges(into batch: inout WriteBatch, keepEvery: Int) {
        let codec = function.accumulatorCodec
        var bytes: [UInt8] = []
        var kept: [CacheKey: Slot] = [:]
        kept.reserveCapacity(cache.count / keepEvery + 1)
        var index = 0
        for (cacheKey, slot) in cache {
            bytes.removeAll(keepingCapacity: true)
            var after: Base? = nil      // the engine's value once the batch is written, if known
            switch (slot.base, slot.delta) {
            case (.unknown, let delta?):
                bytes.append(MergeEncoding.accumulatorOperand)
                codec.encode(delta, into: &bytes)
                batch.merge(engineKey(cacheKey), bytes)
            case (.present(let base), let delta?):
                let merged = function.merge(base, delta)
                bytes.append(MergeEncoding.accumulatorValue)
                codec.encode(merged, into: &bytes)
                batch.put(engineKey(cacheKey), bytes)
                after = .present(merged)
            case (.absent, let delta?), (.deleted, let delta?):
                bytes.append(MergeEncoding.accumulatorValue)
                codec.encode(delta, into: &bytes)
                batch.put(engineKey(cacheKey), bytes)
                after = .present(delta)
            case (.deleted, nil):
                batch.delete(engineKey(cacheKey))
                after = .absent
            case (.absent, nil), (.present, nil):
                after = slot.base
            case (.unknown, nil):
                break
            }
            if let after {
                if index % keepEvery == 0 { kept[cacheKey] = Slot(base: after, delta: nil) }
                index += 1
            }
        }
        cache = kept
    }
}
