/// Resolves one user key from its entries seen newest first, across the
/// memtables and tables (RocksDB `GetContext`): the first value or deletion
/// decides, merge operands gather on top of whatever decides, and a range
/// tombstone hides every older entry.
struct LookupState {
    enum Outcome {
        /// Still looking at older entries.
        case searching
        /// Found a base value (after merge operands, if any).
        case found([UInt8])
        /// Deleted (by a point or range deletion), or nothing below the operands.
        case deleted
    }

    let snapshot: UInt64
    private(set) var outcome: Outcome = .searching
    /// Merge operands seen so far, newest first.
    private(set) var operands: [[UInt8]] = []
    /// Sequence of the newest range tombstone covering the key seen so far.
    var coveringTombstone: UInt64 = 0

    init(snapshot: UInt64) { self.snapshot = snapshot }

    var isDone: Bool {
        if case .searching = outcome { return false }
        return true
    }

    /// Takes one entry (newest first). Returns false when the key is resolved.
    mutating func add(_ key: ParsedInternalKey, _ value: UnsafeRawBufferPointer) -> Bool {
        if key.sequence > snapshot { return true }
        if key.sequence < coveringTombstone {
            outcome = .deleted
            return false
        }
        switch key.typeCode {
        case ValueType.value.rawValue:
            outcome = .found(Array(value))
            return false
        case ValueType.deletion.rawValue, ValueType.singleDeletion.rawValue:
            outcome = .deleted
            return false
        case ValueType.merge.rawValue:
            operands.append(Array(value))
            return true
        default:
            // Types Strata does not write (blob index, wide columns) cannot be read.
            outcome = .deleted
            return false
        }
    }

    /// Marks the key resolved by a plain value the caller took itself
    /// (the iterator's copy-free path); `result` is then meaningless.
    mutating func markResolved() {
        outcome = .found([])
    }

    /// Marks the end of the data: operands with no base below them.
    mutating func finish() {
        if case .searching = outcome { outcome = .deleted }
    }

    /// The value the key reads as, applying merge operands. Throws
    /// `.invalidArgument` without a merge operator, `.corruption` if the
    /// operator fails.
    func result(userKey: [UInt8], mergeOperator: (any MergeOperator)?) throws -> [UInt8]? {
        var base: [UInt8]? = nil
        switch outcome {
        case .found(let v): base = v
        case .deleted, .searching: base = nil
        }
        if operands.isEmpty { return base }
        guard let mergeOperator else {
            throw StrataError.invalidArgument("key has merge operands but Options.mergeOperator is nil")
        }
        guard let merged = mergeOperator.fullMerge(key: userKey, existing: base, operands: operands.reversed()) else {
            throw StrataError.corruption("merge operator \(mergeOperator.name) failed for a key")
        }
        return merged
    }
}
