/// Filters and combines a sorted stream of internal entries into what must
/// survive a flush or compaction (RocksDB `CompactionIterator` with its
/// `MergeHelper`):
///
/// * Snapshots cut each user key's history into stripes: an entry belongs to
///   the stripe of the oldest snapshot that can see it (or to the "latest"
///   stripe above every snapshot). In each stripe only the newest entry is
///   visible to anyone, so once a value or deletion has been kept, older
///   entries of the same stripe are dropped.
/// * An entry covered by a range tombstone of its own stripe (tombstone
///   sequence above the entry's) is invisible to every reader that can see
///   it, and is dropped. Tombstones themselves are written by the caller.
/// * Merge operands (with a `mergeOperator`): consecutive operands of one
///   stripe are combined. If the stripe also holds a value or deletion below
///   them, or the output is the bottom of the LSM and nothing older of the
///   key exists, they are fully merged into one value carrying the newest
///   operand's sequence. Otherwise adjacent operands are partially merged
///   where the operator allows it and kept as operands. Nothing is ever
///   merged across a stripe (snapshot) boundary. Without a merge operator
///   operands pass through unchanged.
/// * A deletion in the oldest stripe is dropped when the output is the
///   bottom of the LSM for this key range (`bottommost`): nothing older can
///   exist that it would still have to hide.
/// * Compaction filter: called for values (`kTypeValue`) of the latest
///   stripe only, i.e. values no live snapshot can see. `.remove` turns the
///   value into a deletion (dropped altogether at the bottom when no
///   snapshot exists), `.change` replaces the value. Values a snapshot can
///   see, merge operands and full-merge results are never filtered.
///   (RocksDB 7.8 filters regardless of snapshots since 6.0; Strata keeps
///   snapshots repeatable instead. See docs/compaction.md.)
///
/// A full merge that fails (the operator returns nil) stops the iteration
/// with a `.corruption` error, as RocksDB fails such a compaction.
///
/// Memory: the operands of one key's stripe are held while merging them.
///
/// Thread safety: one thread at a time.
package final class CompactionIterator {
    private let input: any InternalIterator
    private let snapshots: [UInt64]
    private let bottommost: Bool
    private let mergeOperator: (any MergeOperator)?
    private let compactionFilter: (any CompactionFilter)?
    private let filterLevel: Int
    private let tombstones: RangeTombstoneList

    private var currentUserKey: [UInt8] = []
    private var hasCurrentUserKey = false
    private var currentStripe = -1
    private var stripeCompleted = false

    /// Entries produced here rather than passed through (merge results,
    /// filtered values), newest first, all of one user key.
    private var pending: [(key: [UInt8], value: [UInt8])] = []
    private var pendingIndex = 0
    private var fromPending = false
    private let keyScratch = ScratchBytes()
    private let valueScratch = ScratchBytes()
    /// The input's current key with its sequence set to 0 (see `zeroSequence`).
    private let zeroedKey = ScratchBytes()
    private var fromZeroed = false
    private var failure: StrataError?

    /// Entries dropped because a newer entry in their stripe hides them.
    package private(set) var droppedHidden: UInt64 = 0
    /// Deletions dropped at the bottom of the LSM.
    package private(set) var droppedDeletions: UInt64 = 0
    /// Entries dropped because a range tombstone of their stripe covers them.
    package private(set) var droppedCovered: UInt64 = 0
    /// Entries read from the input.
    package private(set) var inputEntries: UInt64 = 0
    /// Merge operands consumed by full or partial merges.
    package private(set) var mergedOperands: UInt64 = 0
    /// Values the compaction filter removed.
    package private(set) var filterRemoved: UInt64 = 0
    /// Values the compaction filter changed.
    package private(set) var filterChanged: UInt64 = 0
    /// Values written with sequence number 0 (bottommost, older than every snapshot).
    package private(set) var zeroedSequences: UInt64 = 0

    /// Filters `input`. `snapshots` are the live snapshot sequence numbers,
    /// ascending; `bottommost` says no older data for these keys exists
    /// outside the input. `mergeOperator` enables merging operands;
    /// `compactionFilter` is called with `filterLevel` (the output level);
    /// `tombstones` are the range tombstones of the input.
    package init(input: any InternalIterator, snapshots: [UInt64], bottommost: Bool,
                mergeOperator: (any MergeOperator)? = nil, compactionFilter: (any CompactionFilter)? = nil,
                filterLevel: Int = 0, tombstones: RangeTombstoneList = .empty) {
        self.input = input
        self.snapshots = snapshots
        self.bottommost = bottommost
        self.mergeOperator = mergeOperator
        self.compactionFilter = compactionFilter
        self.filterLevel = filterLevel
        self.tombstones = tombstones
    }

    /// True when positioned on an entry to output.
    package var isValid: Bool { failure == nil && (fromPending || input.isValid) }
    /// The entry's internal key. Requires `isValid`.
    package var key: UnsafeRawBufferPointer { fromPending ? keyScratch.bytes : (fromZeroed ? zeroedKey.bytes : input.key) }
    /// The entry's value. Requires `isValid`.
    package var value: UnsafeRawBufferPointer { fromPending ? valueScratch.bytes : input.value }
    /// The first error: the input's, or a failed merge.
    package var error: StrataError? { failure ?? input.error }

    /// Positions at the first entry to output.
    package func seekToFirst() {
        input.seekToFirst()
        hasCurrentUserKey = false
        pending.removeAll()
        fromPending = false
        skipDropped(advance: false)
    }

    /// Moves to the next entry to output.
    package func next() {
        if fromPending {
            pendingIndex += 1
            if pendingIndex < pending.count {
                loadPending()
                return
            }
            fromPending = false
            pending.removeAll(keepingCapacity: true)
            skipDropped(advance: false)
            return
        }
        guard input.isValid else { return }
        skipDropped(advance: true)
    }

    private func stripe(_ sequence: UInt64) -> Int {
        // First snapshot ≥ sequence (binary search).
        var lo = 0
        var hi = snapshots.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if snapshots[mid] < sequence { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The highest sequence a reader of stripe `s` can read at.
    private func stripeTop(_ s: Int) -> UInt64 { s < snapshots.count ? snapshots[s] : .max }

    /// True if a range tombstone of the entry's stripe covers it.
    private func isCovered(_ parsed: ParsedInternalKey, stripe s: Int) -> Bool {
        guard !tombstones.isEmpty else { return false }
        return tombstones.maxCoveringSequence(parsed.userKey, snapshot: stripeTop(s)) > parsed.sequence
    }

    private func isCurrentUserKey(_ userKey: UnsafeRawBufferPointer) -> Bool {
        hasCurrentUserKey && currentUserKey.withUnsafeBytes { Bytewise.compare(userKey, $0) == 0 }
    }

    private func emit(_ entries: [(key: [UInt8], value: [UInt8])]) {
        pending = entries
        pendingIndex = 0
        fromPending = true
        loadPending()
    }

    private func loadPending() {
        keyScratch.set(pending[pendingIndex].key)
        valueScratch.set(pending[pendingIndex].value)
    }

    /// True if a value of stripe `s` can be written with sequence 0 (RocksDB's
    /// `CompactionIterator::PrepareOutput`): at the bottom of the LSM, older
    /// than every snapshot, nothing older of the key remains, so the
    /// sequence tells no reader anything — and eight zero bytes per entry
    /// compress far better than a sequence number (about 7% smaller data
    /// blocks for db_bench's 16-byte keys and 100-byte values).
    private func zeroSequence(stripe s: Int) -> Bool { bottommost && s == 0 }

    /// Passes the input's current value through with sequence 0.
    private func passZeroed() {
        zeroedKey.setZeroingSequence(input.key)
        fromZeroed = true
        zeroedSequences += 1
    }

    private func skipDropped(advance: Bool) {
        fromZeroed = false
        if advance { input.next() }
        while input.isValid {
            inputEntries += 1
            guard let parsed = ParsedInternalKey(input.key) else { return }  // passed through; the reader reports
            if !isCurrentUserKey(parsed.userKey) {
                currentUserKey.removeAll(keepingCapacity: true)
                currentUserKey.append(contentsOf: parsed.userKey)
                hasCurrentUserKey = true
                currentStripe = -1
                stripeCompleted = false
            }
            let s = stripe(parsed.sequence)
            if s == currentStripe && stripeCompleted {
                droppedHidden += 1
                input.next()
                continue
            }
            if s != currentStripe {
                currentStripe = s
                stripeCompleted = false
            }
            if isCovered(parsed, stripe: s) {
                // Every older entry of this stripe is covered too.
                stripeCompleted = true
                droppedCovered += 1
                input.next()
                continue
            }
            switch parsed.typeCode {
            case ValueType.deletion.rawValue, ValueType.singleDeletion.rawValue:
                stripeCompleted = true
                if bottommost && s == 0 {
                    droppedDeletions += 1
                    input.next()
                    continue
                }
                return
            case ValueType.merge.rawValue:
                guard let mergeOperator else { return }
                if mergeStripe(mergeOperator, stripe: s) { return }
                continue
            case ValueType.value.rawValue:
                stripeCompleted = true
                guard let compactionFilter, s == snapshots.count else {
                    if zeroSequence(stripe: s) { passZeroed() }
                    return
                }
                let decision = compactionFilter.filter(level: filterLevel, key: currentUserKey, value: Array(input.value))
                switch decision {
                case .keep:
                    if zeroSequence(stripe: s) { passZeroed() }
                    return
                case .remove:
                    filterRemoved += 1
                    let sequence = parsed.sequence
                    input.next()
                    if bottommost && s == 0 { continue }
                    emit([(InternalKey.make(currentUserKey, sequence: sequence, type: ValueType.deletion.rawValue), [])])
                    return
                case .change(let newValue):
                    filterChanged += 1
                    let sequence = zeroSequence(stripe: s) ? 0 : parsed.sequence
                    input.next()
                    emit([(InternalKey.make(currentUserKey, sequence: sequence, type: ValueType.value.rawValue), newValue)])
                    return
                }
            default:
                stripeCompleted = true
                return
            }
        }
    }

    /// Consumes the merge operands of stripe `s` starting at the input's
    /// current entry (and the value or deletion below them in the stripe,
    /// if any) and queues their replacement. Returns true if something was
    /// queued (positioned on output), false if the caller should go on.
    private func mergeStripe(_ mergeOperator: any MergeOperator, stripe s: Int) -> Bool {
        var operands: [[UInt8]] = []     // newest first
        var sequences: [UInt64] = []
        var base: [UInt8]? = nil
        var haveBase = false             // a value or deletion of this stripe ends the operands
        var olderExists = false          // an entry of the key in an older stripe follows
        while true {
            guard let parsed = ParsedInternalKey(input.key) else { break }
            operands.append(Array(input.value))
            sequences.append(parsed.sequence)
            input.next()
            guard input.isValid else { break }
            guard let nextKey = ParsedInternalKey(input.key), isCurrentUserKey(nextKey.userKey) else { break }
            inputEntries += 1
            let ns = stripe(nextKey.sequence)
            if ns != s {
                olderExists = true
                inputEntries -= 1  // counted again by the main loop
                break
            }
            if isCovered(nextKey, stripe: s) {
                haveBase = true  // deleted below the operands
                droppedCovered += 1
                input.next()
                break
            }
            if nextKey.typeCode == ValueType.merge.rawValue { continue }
            switch nextKey.typeCode {
            case ValueType.value.rawValue:
                base = Array(input.value)
                haveBase = true
            case ValueType.deletion.rawValue, ValueType.singleDeletion.rawValue:
                haveBase = true
            default:
                olderExists = true  // a type Strata cannot merge with: leave it and keep the operands
                inputEntries -= 1
            }
            if haveBase { input.next() }
            break
        }
        if input.isValid && !haveBase && !olderExists,
           let nextKey = ParsedInternalKey(input.key), isCurrentUserKey(nextKey.userKey) {
            olderExists = true
        }
        let newest = sequences[0]
        if haveBase || (bottommost && !olderExists) {
            stripeCompleted = true
            guard let merged = mergeOperator.fullMerge(key: currentUserKey, existing: base,
                                                       operands: operands.reversed()) else {
                failure = StrataError(.corruption,
                                      "merge operator \(mergeOperator.name) failed in compaction: full merge of "
                                      + "\(operands.count) operands at sequence \(newest) returned nil")
                return true
            }
            mergedOperands += UInt64(operands.count)
            let sequence = zeroSequence(stripe: s) ? 0 : newest
            emit([(InternalKey.make(currentUserKey, sequence: sequence, type: ValueType.value.rawValue), merged)])
            return true
        }
        // Partial merges, oldest to newest; a pair the operator cannot
        // combine starts a new group.
        var groups: [(value: [UInt8], sequence: UInt64)] = []
        var current = (value: operands[operands.count - 1], sequence: sequences[operands.count - 1])
        for i in stride(from: operands.count - 2, through: 0, by: -1) {
            if let combined = mergeOperator.partialMerge(key: currentUserKey, left: current.value, right: operands[i]) {
                current = (combined, sequences[i])
                mergedOperands += 1
            } else {
                groups.append(current)
                current = (operands[i], sequences[i])
            }
        }
        groups.append(current)
        emit(groups.reversed().map {
            (InternalKey.make(currentUserKey, sequence: $0.sequence, type: ValueType.merge.rawValue), $0.value)
        })
        return true
    }
}

/// A growable byte buffer whose contents stay at one address until the
/// next `set` (so views of it can be handed out like an iterator's).
final class ScratchBytes {
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private var count = 0

    init() {
        capacity = 64
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
    }

    deinit { storage.deallocate() }

    /// Replaces the contents with `bytes`.
    func set(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { set($0) }
    }

    /// Replaces the contents with a copy of `bytes`.
    func set(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count > capacity {
            storage.deallocate()
            capacity = max(bytes.count, capacity * 2)
            storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        }
        if let base = bytes.baseAddress { storage.copyMemory(from: base, byteCount: bytes.count) }
        count = bytes.count
    }

    /// Replaces the contents with `internalKey` whose 8-byte trailer keeps
    /// its type and gets sequence 0.
    func setZeroingSequence(_ internalKey: UnsafeRawBufferPointer) {
        set(internalKey)
        if count >= 8 {
            let type = internalKey[count - 8]  // little-endian trailer: the low byte is the type
            storeFixed64(storage + count - 8, packSequenceAndType(0, type))
        }
    }

    /// The contents, valid until the next `set`.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: count) }
}
