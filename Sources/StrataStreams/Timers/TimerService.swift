import Strata

/// A timer: fires for `key` and `namespace` when time reaches `timestamp`.
public struct KeyedTimer: Hashable, Sendable, CustomStringConvertible {
    /// When it fires (event or processing time, by the service's use), ms.
    public var timestamp: Int64
    /// The key it belongs to.
    public var key: StateKey
    /// Its namespace (usually the window it cleans up or fires).
    public var namespace: Namespace

    public init(timestamp: Int64, key: StateKey, namespace: Namespace = .none) {
        self.timestamp = timestamp
        self.key = key
        self.namespace = namespace
    }

    public var description: String { "KeyedTimer(\(timestamp), group \(key.keyGroup), \(namespace))" }
}

/// Timers kept in the engine in timestamp order.
///
/// Layout: `[service id: 2 BE][timestamp: 8 BE, sign bit flipped][key group: 2 BE][key][namespace]`
/// → one byte, the namespace length. Because the timestamp comes first,
/// every timer due at a watermark is one forward range scan from the
/// service's first key, and firing removes them with point deletes in one
/// batch (up to 256) or one range delete (more).
///
/// Registrations and deletions are blind writes collected in a pending
/// batch, written before every scan and on `StateBackend.flush()` (so
/// registering a timer costs no engine call). Registering the same timer
/// twice stores it once.
///
/// Thread safety: owned by the backend's thread.
public final class TimerService: WriteBackBuffer {
    private unowned let backend: StateBackend
    /// The service's name in the state catalog.
    public let name: String
    let id: UInt16
    private var pending = WriteBatch()
    /// No timer below this timestamp is in the engine (all fired): scans
    /// start here, not at the first (deleted) timer key.
    private var scanFloor: Int64 = .min
    /// Pending writes before the batch is written on its own (bounds memory).
    private static let pendingLimit = 1 << 20
    /// Fired runs up to this many timers are removed with point deletes,
    /// larger ones with one range deletion.
    private static let pointDeleteLimit = 256
    /// Timers of the scan being delivered by `fire` that the handler has not
    /// seen yet. They are already deleted from the engine; registering one
    /// again must not deliver it twice, deleting one must skip it.
    private var inFlight: Set<KeyedTimer> = []
    /// A timer was registered at or below `scanFloor` since the last scan
    /// began: the next scan must start at the floor's timestamp prefix.
    private var registeredAtFloor = false

    init(backend: StateBackend, name: String, id: UInt16) {
        self.backend = backend
        self.name = name
        self.id = id
    }

    private func timestampPrefix(_ timestamp: Int64) -> [UInt8] {
        var out = StateKeyLayout.stateLowerBound(id)
        Int64Codec().encode(timestamp, into: &out)
        return out
    }

