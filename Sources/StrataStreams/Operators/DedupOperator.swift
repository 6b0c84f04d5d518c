import Strata

/// Which time a TTL runs on.
public enum TimeDomain: Sendable, Hashable {
    /// Event time: state expires when the watermark passes (timestamp + TTL).
    case eventTime
    /// Processing time: state expires TTL after it was written, by
    /// `StateBackendOptions.clock`.
    case processingTime
}

/// How a dedup operator decides "seen before".
public enum DedupMode: Sendable, Hashable {
    /// An engine-backed set: exact.
    case exact
    /// Exact, with an in-memory Bloom filter in front that answers "surely
    /// new" for most new keys without an engine lookup (its positives are
    /// checked in the engine, so answers stay exact). Sized by the keys
    /// expected per TTL and bits per key (10 → ~1% of new keys still looked up).
    case exactWithBloomFrontEnd(expectedKeysPerTTL: Int, bitsPerKey: Double)
    /// APPROXIMATE: answers from a Bloom filter alone, keeping no per-key
    /// state in the engine. A false positive DROPS A NEW EVENT as a
    /// duplicate, with probability about (1 − e^(−k·n/m))^k per new key
    /// (k probes, n keys, m bits; 10 bits per key: ~0.8%, 1% design) across
    /// the filter generations alive. Keep-first only. Its filter bits are
    /// written to the engine on every `StateBackend.flush()`, so it survives
    /// checkpoints and restarts.
    case approximateBloomOnly(expectedKeysPerTTL: Int, bitsPerKey: Double)
}

/// Keep the first event of a key within the TTL, or the last.
public enum DedupKeep: Sendable, Hashable {
    /// Emit the first event per key; drop later ones until the TTL passes
    /// (Flink `ROW_NUMBER() … = 1` ordered ascending).
    case first
    /// Emit every event not older than the latest kept one for its key, as
    /// an update that replaces it (Flink keep-last-row, upsert semantics:
    /// a sink keyed by the dedup key ends with the last event); older
    /// events are dropped as stale.
    case last
}

/// Options of a dedup operator.
public struct DedupOptions: Sendable, Hashable {
    /// First or last (default first).
    public var keep: DedupKeep = .first
    /// How long a key is remembered, ms (> 0).
    public var ttl: Int64
    /// Which time the TTL runs on (default event time).
    public var timeDomain: TimeDomain = .eventTime
    /// Exact (default) or with a Bloom filter.
    public var mode: DedupMode = .exact

    public init(ttl: Int64, keep: DedupKeep = .first, timeDomain: TimeDomain = .eventTime, mode: DedupMode = .exact) {
        self.ttl = ttl
        self.keep = keep
        self.timeDomain = timeDomain
        self.mode = mode
    }
}

/// What a dedup operator emits: an event, and — for keep-last — the
/// timestamp of the event it replaces (nil for the first of its key).
public struct DedupOutput<Key, Payload> {
    /// The kept event.
    public var event: Event<Key, Payload>
    /// Keep-last: the timestamp of the earlier kept event this one
    /// replaces; nil when it is the first of its key within the TTL.
    public var replacesTimestamp: Int64?

    @inlinable
    init(event: Event<Key, Payload>, replacesTimestamp: Int64?) {
        self.event = event
        self.replacesTimestamp = replacesTimestamp
    }
}

/// A dedup operator's verdict on one event, from its key and timestamp
/// alone (the part of `processElement` that needs no generic type).
@usableFromInline
enum DedupVerdict {
    /// Dropped: a duplicate, or stale (counted).
    case drop
    /// Emitted (counted); `replaces` is the kept timestamp it replaces.
    case emit(replaces: Int64?)
}

extension DedupOutput: Equatable where Key: Equatable, Payload: Equatable {}
extension DedupOutput: Sendable where Key: Sendable, Payload: Sendable {}

/// Counters of a dedup operator (since it was built).
public struct DedupStatistics: Sendable, Hashable {
    /// Events emitted.
    public var emitted = 0
    /// Events dropped as duplicates (keep-first).
    public var duplicates = 0
    /// Events dropped as older than the kept one (keep-last).
    public var stale = 0
    /// Engine lookups the Bloom filter front end made unnecessary.
    public var lookupsSkipped = 0
    /// Keys forgotten because their TTL passed: in event time, keys found
    /// expired when kept again plus the keys of each expiry bucket dropped
    /// (a bucket goes once the watermark passes every expiry in it, so a key
    /// is counted up to half a TTL after it expired; reads ignore it at
    /// once). Processing time: always 0 (entries expire by themselves).
    public var expired = 0
}

