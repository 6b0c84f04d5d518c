/// Iterates the user-visible contents of a database: one entry per live user
/// key, with the value as of the iterator's snapshot, deletions and range
/// deletions applied, merge operands combined, within optional bounds.
///
/// Built on a merging iterator over every memtable and table (internal keys,
/// all versions). Moving forward, the internal iterator sits just after the
/// current key's entries; moving backward, just before them. Each step
/// collects one user key's visible entries and resolves them.
///
/// Thread safety: one thread at a time. The iterator pins the memtables and
/// table files it reads, so it sees a fixed state however long it lives.
public final class DBIterator {
    private let input: MergingIterator
    private let snapshot: UInt64
    /// Non-empty fragmented tombstone lists; an entry is covered by the newest of any.
    private let tombstones: [RangeTombstoneList]
    private let lowerBound: [UInt8]?
    private let upperBound: [UInt8]?
    private let mergeOperator: (any MergeOperator)?
    private let pin: AnyObject
    private let snapshotHandle: Snapshot?

    @exclusivity(unchecked)
    private var forward = true
    @exclusivity(unchecked)
    private var valid = false
    @exclusivity(unchecked)
    private var currentKey: [UInt8] = []
    @exclusivity(unchecked)
    private var currentValue: [UInt8] = []
    @exclusivity(unchecked)
    private var failure: Error?
    @exclusivity(unchecked)
    private var scratch: [UInt8] = []
    /// Reused between steps (see `findNextVisible`).
    @exclusivity(unchecked)
    private var keyBuffer: [UInt8] = []
    @exclusivity(unchecked)
    private var valueBuffer: [UInt8] = []
    /// Moving forward in the common case (the key's newest entry is a
    /// value the snapshot sees, no range tombstones): the input sits *on*
    /// that entry and the current key and value are its views, copied
    /// into `currentKey`/`currentValue` only when `key`/`value` are read
    /// (`keyCopied`/`valueCopied`). `next()` steps over the key's older
    /// entries. Otherwise `currentKey`/`currentValue` always hold the entry.
    @exclusivity(unchecked)
    private var onEntry = false
    @exclusivity(unchecked)
    private var keyCopied = false
    @exclusivity(unchecked)
    private var valueCopied = false

    init(input: MergingIterator, snapshot: UInt64, tombstones: [RangeTombstoneList], lowerBound: [UInt8]?,
         upperBound: [UInt8]?, mergeOperator: (any MergeOperator)?, pin: AnyObject, snapshotHandle: Snapshot?) {
        self.input = input
        self.snapshot = snapshot
        self.tombstones = tombstones
        self.lowerBound = lowerBound
        self.upperBound = upperBound
        self.mergeOperator = mergeOperator
        self.pin = pin
        self.snapshotHandle = snapshotHandle
    }

    /// True when positioned on an entry.
    public var isValid: Bool { valid }
    /// The current key. Requires `isValid`.
    public var key: [UInt8] {
        if onEntry && !keyCopied {
            currentKey.assign(InternalKey.userKey(input.key))
            keyCopied = true
        }
        return currentKey
    }

    /// The current value. Requires `isValid`.
    public var value: [UInt8] {
        if onEntry && !valueCopied {
            currentValue.assign(input.value)
            valueCopied = true
        }
        return currentValue
    }

    /// Calls `body` with the current key and value as views of the
    /// iterator's memory, without copying them (RocksDB's `key()` and
    /// `value()` slices). The views are valid only inside `body`: do not
    /// keep them, and do not move the iterator from `body`. Requires
    /// `isValid`. The cheapest way to read a long scan.
    public func withKeyAndValue<R>(_ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if onEntry { return try body(InternalKey.userKey(input.key), input.value) }
        return try currentKey.withUnsafeBytes { k in try currentValue.withUnsafeBytes { v in try body(k, v) } }
    }

    /// Throws the first corruption or I/O error the iteration met (after
    /// which `isValid` is false); returns normally otherwise.
    public func status() throws {
        if let failure { throw failure }
        if let e = input.error { throw e }
    }

