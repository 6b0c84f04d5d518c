/// The record log format shared by write-ahead logs and MANIFESTs (spec
/// section 12; RocksDB db/log_format.h). A log is a sequence of 32 KiB
/// blocks; each block holds physical records
///
///     fixed32 masked_crc32c(type ‖ payload) | fixed16 length | u8 type | payload
///
/// A logical record that does not fit in the rest of a block is split into
/// FIRST, MIDDLE…, LAST fragments; one that fits is a FULL record. A record
/// never starts in the last 6 bytes of a block: those are zero-filled.
package enum LogFormat {
    /// Bytes per block.
    package static let blockSize = 32 * 1024
    /// Bytes of a physical record header (legacy, non-recyclable records).
    package static let headerSize = 7
    /// Header of recyclable records (5…8): the header plus a fixed32 log number.
    package static let recyclableHeaderSize = 11

    /// Physical record types.
    package enum RecordType: UInt8, Sendable {
        /// Zero bytes: preallocated or zero-filled space, never written as a record.
        case zero = 0
        case full = 1
        case first = 2
        case middle = 3
        case last = 4
        case recyclableFull = 5
        case recyclableFirst = 6
        case recyclableMiddle = 7
        case recyclableLast = 8
        /// WAL compression marker (RocksDB `wal_compression`); Strata never writes it.
        case setCompressionType = 9
        /// The user-defined timestamp size of column families whose write
        /// batches follow (RocksDB 8.x+): a list of (fixed32 column family
        /// id, fixed16 size). Strata reads it only when every size is 0.
        case userDefinedTimestampSize = 10
        /// The same in a recycled log (11-byte header).
        case recyclableUserDefinedTimestampSize = 11
        /// Information about the previous WAL, for WAL verification
        /// (RocksDB `track_and_verify_wals`); carries the safe-to-ignore bit.
        case predecessorWALInfo = 130
        /// The same in a recycled log.
        case recyclablePredecessorWALInfo = 131
    }

    /// Record types with this bit set may be skipped by a reader that does
    /// not know them (RocksDB `kRecordTypeSafeIgnoreMask`); any other
    /// unknown type is corruption.
    package static let safeIgnoreMask: UInt8 = 1 << 7

    /// True for the types written with the 11-byte header (the 7-byte one
    /// plus the fixed32 low bits of the log number, so that a reused log
    /// file's stale records are told apart).
    package static func isRecyclable(_ type: UInt8) -> Bool {
        (type >= RecordType.recyclableFull.rawValue && type <= RecordType.recyclableLast.rawValue)
            || type == RecordType.recyclableUserDefinedTimestampSize.rawValue
            || type == RecordType.recyclablePredecessorWALInfo.rawValue
    }
}