/// Deduplication per key within a TTL (operators.md "Dedup").
///
/// State (exact modes): one entry per key — the timestamp of the kept
/// event. In event time it lives in `<name>/kept`, grouped by expiry bucket
/// (half a TTL of expiry times per bucket, `ExpiryBucketedTimestamps`): a
/// key is forgotten at the first watermark ≥ kept timestamp + TTL that
/// follows its keeping (reads ignore it from then on), and a whole bucket is
/// removed with one range deletion once the watermark has passed every
/// expiry in it — no timer, read or delete per key. In processing time it
/// is a `ValueState` named `<name>/seen` whose values carry a TTL (hidden at
/// once when expired, removed by compaction). Both are write-back cached.
/// After the last watermark every key has expired: the state is empty.
///
/// Thread safety: one thread (the backend's).
public final class DedupOperator<KeyCodec: StateCodec, Payload> {
    public typealias Key = KeyCodec.Value

    @usableFromInline let backend: StateBackend
    @usableFromInline let keyCodec: KeyCodec
    /// The operator's name (prefix of its state names).
    public let name: String
    /// Its options.
    public let options: DedupOptions
    /// Processing time: the kept timestamps, with a TTL.
    private let seen: ValueState<Int64Codec>?
    /// Event time: the kept timestamps by expiry bucket.
    private let kept: ExpiryBucketedTimestamps?
    private let bloomState: ValueState<BytesCodec>?
    private var bloom: GenerationalBloom?
    @usableFromInline var output: [DedupOutput<Key, Payload>] = []
    /// The current watermark (`Int64.min` before the first).
    public private(set) var watermark: Int64 = .min
    /// Counters.
    public private(set) var statistics = DedupStatistics()

    /// Builds the operator over `backend`. Throws `.invalidArgument` for a
    /// TTL ≤ 0, a bad Bloom sizing, or keep-last with the approximate mode
    /// (it keeps no timestamps to compare).
    public init(backend: StateBackend, name: String, keyCodec: KeyCodec, options: DedupOptions) throws {
        guard options.ttl > 0 else { throw StrataError(.invalidArgument, "dedup '\(name)': TTL \(options.ttl) ms, expected > 0") }
        self.backend = backend
        self.keyCodec = keyCodec
        self.name = name
        self.options = options
        switch options.mode {
        case .exact:
            bloom = nil
        case .exactWithBloomFrontEnd(let keys, let bits), .approximateBloomOnly(let keys, let bits):
            guard keys > 0, bits >= 1, bits <= 64 else {
                throw StrataError(.invalidArgument, "dedup '\(name)': Bloom filter of \(keys) keys at \(bits) bits/key,"
                                  + " expected keys > 0 and 1...64 bits")
            }
            bloom = GenerationalBloom(keysPerGeneration: keys, bitsPerKey: bits)
        }
        if case .approximateBloomOnly = options.mode {
            guard options.keep == .first else {
                throw StrataError(.invalidArgument, "dedup '\(name)': keep-last needs exact state (the approximate mode keeps no timestamps)")
            }
            seen = nil
            kept = nil
            bloomState = try backend.valueState(StateDescriptor("\(name)/bloom"), valueCodec: BytesCodec())
            try loadBloom()
        } else {
            bloomState = nil
            if options.timeDomain == .processingTime {
                seen = try backend.valueState(StateDescriptor("\(name)/seen", ttl: StateTTL(milliseconds: options.ttl)),
                                              valueCodec: Int64Codec())
                kept = nil
                if bloom != nil { try rebuildBloomFromState() }
            } else {
                seen = nil
                // Exact with a front end: the filter must hold every live key
                // (a miss skips the engine), so it is rebuilt from the state.
                var rebuilt = bloom
                kept = try ExpiryBucketedTimestamps(backend: backend, name: "\(name)/kept", ttl: options.ttl) { key, expiry in
                    rebuilt?.insert(key, expiry: expiry)
                }
                bloom = rebuilt
                backend.register(kept!)
            }
        }
        if let bloomState { backend.register(BloomPersister(self, bloomState)) }
    }

    /// The names of the operator's states in its backend.
    public var stateNames: [String] {
        switch options.mode {
        case .approximateBloomOnly: ["\(name)/bloom"]
        default: options.timeDomain == .eventTime ? ["\(name)/kept"] : ["\(name)/seen"]
        }
    }

    private var now: Int64 { options.timeDomain == .eventTime ? watermark : backend.now }

