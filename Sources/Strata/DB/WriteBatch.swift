/// An atomic group of updates: all are applied or none, and they get
/// consecutive sequence numbers in the order they were added.
///
/// The batch is kept in RocksDB's WriteBatch encoding (spec section 14), so
/// it is written to the WAL exactly as it is:
///
///     fixed64 sequence | fixed32 count | record*
///     record := tag (varint32 cf id if tag is a column-family variant) varstring key [varstring value]
///
/// Value type (copy-on-write storage); `Sendable`. Keys and values are
/// copied in. The empty key is legal.
public struct WriteBatch: Sendable, Equatable {
    /// Size of the header (sequence + count).
    package static let headerSize = 12

    /// Record tags (RocksDB `ValueType` as used in write batches).
    enum Tag: UInt8 {
        case deletion = 0x00
        case value = 0x01
        case merge = 0x02
        case logData = 0x03
        case columnFamilyDeletion = 0x04
        case columnFamilyValue = 0x05
        case columnFamilyMerge = 0x06
        case singleDeletion = 0x07
        case columnFamilySingleDeletion = 0x08
        case beginPrepare = 0x09
        case endPrepare = 0x0A
        case commit = 0x0B
        case rollback = 0x0C
        case noop = 0x0D
        case columnFamilyRangeDeletion = 0x0E
        case rangeDeletion = 0x0F
        case beginPersistedPrepare = 0x12
        case beginUnprepare = 0x13
        case commitWithTimestamp = 0x15
    }

    /// The encoded batch.
    package private(set) var rep: [UInt8]

    /// True if some update names a column family other than the default
    /// one (the write path then checks and routes by family).
    package private(set) var usesColumnFamilies = false

    /// An empty batch.
    public init() {
        rep = [UInt8](repeating: 0, count: WriteBatch.headerSize)
    }

    /// A batch from its encoding (e.g. a WAL record). Throws `.corruption`
    /// if the header is missing, a record is malformed, the header's count
    /// differs from the records, or the updates' sequence numbers
    /// (`sequence` + i) would pass `maxSequenceNumber`.
    public init(encoded: [UInt8]) throws(StrataError) {
        guard encoded.count >= WriteBatch.headerSize else {
            throw .corruption("write batch of \(encoded.count) bytes is shorter than its 12-byte header")
        }
        rep = encoded
        var counted: UInt32 = 0
        var families = false
        do {
            try forEach { op in
                counted += 1
                if op.columnFamily != 0 { families = true }
            }
        } catch let error as StrataError {
            throw error
        } catch {
            throw .corruption("write batch: \(error)")
        }
        guard counted == count else {
            throw .corruption("write batch header says \(count) updates, the records hold \(counted)")
        }
        // Update i gets sequence + i; all must be valid 56-bit sequence
        // numbers (recovery would otherwise overflow or pack a wrong key).
        if counted > 0 && (sequence > maxSequenceNumber || UInt64(counted - 1) > maxSequenceNumber - sequence) {
            throw .corruption(
                "write batch at sequence \(sequence) with \(counted) updates runs past the largest sequence number \(maxSequenceNumber)")
        }
        usesColumnFamilies = families
    }

    /// Number of updates (each consumes one sequence number).
    public var count: UInt32 {
        rep.withUnsafeBytes { loadFixed32($0.baseAddress! + 8) }
    }

    /// Sequence number of the first update (set when the batch is written).
    public var sequence: UInt64 {
        get { rep.withUnsafeBytes { loadFixed64($0.baseAddress!) } }
        set { rep.withUnsafeMutableBytes { storeFixed64($0.baseAddress!, newValue) } }
    }

    /// True if the batch holds no updates.
    public var isEmpty: Bool { count == 0 }

    /// Bytes of the encoding (a rough size of the batch).
    public var byteSize: Int { rep.count }

    private mutating func setCount(_ n: UInt32) {
        rep.withUnsafeMutableBytes { storeFixed32($0.baseAddress! + 8, n) }
    }

    /// An empty batch with room for `bytes` bytes of records, so building
    /// it does not reallocate (the single-update batches of `Database.put`).
    init(reservingCapacity bytes: Int) {
        rep = []
        rep.reserveCapacity(WriteBatch.headerSize + bytes)
        rep.append(contentsOf: repeatElement(0, count: WriteBatch.headerSize))
    }

    /// Encoded size of one record: tag, column family, length-prefixed key
    /// and value.
    static func recordSize(columnFamily: UInt32, key: Int, value: Int?) -> Int {
        1 + (columnFamily == 0 ? 0 : varintLength(UInt64(columnFamily)))
            + varintLength(UInt64(key)) + key + (value.map { varintLength(UInt64($0)) + $0 } ?? 0)
    }