    // MARK: Positioning

    /// Positions at the first key (≥ the lower bound).
    public func seekToFirst() {
        if let lowerBound { return seek(lowerBound) }
        forward = true
        input.seekToFirst()
        findNextVisible()
    }

    /// Positions at the last key (< the upper bound).
    public func seekToLast() {
        forward = false
        if let upperBound {
            seekInternal(upperBound, sequence: maxSequenceNumber)
            if input.isValid { input.prev() } else { input.seekToLast() }
        } else {
            input.seekToLast()
        }
        findPrevVisible()
    }

    /// Positions at the first key ≥ `target` (clamped to the lower bound).
    public func seek(_ target: [UInt8]) {
        var t = target
        if let lowerBound, Bytewise.compare(t, lowerBound) < 0 { t = lowerBound }
        forward = true
        seekInternal(t, sequence: maxSequenceNumber)
        findNextVisible()
    }

    /// Positions at the last key ≤ `target` (clamped to the upper bound).
    public func seekForPrev(_ target: [UInt8]) {
        if let upperBound, Bytewise.compare(target, upperBound) >= 0 { return seekToLast() }
        forward = false
        // The last internal entry of `target` is (target, seq 0, type 0).
        scratch.removeAll(keepingCapacity: true)
        target.withUnsafeBytes { InternalKey.append(to: &scratch, userKey: $0, sequence: 0, type: 0) }
        scratch.withUnsafeBytes { input.seekForPrev($0) }
        findPrevVisible()
    }

    /// Moves to the next key. Requires `isValid`.
    public func next() {
        guard valid else { return }
        if onEntry {
            // Step over the current key's older entries (hidden by it).
            onEntry = false
            keyBuffer.assign(InternalKey.userKey(input.key))
            input.next()
            keyBuffer.withUnsafeBytes { skipUserKey($0) }
        } else if !forward {
            // The input sits before the current key: move past its entries.
            forward = true
            let key = currentKey
            seekInternal(key, sequence: maxSequenceNumber)
            key.withUnsafeBytes { skipUserKey($0) }
        }
        findNextVisible()
    }

    /// Moves to the previous key. Requires `isValid`.
    public func prev() {
        guard valid else { return }
        if forward {
            // The input sits on or after the current key: go to just before it.
            forward = false
            let current = key
            onEntry = false
            seekInternal(current, sequence: maxSequenceNumber)
            if input.isValid { input.prev() } else { input.seekToLast() }
        }
        findPrevVisible()
    }

    // MARK: Internals

    private func seekInternal(_ userKey: [UInt8], sequence: UInt64) {
        scratch.removeAll(keepingCapacity: true)
        userKey.withUnsafeBytes { InternalKey.append(to: &scratch, userKey: $0, sequence: sequence, type: ValueType.forSeekCode) }
        scratch.withUnsafeBytes { input.seek($0) }
    }

    /// Steps the input over the entries of `userKey` (a key shorter than
    /// its trailer is left for `findNextVisible` to report).
    private func skipUserKey(_ userKey: UnsafeRawBufferPointer) {
        while input.isValid {
            let key = input.key
            guard key.count >= 8, Bytewise.equal(InternalKey.userKey(key), userKey) else { return }
            input.next()
        }
    }

    private func stop(_ error: Error? = nil) {
        valid = false
        onEntry = false
        if let error, failure == nil { failure = error }
    }

    /// The newest range tombstone covering `userKey` at the snapshot (0: none).
    @inline(__always)
    private func coveringSequence(_ userKey: [UInt8]) -> UInt64 {
        var newest: UInt64 = 0
        for list in tombstones { newest = max(newest, list.maxCoveringSequence(userKey, snapshot: snapshot)) }
        return newest
    }

