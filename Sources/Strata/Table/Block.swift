/// One uncompressed block in memory: entries, restart array and footer
/// (spec section 5). Immutable once made; owns its bytes.
///
/// Thread safety: immutable, so any number of threads may iterate it at once
/// (each with its own `BlockIterator`). Blocks live in the block cache and
/// are shared between readers.
package final class Block: @unchecked Sendable {
    // @unchecked: `base` is written once in init and only read afterwards;
    // the memory is freed in deinit when no reference remains.
    let base: UnsafeMutableRawPointer
    /// Bytes of block contents (entries + restarts + footer).
    package let size: Int
    /// Offset where the restart array begins (= end of the entries).
    let restartsOffset: Int
    /// Number of restart points.
    package let restartCount: Int
    /// True when a data-block hash index follows the restart array.
    package let hasHashIndex: Bool

    /// Takes ownership of `storage` (allocated with
    /// `UnsafeMutableRawPointer.allocate`), whose first `size` bytes are the
    /// block. Throws `.corruption` (no file; the caller adds it) when the
    /// footer or restart array is impossible; the memory is then freed.
    package init(taking storage: UnsafeMutableRawPointer, size: Int) throws(StrataError) {
        // Validate with locals first: once every stored property is set, a
        // throw would run deinit (which frees `storage`) as well.
        guard size >= 4 else {
            storage.deallocate()
            throw StrataError.corruption("block too small: \(size) bytes, a block needs at least its 4-byte footer")
        }
        let footer = loadFixed32(storage + size - 4)
        var restartsEnd = size - 4
        var hashIndex = false
        // Bit 31 flags a data-block hash index; RocksDB honours it only for
        // blocks up to 64 KiB (larger blocks cannot carry one).
        if footer & 0x8000_0000 != 0 && size <= 1 << 16 {
            guard size >= 6 else {
                storage.deallocate()
                throw StrataError.corruption("block of \(size) bytes flags a hash index but has no room for it")
            }
            let buckets = Int(loadFixed16(storage + size - 6))
            restartsEnd = size - 6 - buckets
            hashIndex = true
        }
        let count = Int(footer & 0x7FFF_FFFF)
        guard restartsEnd >= 0, count <= restartsEnd / 4 else {
            storage.deallocate()
            throw StrataError.corruption(
                "block restart count \(count) does not fit in a block of \(size) bytes")
        }
        let restarts = restartsEnd - 4 * count
        guard count >= 1 || restarts == 0 else {
            storage.deallocate()
            throw StrataError.corruption("block of \(size) bytes has entries but no restart point")
        }
        base = storage
        self.size = size
        hasHashIndex = hashIndex
        restartCount = count
        restartsOffset = restarts
    }

    /// A block with no entries (a 4-byte footer: no restarts), for an
    /// iterator that has no block yet.
    static let empty: Block = {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: 4, alignment: 8)
        storage.storeBytes(of: UInt32(0), as: UInt32.self)
        // Cannot throw: four zero bytes are a valid empty block.
        return try! Block(taking: storage, size: 4)
    }()

    /// Copies `bytes` into a new block.
    package convenience init(copying bytes: UnsafeRawBufferPointer) throws(StrataError) {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
        if bytes.count > 0 { storage.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        try self.init(taking: storage, size: bytes.count)
    }

    /// Copies `bytes` into a new block.
    package convenience init(copying bytes: [UInt8]) throws(StrataError) {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
        bytes.withUnsafeBytes { raw in
            if raw.count > 0 { storage.copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
        }
        try self.init(taking: storage, size: bytes.count)
    }

    deinit { base.deallocate() }

    /// The block's bytes (valid while the block is alive).
    package var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }

    /// An iterator over this block's entries.
    package func makeIterator(order: KeyOrder, valueFormat: BlockValueFormat = .lengthPrefixed) -> BlockIterator {
        BlockIterator(block: self, order: order, valueFormat: valueFormat)
    }
}

/// How entries store their values.
package enum BlockValueFormat: Sendable {
    /// `varint32 value_length` then the value (every block but fv ≥ 4 indexes).
    case lengthPrefixed
    /// Index blocks of format_version ≥ 4 (`rocksdb.index.value.is.delta.encoded`):
    /// no value length; a full BlockHandle where the key shares nothing with
    /// the previous key, else a varsigned size delta with the offset implied
    /// by the previous handle (spec 6.3).
    case deltaEncodedHandles
}