    /// Processes one event: emits it (see `DedupKeep`) or counts it as a
    /// duplicate or stale.
    @inlinable
    public func processElement(_ event: Event<Key, Payload>) throws {
        // Inlinable and thin: the caller's specialized code encodes the key
        // and appends the output; the decision is made by non-generic code.
        let key = backend.stateKey(event.key, codec: keyCodec)
        if case .emit(let replaces) = try verdict(key: key, timestamp: event.timestamp) {
            output.append(DedupOutput(event: event, replacesTimestamp: replaces))
        }
    }

    /// Processes one event whose "seen before" identity is `stateKey`
    /// rather than its key's encoding (the job API's `dedup(by:)`: the
    /// partition key and an id within it, in the partition key's key
    /// group). The event is emitted unchanged.
    package func processElement(_ event: Event<Key, Payload>, stateKey: StateKey) throws {
        if case .emit(let replaces) = try verdict(key: stateKey, timestamp: event.timestamp) {
            output.append(DedupOutput(event: event, replacesTimestamp: replaces))
        }
    }

    /// Decides on an event of `key` at `timestamp`, updates the state and
    /// the counters (emitted included); the caller appends the output.
    @usableFromInline
    func verdict(key: StateKey, timestamp: Int64) throws -> DedupVerdict {
        if let kept { return try verdictEventTime(key: key, timestamp: timestamp, kept: kept) }
        let expiry = options.timeDomain == .eventTime ? timestamp &+ options.ttl : backend.now &+ options.ttl
        guard let seen else {
            // Approximate: the filter alone decides.
            if bloom!.mayContain(key.encoded) {
                statistics.duplicates += 1
                return .drop
            }
            bloom!.insert(key.encoded, expiry: expiry)
            statistics.emitted += 1
            return .emit(replaces: nil)
        }
        var stored: Int64? = nil
        if let bloom, !bloom.mayContain(key.encoded) {
            statistics.lookupsSkipped += 1
        } else {
            stored = try seen.value(for: key)
        }
        if isDropped(timestamp, stored: stored) { return .drop }
        try seen.update(timestamp, for: key)
        bloom?.insert(key.encoded, expiry: expiry)
        statistics.emitted += 1
        return .emit(replaces: stored)
    }

    /// True if an event at `timestamp` is dropped given the kept timestamp
    /// `stored` (nil: none kept): a duplicate under keep-first, an older
    /// event under keep-last; counted in `statistics`.
    private func isDropped(_ timestamp: Int64, stored: Int64?) -> Bool {
        switch options.keep {
        case .first:
            if stored != nil {
                statistics.duplicates += 1
                return true
            }
        case .last:
            if let stored, timestamp < stored {
                statistics.stale += 1
                return true
            }
        }
        return false
    }

    /// Event time, exact modes.
    private func verdictEventTime(key: StateKey, timestamp: Int64, kept: ExpiryBucketedTimestamps) throws -> DedupVerdict {
        var stored: Int64? = nil
        if let bloom, !bloom.mayContain(key.encoded) {
            statistics.lookupsSkipped += 1
        } else {
            stored = try kept.live(key)?.kept
        }
        if isDropped(timestamp, stored: stored) { return .drop }
        try kept.keep(timestamp, for: key)
        bloom?.insert(key.encoded, expiry: kept.expiry(keptAt: timestamp))
        statistics.expired = kept.expired
        statistics.emitted += 1
        return .emit(replaces: stored)
    }

    /// Advances event time: keys whose kept timestamp + TTL ≤ `watermark`
    /// are forgotten (their timers fire). A watermark not above the current one is ignored.
    public func processWatermark(_ watermark: Int64) throws {
        guard watermark > self.watermark else { return }
        self.watermark = watermark
        if let kept {
            kept.advance(to: watermark)
            statistics.expired = kept.expired
        }
        if options.timeDomain == .eventTime { bloom?.expire(upTo: watermark) }
    }

    /// Processing time moved (processing-time TTLs): drops Bloom filter
    /// generations whose keys all expired. State entries expire by themselves.
    public func advanceProcessingTime() {
        if options.timeDomain == .processingTime { bloom?.expire(upTo: backend.now) }
    }

    /// Outputs since the last call, in order.
    @inlinable
    public func takeOutput() -> [DedupOutput<Key, Payload>] {
        defer { output.removeAll(keepingCapacity: true) }
        return output
    }

    /// Bytes the Bloom filter holds (0 without one).
    public var bloomMemoryBytes: Int { bloom?.memoryBytes ?? 0 }

    // MARK: Bloom filter persistence and rebuild

