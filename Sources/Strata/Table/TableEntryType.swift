/// Which entry types a table's data blocks may hold, so every reader (point
/// lookups, iterators, compaction, verify, the tools) treats a type code
/// outside them as damage rather than as a deletion or a value.
enum TableEntryType {
    /// Types RocksDB writes into data blocks that Strata cannot interpret
    /// (RocksDB 7.8.3 `ValueType`): reading them is `.notSupported`.
    static let rocksDBOnly: [UInt8: String] = [
        0x11: "blob index (kTypeBlobIndex)",
        0x14: "deletion with timestamp (kTypeDeletionWithTimestamp)",
        0x16: "wide-column entity (kTypeWideColumnEntity)",
    ]

    /// True for the types a data block may hold (deletion 0, value 1,
    /// merge 2, single deletion 7): the per-entry check, two comparisons;
    /// `error(typeCode:entryOffset:)` builds the message only when false.
    @inline(__always)
    static func isDataBlockType(_ typeCode: UInt8) -> Bool {
        typeCode <= ValueType.merge.rawValue || typeCode == ValueType.singleDeletion.rawValue
    }

    /// Nil for a value, deletion, single deletion or merge operand; else the
    /// error for an entry with `typeCode` at `entryOffset` in its block
    /// (the caller adds the file and the block's offset). The low byte of
    /// the trailer is the type: `typeCode` is the key's 8th byte from the end.
    static func error(typeCode: UInt8, entryOffset: Int) -> StrataError? {
        if isDataBlockType(typeCode) { return nil }
        if let name = rocksDBOnly[typeCode] {
            return StrataError.notSupported(
                "data block entry at block offset \(entryOffset): value type 0x\(String(typeCode, radix: 16)) is a RocksDB \(name), which Strata cannot read")
        }
        return StrataError.corruption(
            "data block entry at block offset \(entryOffset): value type 0x\(String(typeCode, radix: 16)) cannot be in a data block (expected a value, deletion, single deletion or merge operand)")
    }
}