    /// Resolves user keys going forward until one is visible. The common
    /// case — the newest visible entry is a plain value — copies key and
    /// value into buffers reused from step to step (swapped with the
    /// current ones), so a step allocates nothing unless the caller still
    /// holds the previous `key`/`value`.
    private func findNextVisible() {
        onEntry = false
        while input.isValid {
            let first = input.key
            guard first.count >= 8 else { return stop(StrataError.corruption("internal key too short")) }
            let firstUserKey = InternalKey.userKey(first)
            if let upperBound, upperBound.withUnsafeBytes({ Bytewise.compare(firstUserKey, $0) >= 0 }) { return stop() }
            // The common case first: no range tombstones anywhere and the
            // newest entry of the key a value the snapshot sees. It is the
            // answer whatever follows (older entries are hidden by it): stay
            // on it, copy nothing yet (see `onEntry`).
            if tombstones.isEmpty, let newest = ParsedInternalKey(first),
               newest.typeCode == ValueType.value.rawValue, newest.sequence <= snapshot {
                onEntry = true
                keyCopied = false
                valueCopied = false
                valid = true
                return
            }
            keyBuffer.assign(firstUserKey)
            var state = LookupState(snapshot: snapshot)
            state.coveringTombstone = coveringSequence(keyBuffer)
            var plainValue = false
            // Entries of one user key come newest first.
            while input.isValid {
                guard let parsed = ParsedInternalKey(input.key) else { return stop(StrataError.corruption("internal key too short")) }
                if keyBuffer.withUnsafeBytes({ Bytewise.compare(parsed.userKey, $0) != 0 }) { break }
                if !state.isDone {
                    if parsed.typeCode == ValueType.value.rawValue && parsed.sequence <= snapshot
                        && parsed.sequence >= state.coveringTombstone && state.operands.isEmpty {
                        valueBuffer.assign(input.value)
                        state.markResolved()
                        plainValue = true
                    } else {
                        _ = state.add(parsed, input.value)
                    }
                }
                input.next()
            }
            if let e = input.error { return stop(e) }
            if plainValue {
                swap(&currentKey, &keyBuffer)
                swap(&currentValue, &valueBuffer)
                valid = true
                return
            }
            state.finish()
            do {
                if let value = try state.result(userKey: keyBuffer, mergeOperator: mergeOperator) {
                    swap(&currentKey, &keyBuffer)
                    currentValue = value
                    valid = true
                    return
                }
            } catch {
                return stop(error)
            }
        }
        if let e = input.error { return stop(e) }
        stop()
    }

    /// Resolves user keys going backward until one is visible.
    private func findPrevVisible() {
        onEntry = false
        while input.isValid {
            let userKey = Array(InternalKey.userKey(input.key))
            if let lowerBound, Bytewise.compare(userKey, lowerBound) < 0 { return stop() }
            if let upperBound, Bytewise.compare(userKey, upperBound) >= 0 {
                input.prev()
                continue
            }
            // Going backward, a key's entries come oldest first: collect them,
            // then resolve newest first.
            var entries: [(key: [UInt8], value: [UInt8])] = []
            while input.isValid {
                let k = input.key
                if userKey.withUnsafeBytes({ Bytewise.compare(InternalKey.userKey(k), $0) != 0 }) { break }
                if let parsed = ParsedInternalKey(k), parsed.sequence <= snapshot {
                    entries.append((Array(k), Array(input.value)))
                }
                input.prev()
            }
            if let e = input.error { return stop(e) }
            var state = LookupState(snapshot: snapshot)
            state.coveringTombstone = coveringSequence(userKey)
            for entry in entries.reversed() {
                let more = entry.key.withUnsafeBytes { k in
                    entry.value.withUnsafeBytes { v in state.add(ParsedInternalKey(k)!, v) }
                }
                if !more { break }
            }
            state.finish()
            do {
                if let value = try state.result(userKey: userKey, mergeOperator: mergeOperator) {
                    currentKey = userKey
                    currentValue = value
                    valid = true
                    return
                }
            } catch {
                return stop(error)
            }
        }
        if let e = input.error { return stop(e) }
        stop()
    }
}
