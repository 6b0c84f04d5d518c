/// Appends logical records to a log file in the record format of
/// `LogFormat` (WAL and MANIFEST).
///
/// Durability: `addRecord` hands bytes to the file (buffered); call `sync`
/// to make them durable. A record is recovered only if all of its fragments
/// reached the disk intact.
///
/// Ownership: one owner at a time (the WAL is written by the group-commit
/// leader, the MANIFEST under the version-set lock).
package final class LogWriter {
    /// The file being appended to.
    package let file: any WritableFile
    /// Offset within the current 32 KiB block.
    @exclusivity(unchecked)
    private var blockOffset: Int
    /// CRC32C of each type byte, so a record's CRC extends a precomputed value.
    private let typeCRC: [UInt32]
    @exclusivity(unchecked)
    private var header = [UInt8](repeating: 0, count: LogFormat.headerSize)
    private static let zeros = [UInt8](repeating: 0, count: LogFormat.headerSize)

    /// A writer appending to `file`, which may already hold `file.size` bytes
    /// of log (the writer continues in the right block position).
    package init(file: any WritableFile) {
        self.file = file
        blockOffset = Int(file.size % UInt64(LogFormat.blockSize))
        typeCRC = (0...9).map { t in [UInt8(t)].withUnsafeBytes { CRC32C.value($0) } }
    }

    /// Appends one logical record (any length, including zero).
    package func addRecord(_ payload: UnsafeRawBufferPointer) throws {
        var offset = 0
        var remaining = payload.count
        var begin = true
        repeat {
            let leftover = LogFormat.blockSize - blockOffset
            if leftover < LogFormat.headerSize {
                // Too little room for a header: zero-fill and start a new block.
                if leftover > 0 {
                    try Self.zeros.withUnsafeBytes {
                        try file.append(UnsafeRawBufferPointer(rebasing: $0[0..<leftover]))
                    }
                }
                blockOffset = 0
            }
            let available = LogFormat.blockSize - blockOffset - LogFormat.headerSize
            let fragment = min(remaining, available)
            let end = fragment == remaining
            let type: LogFormat.RecordType = begin && end ? .full : begin ? .first : end ? .last : .middle
            let piece = fragment == 0
                ? UnsafeRawBufferPointer(start: nil, count: 0)
                : UnsafeRawBufferPointer(rebasing: payload[offset..<offset + fragment])
            try emit(type, piece)
            offset += fragment
            remaining -= fragment
            begin = false
        } while remaining > 0
    }

    /// Appends one logical record.
    package func addRecord(_ payload: [UInt8]) throws {
        try payload.withUnsafeBytes { try addRecord($0) }
    }

    /// "WAL" or "MANIFEST", for the kill points (`KillPoints`).
    private var role: String { Path.basename(file.path).hasPrefix("MANIFEST-") ? "MANIFEST" : "WAL" }

    private func emit(_ type: LogFormat.RecordType, _ piece: UnsafeRawBufferPointer) throws {
        killPoint(role + ".append")
        let crc = CRC32C.mask(CRC32C.extend(typeCRC[Int(type.rawValue)], piece))
        header.withUnsafeMutableBytes { h in
            storeFixed32(h.baseAddress!, crc)
            h[4] = UInt8(truncatingIfNeeded: piece.count)
            h[5] = UInt8(truncatingIfNeeded: piece.count >> 8)
            h[6] = type.rawValue
        }
        try header.withUnsafeBytes { try file.append($0) }
        if piece.count > 0 { try file.append(piece) }
        blockOffset += LogFormat.headerSize + piece.count
    }

    /// Hands buffered bytes to the operating system.
    package func flush() throws { try file.flush() }

    /// Makes everything appended so far durable.
    package func sync() throws {
        killPoint(role + ".sync")
        try file.sync()
        killPoint(role + ".synced")
    }

    /// Closes the file (does not sync).
    package func close() throws { try file.close() }
}