    /// Processing time, exact mode with a front end: the filter must hold
    /// every key in state (a miss skips the engine), so it is rebuilt from
    /// the state on open.
    private func rebuildBloomFromState() throws {
        guard let seen else { return }
        let range = (StateKeyLayout.stateLowerBound(seen.id), StateKeyLayout.stateUpperBound(seen.id))
        let it = try backend.database.makeIterator(options: ReadOptions(lowerBound: range.0, upperBound: range.1))
        it.seekToFirst()
        while it.isValid {
            let key = it.key
            let encodedKey = Array(key[StateKeyLayout.headerSize...])
            var timestamp = Int64.max
            let value = it.value
            let body = seen.ttl != nil ? Array(value.dropFirst(8)) : value
            if let ts = try? Int64Codec().decode(body) { timestamp = ts }
            let expiry = seen.ttl != nil && value.count >= 8
                ? value.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
                : timestamp &+ options.ttl
            bloom!.insert(encodedKey, expiry: expiry)
            it.next()
        }
        try it.status()
    }

    /// Approximate mode: generations stored as `[probes 1][insertions 8 LE][max expiry 8 LE][words 8 LE each]`
    /// under keys 0, 1, … (2 bytes BE, key group 0) of `<name>/bloom`.
    private func loadBloom() throws {
        guard let bloomState else { return }
        var index: UInt16 = 0
        var generations: [GenerationalBloom.Generation] = []
        while let bytes = try bloomState.value(for: StateKey(keyGroup: 0, encoded: [UInt8(index >> 8), UInt8(index & 0xFF)])) {
            guard bytes.count >= 17, (bytes.count - 17) % 8 == 0 else {
                throw StrataError(.corruption, "dedup '\(name)': Bloom generation \(index) of \(bytes.count) bytes,"
                                  + " expected 17 + 8·n")
            }
            let (insertions, maxExpiry, words) = bytes.withUnsafeBytes { raw in
                (Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 1, as: Int64.self))),
                 Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 9, as: Int64.self)),
                 (0..<((bytes.count - 17) / 8)).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 17 + $0 * 8, as: UInt64.self)) })
            }
            generations.append(.init(filter: KeyBloomFilter(words: words, probes: Int(bytes[0]), insertions: insertions),
                                     maxExpiry: maxExpiry))
            index += 1
        }
        bloom!.restore(generations)
    }

    /// Writes the approximate mode's filter into `bloomState` (its cache;
    /// the backend's flush writes it to the engine right after).
    fileprivate func saveBloom(into state: ValueState<BytesCodec>, batch: inout WriteBatch) throws {
        guard let bloom else { return }
        var index: UInt16 = 0
        for generation in bloom.generations {
            var bytes: [UInt8] = [UInt8(generation.filter.probes)]
            withUnsafeBytes(of: Int64(generation.filter.insertions).littleEndian) { bytes.append(contentsOf: $0) }
            withUnsafeBytes(of: generation.maxExpiry.littleEndian) { bytes.append(contentsOf: $0) }
            bytes.reserveCapacity(17 + generation.filter.bits.count * 8)
            for word in generation.filter.bits { withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) } }
            try state.update(bytes, for: StateKey(keyGroup: 0, encoded: [UInt8(index >> 8), UInt8(index & 0xFF)]))
            index += 1
        }
        // Generations dropped since the last save.
        while try state.value(for: StateKey(keyGroup: 0, encoded: [UInt8(index >> 8), UInt8(index & 0xFF)])) != nil {
            try state.clear(for: StateKey(keyGroup: 0, encoded: [UInt8(index >> 8), UInt8(index & 0xFF)]))
            index += 1
        }
        try state.drain(into: &batch)
    }
}

/// Saves an approximate dedup's filter on every backend flush. Registered
/// after the operator's value state, so its writes join the same batch.
private final class BloomPersister<KeyCodec: StateCodec, Payload>: WriteBackBuffer {
    private weak var dedup: DedupOperator<KeyCodec, Payload>?
    private let state: ValueState<BytesCodec>

    init(_ dedup: DedupOperator<KeyCodec, Payload>, _ state: ValueState<BytesCodec>) {
        self.dedup = dedup
        self.state = state
    }

    func drain(into batch: inout WriteBatch) throws {
        try dedup?.saveBloom(into: state, batch: &batch)
    }
}

extension GenerationalBloom {
    /// Replaces the generations (restoring a saved filter).
    mutating func restore(_ saved: [Generation]) {
        self = GenerationalBloom(keysPerGeneration: keysPerGeneration, bitsPerKey: bitsPerKey, generations: saved)
    }
}

extension DedupOperator: StreamOperator {
    public typealias Input = Payload
    public typealias Output = DedupOutput<Key, Payload>
}
