/// What the MANIFEST records about one table file (RocksDB `FileMetaData`).
///
/// Value type; `Sendable`. Keys are internal keys.
package struct FileMetaData: Sendable, Equatable {
    /// The file number (`NNNNNN.sst`).
    package var number: UInt64
    /// Exact file size in bytes (RocksDB reads the footer at this offset).
    package var fileSize: UInt64
    /// Smallest internal key in the file (range tombstones included).
    package var smallest: [UInt8]
    /// Largest internal key in the file (range tombstones included).
    package var largest: [UInt8]
    /// Smallest and largest sequence numbers of the file's entries.
    package var smallestSequence: UInt64
    package var largestSequence: UInt64
    /// Oldest ancestor time, seconds since the epoch (custom field 5).
    package var oldestAncesterTime: UInt64 = 0
    /// File creation time, seconds since the epoch (custom field 6).
    package var fileCreationTime: UInt64 = 0
    /// Whole-file checksum (custom field 7); empty when not computed.
    package var fileChecksum: [UInt8] = []
    /// Name of the whole-file checksum function (custom field 8); RocksDB
    /// writes "Unknown" when there is none.
    package var fileChecksumFunctionName: String = "Unknown"
    /// Path id (custom field 65); 0 = the database directory.
    package var pathID: UInt32 = 0
    /// Marked for compaction (custom field 2).
    package var markedForCompaction = false
    /// Temperature (custom field 9); 0 = unknown.
    package var temperature: UInt8 = 0
    /// Oldest blob file (custom field 4); nil = none.
    package var oldestBlobFileNumber: UInt64? = nil
    /// SST unique id (custom field 12), 16 bytes, or empty.
    package var uniqueID: [UInt8] = []

    /// A file record with the required fields.
    package init(number: UInt64, fileSize: UInt64, smallest: [UInt8], largest: [UInt8],
                smallestSequence: UInt64, largestSequence: UInt64) {
        self.number = number
        self.fileSize = fileSize
        self.smallest = smallest
        self.largest = largest
        self.smallestSequence = smallestSequence
        self.largestSequence = largestSequence
    }

    /// True if `largest` is an exclusive bound: a range tombstone's end
    /// recorded as (end, max sequence, 0x0F), which the file does not hold.
    package var largestIsExclusive: Bool { largest.withUnsafeBytes { FileMetaData.isExclusiveEnd($0) } }

    /// True if `internalKey` is (key, max sequence, range deletion).
    static func isExclusiveEnd(_ internalKey: UnsafeRawBufferPointer) -> Bool {
        guard let parsed = ParsedInternalKey(internalKey) else { return false }
        return parsed.sequence == maxSequenceNumber && parsed.typeCode == ValueType.rangeDeletion.rawValue
    }

    /// The user key of `smallest`.
    package var smallestUserKey: [UInt8] { Array(smallest.dropLast(8)) }
    /// The user key of `largest`.
    package var largestUserKey: [UInt8] { Array(largest.dropLast(8)) }
}
