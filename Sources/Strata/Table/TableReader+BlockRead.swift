import CSnappy

/// Reading one block of a table from its file: bounds, trailer checksum
/// (with format_version 6's context modifier), decompression. Static, so
/// table inspection and repair use them on files they have not opened as
/// tables. From a memory-mapped file the checksum and the decompression
/// read the mapping in place.
extension TableReader {

    /// The metaindex entry that holds the index handle from format_version 6
    /// on (RocksDB `kIndexBlockName`).
    static let indexBlockName = "rocksdb.index"

    /// Reads the raw stored bytes of a block (without trailer), verifying the
    /// checksum; no decompression. Used for filter blocks.
    static func readRaw(file: any RandomAccessFile, handle: BlockHandle, checksum: ChecksumType, context: UInt32,
                        verify: Bool, what: String) throws -> [UInt8] {
        let (storage, type) = try readStored(file: file, handle: handle, checksum: checksum, context: context,
                                             verify: verify, what: what)
        defer { storage.deallocate() }
        guard type == 0 else {
            throw StrataError.corruption("\(what) is stored with compression type \(type), expected uncompressed",
                                         file: file.path, offset: handle.offset)
        }
        return Array(UnsafeRawBufferPointer(start: storage, count: Int(handle.size)))
    }

    /// The byte count of block + trailer at `handle`, after checking that
    /// they lie inside the file.
    static func storedLength(file: any RandomAccessFile, handle: BlockHandle, what: String) throws -> Int {
        let total = handle.size &+ UInt64(blockTrailerSize)
        guard handle.size < UInt64(Int32.max), handle.offset <= file.size, total <= file.size - handle.offset else {
            throw StrataError.corruption(
                "\(what) handle (offset \(handle.offset), size \(handle.size)) points outside the file of \(file.size) bytes",
                file: file.path, offset: handle.offset)
        }
        return Int(total)
    }

    /// Checks the trailer's checksum of a stored block (`stored`: block,
    /// type byte and checksum). `context` is the file's base context
    /// checksum (format_version ≥ 6; 0 = none): the stored checksum then
    /// includes the modifier of the block's offset, and a block whose
    /// checksum is right for another offset is reported as misplaced. With a
    /// context, kNoChecksum blocks are checked too (their stored value must
    /// be the bare modifier).
    static func verifyStoredChecksum(_ stored: UnsafeRawBufferPointer, file: any RandomAccessFile, handle: BlockHandle,
                                     checksum: ChecksumType, context: UInt32, what: String) throws {
        guard checksum != .none || context != 0, let base = stored.baseAddress else { return }
        let size = Int(handle.size)
        let recorded = loadFixed32(base + size + 1)
        let computed = blockChecksum(checksum, blockAndType: UnsafeRawBufferPointer(start: base, count: size + 1))
        let modifier = contextChecksumModifier(base: context, offset: handle.offset)
        if recorded &- modifier != computed {
            throw StrataError.corruption(
                checksumMismatchMessage(what: what, size: size, stored: recorded, computed: computed, checksum: checksum,
                                        context: context, offset: handle.offset, fileSize: file.size),
                file: file.path, offset: handle.offset)
        }
    }