    private mutating func appendRecord(_ tag: Tag, _ cfTag: Tag, columnFamily: UInt32, key: [UInt8], value: [UInt8]?) {
        // Grow geometrically but at least to fit the record, so a record is
        // one reallocation at most (not one per varint and per byte run).
        let needed = rep.count + WriteBatch.recordSize(columnFamily: columnFamily, key: key.count, value: value?.count)
        if needed > rep.capacity { rep.reserveCapacity(Swift.max(needed, rep.capacity * 2)) }
        if columnFamily == 0 {
            rep.append(tag.rawValue)
        } else {
            rep.append(cfTag.rawValue)
            rep.appendVarint32(columnFamily)
            usesColumnFamilies = true
        }
        rep.appendLengthPrefixed(key)
        if let value { rep.appendLengthPrefixed(value) }
        setCount(count + 1)
    }

    /// Sets `key` to `value`.
    public mutating func put(_ key: [UInt8], _ value: [UInt8]) {
        appendRecord(.value, .columnFamilyValue, columnFamily: 0, key: key, value: value)
    }

    /// Deletes `key` (no error if absent).
    public mutating func delete(_ key: [UInt8]) {
        appendRecord(.deletion, .columnFamilyDeletion, columnFamily: 0, key: key, value: nil)
    }

    /// Deletes the single earlier `put` of `key` (RocksDB `SingleDelete`):
    /// only valid when the key was put once and never merged or overwritten.
    public mutating func singleDelete(_ key: [UInt8]) {
        appendRecord(.singleDeletion, .columnFamilySingleDeletion, columnFamily: 0, key: key, value: nil)
    }

    /// Adds a merge operand for `key` (needs a merge operator on the database).
    public mutating func merge(_ key: [UInt8], _ operand: [UInt8]) {
        appendRecord(.merge, .columnFamilyMerge, columnFamily: 0, key: key, value: operand)
    }

    /// Deletes every key in [begin, end). An empty or inverted range
    /// (begin ≥ end) deletes nothing and is not recorded at all: RocksDB
    /// mishandles an inverted range tombstone it replays from a WAL (it
    /// hid newer writes of keys outside the range), so none is ever written.
    public mutating func deleteRange(from begin: [UInt8], to end: [UInt8]) {
        guard Bytewise.compare(begin, end) < 0 else { return }
        appendRecord(.rangeDeletion, .columnFamilyRangeDeletion, columnFamily: 0, key: begin, value: end)
    }

    /// Sets `key` to `value` in `family` (same atomic batch as the other updates).
    public mutating func put(_ key: [UInt8], _ value: [UInt8], in family: ColumnFamily) {
        appendRecord(.value, .columnFamilyValue, columnFamily: family.id, key: key, value: value)
    }

    /// Deletes `key` in `family` (no error if absent).
    public mutating func delete(_ key: [UInt8], in family: ColumnFamily) {
        appendRecord(.deletion, .columnFamilyDeletion, columnFamily: family.id, key: key, value: nil)
    }

    /// Deletes the single earlier `put` of `key` in `family` (RocksDB `SingleDelete`).
    public mutating func singleDelete(_ key: [UInt8], in family: ColumnFamily) {
        appendRecord(.singleDeletion, .columnFamilySingleDeletion, columnFamily: family.id, key: key, value: nil)
    }

    /// Adds a merge operand for `key` in `family` (needs a merge operator on that family).
    public mutating func merge(_ key: [UInt8], _ operand: [UInt8], in family: ColumnFamily) {
        appendRecord(.merge, .columnFamilyMerge, columnFamily: family.id, key: key, value: operand)
    }

    /// Deletes every key in [begin, end) of `family` (nothing, and no
    /// record, when begin ≥ end; see `deleteRange(from:to:)`).
    public mutating func deleteRange(from begin: [UInt8], to end: [UInt8], in family: ColumnFamily) {
        guard Bytewise.compare(begin, end) < 0 else { return }
        appendRecord(.rangeDeletion, .columnFamilyRangeDeletion, columnFamily: family.id, key: begin, value: end)
    }