    private func engineKey(_ timer: KeyedTimer) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(12 + timer.key.encoded.count + timer.namespace.encodedCount)
        out.append(UInt8(id >> 8))
        out.append(UInt8(id & 0xFF))
        Int64Codec().encode(timer.timestamp, into: &out)
        out.append(UInt8(timer.key.keyGroup >> 8))
        out.append(UInt8(timer.key.keyGroup & 0xFF))
        out.append(contentsOf: timer.key.encoded)
        timer.namespace.encode(into: &out)
        return out
    }

    private func decode(key: [UInt8], value: [UInt8]) throws -> KeyedTimer {
        guard key.count >= 12, value.count == 1, value[0] == 0 || value[0] == 16, key.count >= 12 + Int(value[0]) else {
            throw StrataError(.corruption, "timer service '\(name)': entry with a \(key.count)-byte key and"
                              + " \(value.count)-byte value, expected ≥ 12 + namespace bytes and a 1-byte value of 0 or 16")
        }
        return try key.withUnsafeBytes { raw in
            let timestamp = try Int64Codec().decode(UnsafeRawBufferPointer(rebasing: raw[2..<10]))
            let group = UInt16(raw[10]) << 8 | UInt16(raw[11])
            let nsStart = key.count - Int(value[0])
            let namespace = try Namespace.decode(UnsafeRawBufferPointer(rebasing: raw[nsStart...]))
            return KeyedTimer(timestamp: timestamp, key: StateKey(keyGroup: group, encoded: Array(key[12..<nsStart])),
                         namespace: namespace)
        }
    }

    /// Registers a timer (idempotent). Durable once the pending batch is written.
    public func register(_ timer: KeyedTimer) throws {
        try backend.checkOpen()
        if !inFlight.isEmpty, inFlight.contains(timer) { return }   // about to fire anyway
        pending.put(engineKey(timer), [UInt8(timer.namespace.encodedCount)])
        if timer.timestamp <= scanFloor {
            scanFloor = timer.timestamp
            registeredAtFloor = true
        }
        if pending.count >= Self.pendingLimit { try writePending() }
    }

    /// Deletes a timer (nothing happens if it is not registered).
    public func delete(_ timer: KeyedTimer) throws {
        try backend.checkOpen()
        if !inFlight.isEmpty { inFlight.remove(timer) }
        pending.delete(engineKey(timer))
        if pending.count >= Self.pendingLimit { try writePending() }
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

    /// Fires every timer with timestamp ≤ `watermark`, in timestamp order,
    /// removing each from the engine before `body` sees it. Timers that
    /// `body` registers at or below the watermark fire in the same call
    /// (after the ones already due); each timer is delivered once, even if
    /// `body` registers it again while it waits its turn, and not at all if
    /// `body` deletes it first. If `body` throws, the timers of the current
    /// scan that it has not seen yet are registered again.
    public func fire(upTo watermark: Int64, _ body: (KeyedTimer) throws -> Void) throws {
        try backend.checkOpen()
        guard watermark >= scanFloor else { return }
        let upper = watermark == .max ? StateKeyLayout.stateUpperBound(id) : timestampPrefix(watermark + 1)
        // After a full run the next scan resumes just past its last key, not
        // at its timestamp (timers sharing a timestamp would be stepped over
        // again and again) — unless a handler registered a timer below it.
        var resume: (key: [UInt8], timestamp: Int64)? = nil
        while true {
            try writePending()
            let lower: [UInt8]
            if let resume, !registeredAtFloor { lower = resume.key } else { lower = timestampPrefix(scanFloor) }
            resume = nil
            registeredAtFloor = false
            var due: [KeyedTimer] = []
            var keys: [[UInt8]] = []
            let it = try backend.database.makeIterator(options: ReadOptions(lowerBound: lower, upperBound: upper))
            it.seekToFirst()
            while it.isValid && due.count < 4096 {
                let key = it.key
                due.append(try decode(key: key, value: it.value))
                keys.append(key)
                it.next()
            }
            try it.status()
            if due.isEmpty { break }
            if keys.count <= Self.pointDeleteLimit {
                // A few timers: point deletes in one batch. (Every range
                // tombstone makes the memtable re-fragment its tombstone list
                // on the next read; watermarks fire small batches often.)
                var batch = WriteBatch()
                for key in keys { batch.delete(key) }
                try backend.write(batch)
            } else {
                // Many: one tombstone for the whole scanned run, [first possible key, just past the last one].
                try backend.database.deleteRange(from: lower, to: keys[keys.count - 1] + [0],
                                                 options: backend.options.writeOptions)
            }
            if due.count < 4096 {
                scanFloor = watermark == .max ? .max : watermark + 1
            } else {
                scanFloor = due[due.count - 1].timestamp
                resume = (keys[keys.count - 1] + [0], scanFloor)
            }
            inFlight = Set(due)
            defer { inFlight.removeAll() }
            for (index, timer) in due.enumerated() {
                // Deleted by the handler of an earlier timer of this scan.
                guard inFlight.remove(timer) != nil else { continue }
                do {
                    try body(timer)
                } catch {
                    let undelivered = due[(index + 1)...].filter { inFlight.contains($0) }
                    inFlight.removeAll()
                    for rest in undelivered { try? register(rest) }
                    try? writePending()
                    throw error
                }
            }
        }
        if watermark == .max { scanFloor = .max } else { scanFloor = max(scanFloor, watermark + 1) }
    }

    /// The earliest registered timer's timestamp, or nil if none.
    public func nextTimestamp() throws -> Int64? {
        try backend.checkOpen()
        try writePending()
        let it = try backend.database.makeIterator(options: ReadOptions(
            lowerBound: timestampPrefix(scanFloor), upperBound: StateKeyLayout.stateUpperBound(id)))
        it.seekToFirst()
        if it.isValid { return try decode(key: it.key, value: it.value).timestamp }
        try it.status()
        return nil
    }

    /// Timers registered and not fired or deleted (a scan).
    public func count() throws -> Int {
        try backend.checkOpen()
        try writePending()
        return try backend.entryCount(stateID: id)
    }
}