    /// Reads block + trailer into new memory, checks the handle and the
    /// checksum (see `verifyStoredChecksum`). Returns the memory (caller
    /// frees) and the compression byte.
    static func readStored(file: any RandomAccessFile, handle: BlockHandle, checksum: ChecksumType, context: UInt32,
                           verify: Bool, what: String) throws -> (UnsafeMutableRawPointer, UInt8) {
        let count = try storedLength(file: file, handle: handle, what: what)
        let storage = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 8)
        do {
            try file.read(at: handle.offset, into: UnsafeMutableRawBufferPointer(start: storage, count: count))
            if verify {
                try verifyStoredChecksum(UnsafeRawBufferPointer(start: storage, count: count), file: file, handle: handle,
                                         checksum: checksum, context: context, what: what)
            }
        } catch {
            storage.deallocate()
            throw error
        }
        return (storage, storage.load(fromByteOffset: Int(handle.size), as: UInt8.self))
    }

    /// The message for a block whose checksum does not match. With context
    /// checksums, the difference between the stored and the computed value
    /// is the modifier of the offset the block was written for: if that is
    /// another offset inside the file, the block is whole but misplaced.
    static func checksumMismatchMessage(what: String, size: Int, stored: UInt32, computed: UInt32, checksum: ChecksumType,
                                        context: UInt32, offset: UInt64, fileSize: UInt64) -> String {
        let modifier = contextChecksumModifier(base: context, offset: offset)
        var message = "block checksum mismatch in \(what) (size \(size)): stored 0x\(hex32(stored))"
        if context != 0 {
            message += " (0x\(hex32(stored &- modifier)) with the context of offset \(offset) removed)"
        }
        message += ", computed 0x\(hex32(computed)) (\(checksum.rocksDBName))"
        if context != 0 {
            // Offsets below 4 GiB: the modifier is base ^ offset, so the
            // offset the stored checksum was made for is recoverable.
            let writtenFor = UInt64((stored &- computed) ^ context)
            if writtenFor != offset, writtenFor < fileSize {
                message += "; the block's checksum is valid for offset \(writtenFor): a misplaced block (copied from another offset)"
            }
        }
        return message
    }

    /// Reads, verifies and decompresses a block. From a memory-mapped file
    /// the checksum and the decompression read the mapping in place (an
    /// uncompressed block is copied once, into the block's own memory).
    static func readBlock(file: any RandomAccessFile, handle: BlockHandle, checksum: ChecksumType, context: UInt32,
                          verify: Bool, what: String) throws -> Block {
        do {
            let count = try storedLength(file: file, handle: handle, what: what)
            if let mapped = try file.mappedBytes(at: handle.offset, count: count), let base = mapped.baseAddress {
                if verify {
                    try verifyStoredChecksum(mapped, file: file, handle: handle, checksum: checksum, context: context,
                                             what: what)
                }
                let size = Int(handle.size)
                return try decodeBlock(UnsafeRawBufferPointer(start: base, count: size), type: mapped[size], owned: nil,
                                       handle: handle, what: what)
            }
            let (storage, type) = try readStored(file: file, handle: handle, checksum: checksum, context: context,
                                                 verify: verify, what: what)
            return try decodeBlock(UnsafeRawBufferPointer(start: storage, count: Int(handle.size)), type: type,
                                   owned: storage, handle: handle, what: what)
        } catch let error as StrataError {
            throw error.located(file: file.path, offset: handle.offset)
        }
    }

    /// Turns a stored block's bytes into a `Block`. `owned`: the memory of
    /// `stored` when the caller allocated it (taken over or freed here); nil
    /// when `stored` is borrowed (a mapping), which is then copied or
    /// decompressed from.
    private static func decodeBlock(_ stored: UnsafeRawBufferPointer, type: UInt8, owned: UnsafeMutableRawPointer?,
                                    handle: BlockHandle, what: String) throws -> Block {
        let size = stored.count
        switch type {
        case CompressionType.none.rawValue:
            if let owned { return try Block(taking: owned, size: size) }
            return try Block(copying: stored)
        case CompressionType.snappy.rawValue:
            defer { owned?.deallocate() }
            guard let input = stored.baseAddress?.assumingMemoryBound(to: CChar.self) else {
                throw StrataError.corruption("\(what): Snappy block is empty", offset: handle.offset)
            }
            var rawLength = 0
            guard snappy_uncompressed_length(input, size, &rawLength) == SNAPPY_OK, rawLength < Int(Int32.max) else {
                throw StrataError.corruption("\(what): Snappy header is invalid", offset: handle.offset)
            }
            let raw = UnsafeMutableRawPointer.allocate(byteCount: max(rawLength, 1), alignment: 8)
            var produced = rawLength
            guard snappy_uncompress(input, size, raw.assumingMemoryBound(to: CChar.self), &produced) == SNAPPY_OK,
                  produced == rawLength
            else {
                raw.deallocate()
                throw StrataError.corruption("\(what): Snappy data is corrupt", offset: handle.offset)
            }
            return try Block(taking: raw, size: rawLength)
        default:
            owned?.deallocate()
            let name = CompressionType(rawValue: type)?.rocksDBName ?? "unknown type \(type)"
            throw StrataError.notSupported("\(what) is compressed with \(name); Strata reads Snappy and uncompressed blocks",
                                           offset: handle.offset)
        }
    }
}
