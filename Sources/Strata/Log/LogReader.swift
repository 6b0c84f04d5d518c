/// Reads logical records back from a log file (WAL or MANIFEST).
///
/// Each call to `next()` returns one intact record, `nil` at the end, or
/// throws `.corruption` naming the file and offset when a record is damaged
/// (bad checksum, impossible length, fragments out of order). A log that
/// simply stops — a torn last write: a partial header, a partial payload or
/// zero-filled space at the end — is a clean end (`isTruncatedTail` tells);
/// a zero-filled region with data after it is `.corruption`.
/// What a caller does with corruption is its policy: WAL recovery stops at
/// the last intact record (point-in-time recovery); a MANIFEST must be intact.
///
/// Ownership: one owner; reads the file sequentially by 32 KiB blocks.
package final class LogReader {
    /// The file being read.
    package let file: any RandomAccessFile
    @exclusivity(unchecked)
    private var block: [UInt8] = []
    @exclusivity(unchecked)
    private var blockStart: UInt64 = 0
    @exclusivity(unchecked)
    private var position = 0
    @exclusivity(unchecked)
    private var endOfFile = false
    /// Offset in the file where the last record returned began.
    @exclusivity(unchecked)
    package private(set) var lastRecordOffset: UInt64 = 0
    /// True once the end was reached inside a partial record or header.
    @exclusivity(unchecked)
    package private(set) var isTruncatedTail = false

    /// Whether a bad checksum on the very last record of the file ends the
    /// log like a torn write (true) or is corruption (false).
    package let badChecksumAtEndIsTorn: Bool

    /// A reader from the start of `file`. A log ends cleanly at a partial
    /// header or payload (a write cut short). A complete last record with a
    /// bad checksum is a torn write too when `badChecksumAtEndIsTorn` (WAL
    /// recovery: a power loss can persist a record's length before its
    /// bytes), else `.corruption` (a MANIFEST: its last edit may be one that
    /// WALs were deleted after, so silently dropping it could lose writes;
    /// RocksDB reports a MANIFEST checksum mismatch anywhere the same way).
    ///
    /// `logNumber`: the file number of a WAL, if known. A recycled log
    /// (RocksDB `recycle_log_file_num`) holds records of its previous use
    /// after the current ones; their recyclable header names another log
    /// number, and the log ends there, as in RocksDB. nil reads every
    /// recyclable record whatever number it carries.
    package init(file: any RandomAccessFile, badChecksumAtEndIsTorn: Bool = true, logNumber: UInt64? = nil) {
        self.file = file
        self.badChecksumAtEndIsTorn = badChecksumAtEndIsTorn
        self.logNumber = logNumber
    }

    /// The WAL's file number, for telling a recycled log's stale records apart.
    package let logNumber: UInt64?

    private func readNextBlock() throws -> Bool {
        let next = blockStart + UInt64(block.count)
        guard next < file.size else {
            endOfFile = true
            return false
        }
        let count = Int(min(UInt64(LogFormat.blockSize), file.size - next))
        block = try file.read(at: next, count: count)
        blockStart = next
        position = 0
        return true
    }

    private func corruption(_ message: String, at offset: UInt64) -> StrataError {
        StrataError.corruption(message, file: file.path, offset: offset)
    }

    /// The next logical record, or nil at the end of the log.
    package func next() throws -> [UInt8]? {
        var record: [UInt8] = []
        var inFragmented = false
        var recordStart: UInt64 = 0
        while true {
            if block.count - position < LogFormat.headerSize {
                // Trailing bytes of a block are zero padding; move on.
                let more = endOfFile ? false : try readNextBlock()
                if !more {
                    if inFragmented || block.count - position > 0 && block.count < LogFormat.blockSize {
                        isTruncatedTail = inFragmented || !isAllZero(position, block.count)
                    }
                    return nil
                }
                continue
            }
            let headerOffset = blockStart + UInt64(position)
            let (storedCRC, length, typeByte) = block.withUnsafeBytes { b in
                (loadFixed32(b.baseAddress! + position), Int(loadFixed16(b.baseAddress! + position + 4)), b[position + 6])
            }
            if typeByte == LogFormat.RecordType.zero.rawValue && length == 0 && storedCRC == 0 {
                // Zero-filled (preallocated) space ends the log only if
                // nothing but zeros follows; data after it means a region
                // was lost in the middle, which is corruption, not an end.
                if let dataOffset = try firstNonZeroByte(from: headerOffset) {
                    throw corruption("zero-filled log region followed by data at offset \(dataOffset)",
                                     at: headerOffset)
                }
                if inFragmented { isTruncatedTail = true }
                return nil
            }
            var headerSize = LogFormat.headerSize
            if LogFormat.isRecyclable(typeByte) { headerSize = LogFormat.recyclableHeaderSize }
            if position + headerSize + length > block.count {
                if block.count < LogFormat.blockSize {
                    // The file ends inside this record: a torn write.
                    isTruncatedTail = true
                    return nil
                }
                throw corruption("log record length \(length) runs past its 32 KiB block", at: headerOffset)
            }
            let computed = block.withUnsafeBytes { b in
                CRC32C.mask(CRC32C.value(UnsafeRawBufferPointer(rebasing: b[(position + 6)..<(position + headerSize + length)])))
            }
            if computed != storedCRC {
                if badChecksumAtEndIsTorn && block.count < LogFormat.blockSize && position + headerSize + length == block.count {
                    // A bad checksum on the very last record of the file is a
                    // torn write too (its bytes were not all persisted).
                    isTruncatedTail = true
                    return nil
                }
                throw corruption("log record checksum mismatch: stored 0x\(hex32(storedCRC)), computed 0x\(hex32(computed))",
                                 at: headerOffset)
            }
            if headerSize == LogFormat.recyclableHeaderSize, let logNumber {
                let recordLog = block.withUnsafeBytes { loadFixed32($0.baseAddress! + position + 7) }
                if recordLog != UInt32(truncatingIfNeeded: logNumber) {
                    // A record of the file's previous life as another log:
                    // this log ends here.
                    if inFragmented { isTruncatedTail = true }
                    return nil
                }
            }
            let payloadStart = position + headerSize
            position = payloadStart + length
            let payload = block[payloadStart..<(payloadStart + length)]
            switch typeByte {
            case LogFormat.RecordType.full.rawValue, LogFormat.RecordType.recyclableFull.rawValue:
                if inFragmented { throw corruption("FULL record inside a fragmented record", at: headerOffset) }
                lastRecordOffset = headerOffset
                return Array(payload)
            case LogFormat.RecordType.first.rawValue, LogFormat.RecordType.recyclableFirst.rawValue:
                if inFragmented { throw corruption("FIRST record inside a fragmented record", at: headerOffset) }
                inFragmented = true
                recordStart = headerOffset
                record = Array(payload)
            case LogFormat.RecordType.middle.rawValue, LogFormat.RecordType.recyclableMiddle.rawValue:
                if !inFragmented { throw corruption("MIDDLE record without a FIRST", at: headerOffset) }
                record.append(contentsOf: payload)
            case LogFormat.RecordType.last.rawValue, LogFormat.RecordType.recyclableLast.rawValue:
                if !inFragmented { throw corruption("LAST record without a FIRST", at: headerOffset) }
                record.append(contentsOf: payload)
                lastRecordOffset = recordStart
                return record
            case LogFormat.RecordType.setCompressionType.rawValue:
                throw StrataError.notSupported("compressed WAL (record type 9): Strata reads uncompressed logs",
                                               file: file.path, offset: headerOffset)
            case LogFormat.RecordType.userDefinedTimestampSize.rawValue,
                 LogFormat.RecordType.recyclableUserDefinedTimestampSize.rawValue:
                if inFragmented {
                    throw corruption("user-defined timestamp size record inside a fragmented record", at: headerOffset)
                }
                guard payload.count % 6 == 0 else {
                    throw corruption("user-defined timestamp size record of \(payload.count) bytes is not a multiple of 6",
                                     at: headerOffset)
                }
                var at = payload.startIndex
                while at < payload.endIndex {
                    let family = UInt32(payload[at]) | UInt32(payload[at + 1]) << 8 | UInt32(payload[at + 2]) << 16
                        | UInt32(payload[at + 3]) << 24
                    let size = Int(payload[at + 4]) | Int(payload[at + 5]) << 8
                    if size != 0 {
                        throw StrataError.notSupported(
                            "WAL record type \(typeByte) (user-defined timestamp size): column family \(family) has \(size)-byte user-defined timestamps, which Strata does not support",
                            file: file.path, offset: headerOffset)
                    }
                    at += 6
                }
            default:
                // RocksDB's rule: unknown types with the safe-to-ignore bit
                // (e.g. 130/131, predecessor WAL info) are skipped, others
                // are corruption. A skipped record ends a fragmented one.
                guard typeByte & LogFormat.safeIgnoreMask != 0 else {
                    throw corruption("unknown log record type \(typeByte)", at: headerOffset)
                }
                if inFragmented {
                    inFragmented = false
                    record.removeAll()
                }
            }
        }
    }

    /// The offset of the first non-zero byte at or after `offset`, or nil
    /// when the rest of the file is zeros. Reads 32 KiB at a time.
    private func firstNonZeroByte(from offset: UInt64) throws -> UInt64? {
        var at = offset
        while at < file.size {
            let count = Int(min(UInt64(LogFormat.blockSize), file.size - at))
            let chunk = try file.read(at: at, count: count)
            if let index = chunk.firstIndex(where: { $0 != 0 }) { return at + UInt64(index) }
            at += UInt64(count)
        }
        return nil
    }

    private func isAllZero(_ from: Int, _ to: Int) -> Bool {
        var i = from
        while i < to {
            if block[i] != 0 { return false }
            i += 1
        }
        return true
    }
}
