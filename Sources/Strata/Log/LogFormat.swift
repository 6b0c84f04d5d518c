/// The record log format shared by write-ahead logs and MANIFESTs (spec
/// section 12; RocksDB db/log_format.h). A log is a sequence of 32 KiB
/// blocks; each block holds physical records
///
///     fixed32 masked_crc32c(type ‖ payload) | fixed16 length | u8 type | payload
///
/// A logical record that does not fit in the rest of a block is split into
/// FIRST, MIDDLE…, LAST fragments; one that fits is a FULL record. A record
/// never starts in the last 6 bytes of a block: those are zero-filled.
public enum LogFormat {
    /// Bytes per block.
    public static let blockSize = 32 * 1024
    /// Bytes of a physical record header (legacy, non-recyclable records).
    public static let headerSize = 7
    /// Header of recyclable records (5…8): the header plus a fixed32 log number.
    public static let recyclableHeaderSize = 11

    /// Physical record types.
    public enum RecordType: UInt8, Sendable {
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
    }
}