    /// Updates in a column family given by id.
    mutating func append(_ type: ValueType, columnFamily: UInt32, key: [UInt8], value: [UInt8]?) {
        switch type {
        case .value: appendRecord(.value, .columnFamilyValue, columnFamily: columnFamily, key: key, value: value ?? [])
        case .deletion: appendRecord(.deletion, .columnFamilyDeletion, columnFamily: columnFamily, key: key, value: nil)
        case .singleDeletion:
            appendRecord(.singleDeletion, .columnFamilySingleDeletion, columnFamily: columnFamily, key: key, value: nil)
        case .merge: appendRecord(.merge, .columnFamilyMerge, columnFamily: columnFamily, key: key, value: value ?? [])
        case .rangeDeletion:
            appendRecord(.rangeDeletion, .columnFamilyRangeDeletion, columnFamily: columnFamily, key: key, value: value ?? [])
        }
    }

    /// Appends a blob that is logged with the batch but is not an update (RocksDB `PutLogData`).
    public mutating func putLogData(_ blob: [UInt8]) {
        rep.append(Tag.logData.rawValue)
        rep.appendLengthPrefixed(blob)
    }

    /// Appends every update of `other` (its sequence is ignored).
    public mutating func append(contentsOf other: WriteBatch) {
        rep.append(contentsOf: other.rep[WriteBatch.headerSize...])
        setCount(count + other.count)
        if other.usesColumnFamilies { usesColumnFamilies = true }
    }

    /// Removes every update.
    public mutating func clear() {
        rep.removeAll(keepingCapacity: true)
        rep.append(contentsOf: repeatElement(0, count: WriteBatch.headerSize))
        usesColumnFamilies = false
    }

    /// One decoded update: views into the batch, valid during the callback.
    package struct Operation {
        package var type: ValueType
        package var columnFamily: UInt32
        package var key: UnsafeRawBufferPointer
        /// The value, merge operand or range end; empty for deletions.
        package var value: UnsafeRawBufferPointer
    }

    /// Calls `body` for each update in order (log data and 2PC markers are
    /// skipped). Throws `.corruption` on a malformed record.
    package func forEach(_ body: (Operation) throws -> Void) throws {
        var failure: StrataError? = nil
        var bodyError: (any Error)? = nil
        rep.withUnsafeBytes { raw in
            var c = ByteCursor(raw, position: WriteBatch.headerSize)
            let empty = UnsafeRawBufferPointer(start: nil, count: 0)
            while !c.isAtEnd {
                let recordOffset = c.position
                func bad(_ what: String) -> StrataError {
                    .corruption("write batch: \(what) in the record at batch offset \(recordOffset)")
                }
                guard let tagByte = c.readByte() else { return }
                guard let tag = Tag(rawValue: tagByte) else {
                    failure = bad("unknown record tag 0x\(String(tagByte, radix: 16))")
                    return
                }
                var cf: UInt32 = 0
                switch tag {
                case .columnFamilyDeletion, .columnFamilyValue, .columnFamilyMerge, .columnFamilySingleDeletion,
                     .columnFamilyRangeDeletion:
                    guard let id = c.readVarint32() else { failure = bad("truncated column family id"); return }
                    cf = id
                default: break
                }
                let type: ValueType
                var hasValue = false
                switch tag {
                case .value, .columnFamilyValue: type = .value; hasValue = true
                case .deletion, .columnFamilyDeletion: type = .deletion
                case .singleDeletion, .columnFamilySingleDeletion: type = .singleDeletion
                case .merge, .columnFamilyMerge: type = .merge; hasValue = true
                case .rangeDeletion, .columnFamilyRangeDeletion: type = .rangeDeletion; hasValue = true
                case .logData:
                    guard c.readLengthPrefixed() != nil else { failure = bad("truncated log data"); return }
                    continue
                case .noop, .endPrepare, .commit, .rollback, .beginPrepare, .beginPersistedPrepare, .beginUnprepare:
                    // 2PC markers: EndPrepare/Commit/Rollback carry an xid.
                    if tag == .endPrepare || tag == .commit || tag == .rollback {
                        guard c.readLengthPrefixed() != nil else { failure = bad("truncated 2PC marker"); return }
                    }
                    continue
                case .commitWithTimestamp:
                    guard c.readLengthPrefixed() != nil, c.readLengthPrefixed() != nil else {
                        failure = bad("truncated commit marker"); return
                    }
                    continue
                }
                guard let key = c.readLengthPrefixed() else { failure = bad("truncated key"); return }
                var value = empty
                if hasValue {
                    guard let v = c.readLengthPrefixed() else { failure = bad("truncated value"); return }
                    value = v
                }
                do {
                    try body(Operation(type: type, columnFamily: cf, key: key, value: value))
                } catch {
                    bodyError = error
                    return
                }
            }
        }
        if let failure { throw failure }
        if let bodyError { throw bodyError }
    }
}
