import Synchronization

/// Options for opening a table.
package struct TableReaderOptions: Sendable {
    /// Verify every block's checksum when it is read from the file (not when
    /// it comes from the cache). Default true. RocksDB: `ReadOptions::verify_checksums`.
    package var verifyChecksums: Bool = true
    /// Shared cache of uncompressed data blocks; nil reads every block from
    /// the file. RocksDB: `BlockBasedTableOptions::block_cache`.
    package var blockCache: BlockCache? = nil
    /// Charged with the bytes of the index and filter blocks each open
    /// table keeps in memory, from open until the reader is freed; nil
    /// (default) = not accounted. A database passes one that forwards to its
    /// memory budget (RocksDB `cache_index_and_filter_blocks`, as pinned
    /// reservations) and reports it as `strata.estimate-table-readers-mem`.
    package var memoryCharge: MemoryCharge? = nil
    /// Counts the data blocks table iterators load (scans and compactions);
    /// nil (default) = not counted. Point lookups count their own
    /// (`TableReader.get(userKey:sequence:reads:_:)`).
    package var readCounters: BlockReadCounters? = nil
    /// Read the table through a read-only memory mapping of the whole file
    /// (where the file system can map: `FileSystem.openMappedRandomAccess`)
    /// instead of `pread` into buffers. Default false.
    /// RocksDB: `DBOptions::allow_mmap_reads`.
    package var allowMmapReads: Bool = false
    /// The MANIFEST's largest sequence number of the table being opened: an
    /// external (ingested) table reads every entry at it, its global
    /// sequence number (see `TableReader.globalSequence`). nil (default) =
    /// unknown: the table's own global seqno property applies.
    package var largestSequence: UInt64? = nil
    /// Default options.
    package init() {}
}

/// Data blocks read, from the block cache or from the file, for the read
/// amplification counters (R-Amp).
package struct BlockReads: Sendable {
    /// Blocks found in the block cache.
    package var fromCache: UInt64 = 0
    /// Blocks read from the file (cache misses, or no cache).
    package var fromDisk: UInt64 = 0
    /// Bytes read from the file for them (stored size plus the 5-byte trailer).
    package var bytesFromDisk: UInt64 = 0
    /// No reads.
    package init() {}
}

/// Shared counters of the data blocks table iterators load, updated once
/// per block loaded (not per key). Thread safety: atomics.
package final class BlockReadCounters: Sendable {
    /// Blocks found in the block cache.
    package let fromCache = Atomic<UInt64>(0)
    /// Blocks read from the file.
    package let fromDisk = Atomic<UInt64>(0)
    /// Bytes read from the file for them.
    package let bytesFromDisk = Atomic<UInt64>(0)
    /// Counters at zero.
    package init() {}

    /// Adds one block's read.
    @inline(__always)
    func count(fromCache hit: Bool, bytes: UInt64) {
        if hit {
            fromCache.add(1, ordering: .relaxed)
        } else {
            fromDisk.add(1, ordering: .relaxed)
            bytesFromDisk.add(bytes, ordering: .relaxed)
        }
    }
}

/// The block cache: uncompressed data blocks keyed by (table id, offset).
package typealias BlockCache = LRUCache<BlockCacheKey, Block>

/// Ids that tell open tables apart in the shared block cache.
private let nextTableCacheID = Atomic<UInt64>(1)

/// An open block-based table (SST), written by Strata or by RocksDB, format
/// versions 0 to 7 (spec sections 2–11; docs/format.md for 6 and 7: context
/// checksums, the checksummed footer, the index handle in the metaindex,
/// format_version 7's compression-manager property).
///
/// Opening reads the footer, metaindex, properties, index, filter and range
/// deletions; index and filter stay pinned in memory for the reader's life.
/// Data blocks are read on demand (through the block cache when one is
/// configured), their checksums verified and decompressed.
///
/// Thread safety: immutable after open; any number of threads may call
/// `get` and create iterators concurrently.
package final class TableReader: Sendable {
    /// The path the table was opened from.
    package let path: String
    let file: any RandomAccessFile
    /// File size in bytes.
    package let fileSize: UInt64
    /// The decoded footer.
    package let footer: Footer
    /// Checksum type of every block (from the footer).
    package let checksumType: ChecksumType
    /// Base of the context checksums (format_version ≥ 6; 0 before).
    package let baseContextChecksum: UInt32
    /// Handle of the index block: from the footer before format_version 6,
    /// from the metaindex's `rocksdb.index` entry since.
    package let indexHandle: BlockHandle
    /// Table properties (defaults when the file has none, as very old files).
    package let properties: TableProperties
    /// Whether the file has a properties block.
    package let hasProperties: Bool
    /// The pinned index block.
    package let indexBlock: Block
    /// True if index keys are user keys (property `rocksdb.index.key.is.user.key`).
    package let indexKeyIsUserKey: Bool
    /// True if index values are delta encoded (`rocksdb.index.value.is.delta.encoded`).
    package let indexValueIsDeltaEncoded: Bool
    /// The filter, if the table has a full filter.
    package let filter: FilterReader?
    /// Handle of the filter block, if any.
    package let filterHandle: BlockHandle?
    /// Range tombstones (begin internal key, end user key), in internal-key order.
    package let rangeTombstones: [(begin: [UInt8], end: [UInt8])]
    /// The same tombstones fragmented for lookups, made once at open.
    package let fragmentedRangeTombstones: RangeTombstoneList
    /// The sequence number every entry reads with (an ingested external
    /// table's global sequence number), or nil when the stored ones apply.
    package let globalSequence: UInt64?
    /// The metaindex entries (name → handle).
    package let metaindex: [(name: String, handle: BlockHandle)]
    let options: TableReaderOptions
    let cacheID: UInt64
    /// Bytes charged to `options.memoryCharge` (index and filter blocks).
    let chargedBytes: Int

    /// Opens the table at `path`. Throws `.corruption` (naming the file and
    /// offset) for anything malformed — a misplaced block of a format_version
    /// ≥ 6 table included — `.notSupported` (naming the feature) for what
    /// Strata cannot honour: compression types other than none and Snappy, a
    /// format_version 7 compression manager other than RocksDB's built-in
    /// one, keys and values stored apart, partitioned or user-defined
    /// indexes; `.ioError` if the file cannot be read.
    package static func open(path: String, fileSystem: any FileSystem = PosixFileSystem.shared,
                            options: TableReaderOptions = TableReaderOptions()) throws -> TableReader {
        let file = try options.allowMmapReads ? fileSystem.openMappedRandomAccess(path) : fileSystem.openRandomAccess(path)
        do {
            return try TableReader(file: file, options: options)
        } catch let error as StrataError {
            file.close()
            throw error.located(file: path)
        }
    }

    /// Opens a table over an already open file.
    package init(file: any RandomAccessFile, options: TableReaderOptions = TableReaderOptions()) throws {
        self.file = file
        path = file.path
        fileSize = file.size
        self.options = options
        cacheID = nextTableCacheID.add(1, ordering: .relaxed).oldValue

        let tailSize = Int(min(UInt64(Footer.encodedLength), fileSize))
        guard tailSize >= Footer.legacyEncodedLength else {
            throw StrataError.corruption(
                "file is too short to be an SST: \(fileSize) bytes, the footer alone takes \(Footer.legacyEncodedLength) or \(Footer.encodedLength)",
                file: file.path, offset: 0)
        }
        let tailOffset = fileSize - UInt64(tailSize)
        let tail = try file.read(at: tailOffset, count: tailSize)
        do {
            footer = try tail.withUnsafeBytes { (raw) throws(StrataError) in try Footer.decode(raw, tailOffset: tailOffset) }
        } catch let error as StrataError {
            // Footer offsets are relative to the tail: make them file offsets.
            throw StrataError(error.kind, error.message, file: file.path, offset: tailOffset + (error.offset ?? 0))
        }
        guard let checksum = ChecksumType(rawValue: footer.checksumType) else {
            throw StrataError.corruption("unknown checksum type \(footer.checksumType) in footer", file: file.path, offset: tailOffset)
        }
        checksumType = checksum
        let context = footer.baseContextChecksum
        baseContextChecksum = context

        // Metaindex, then properties: they decide how to read the index.
        let metaBlock = try TableReader.readBlock(file: file, handle: footer.metaindexHandle, checksum: checksum,
                                                  context: context, verify: true, what: "metaindex block")
        var meta: [(String, BlockHandle)] = []
        let metaIter = metaBlock.makeIterator(order: .bytewise)
        metaIter.seekToFirst()
        while metaIter.isValid {
            var cursor = ByteCursor(metaIter.value)
            guard let handle = BlockHandle.decode(from: &cursor) else {
                throw StrataError.corruption("bad block handle in metaindex entry \(String(decoding: metaIter.key, as: UTF8.self))",
                                             file: file.path, offset: footer.metaindexHandle.offset)
            }
            meta.append((String(decoding: metaIter.key, as: UTF8.self), handle))
            metaIter.next()
        }
        if let error = metaIter.error { throw error.located(file: file.path, offset: footer.metaindexHandle.offset) }
        metaindex = meta

        if let propsHandle = meta.first(where: { $0.0 == "rocksdb.properties" || $0.0 == "rocksdb.stats" })?.1 {
            let block: Block
            do {
                block = try TableReader.readBlock(file: file, handle: propsHandle, checksum: checksum, context: context,
                                                  verify: true, what: "properties block")
            } catch let error as StrataError where error.kind == .corruption {
                // RocksDB's write_global_seqno leaves the checksum of the
                // block as it was before the seqno was written.
                guard let repaired = try? TableReader.readPropertiesAllowingGlobalSeqno(
                    file: file, handle: propsHandle, checksum: checksum, context: context) else { throw error }
                block = repaired
            }
            var entries: [(key: [UInt8], value: [UInt8])] = []
            let it = block.makeIterator(order: .bytewise)
            it.seekToFirst()
            var previous: [UInt8]? = nil
            while it.isValid {
                let key = it.keyArray
                if let previous, Bytewise.compare(previous, key) >= 0 {
                    throw StrataError.corruption("properties block keys are not sorted at \(String(decoding: key, as: UTF8.self))",
                                                 file: file.path, offset: propsHandle.offset)
                }
                entries.append((key, it.valueArray))
                previous = key
                it.next()
            }
            if let error = it.error { throw error.located(file: file.path, offset: propsHandle.offset) }
            do {
                properties = try TableProperties(entries: entries)
            } catch {
                throw error.located(file: file.path, offset: propsHandle.offset)
            }
            hasProperties = true
        } else {
            properties = TableProperties()
            hasProperties = false
        }
        globalSequence = try TableReader.globalSequence(properties: properties, largestSequence: options.largestSequence,
                                                        file: file.path)
        indexKeyIsUserKey = properties.indexKeyIsUserKey
        indexValueIsDeltaEncoded = properties.indexValueIsDeltaEncoded
        do {
            try properties.checkReadable(formatVersion: footer.formatVersion)
        } catch {
            throw error.located(file: file.path, offset: meta.first(where: { $0.0 == "rocksdb.properties" })?.1.offset ?? 0)
        }

        if footer.formatVersion >= Footer.firstContextChecksumVersion {
            guard let handle = meta.first(where: { $0.0 == TableReader.indexBlockName })?.1 else {
                throw StrataError.corruption(
                    "format_version \(footer.formatVersion) table has no \(TableReader.indexBlockName) entry in its metaindex (the index handle is not in its footer)",
                    file: file.path, offset: footer.metaindexHandle.offset)
            }
            indexHandle = handle
        } else {
            indexHandle = footer.indexHandle
        }
        indexBlock = try TableReader.readBlock(file: file, handle: indexHandle, checksum: checksum, context: context,
                                               verify: true, what: "index block")

        // Filter: full filters only (partitioned and block-based filters are not read).
        let filterNames = [
            "fullfilter.rocksdb.BuiltinBloomFilter", "fullfilter.rocksdb.internal.FastLocalBloomFilter",
            "fullfilter.rocksdb.internal.LegacyBloomFilter", "fullfilter.bloomfilter",
        ]
        if let entry = meta.first(where: { filterNames.contains($0.0) }) {
            let block = try TableReader.readRaw(file: file, handle: entry.1, checksum: checksum, context: context,
                                                verify: true, what: "filter block")
            filter = FilterReader(block)
            filterHandle = entry.1
        } else {
            filter = nil
            filterHandle = nil
        }

        var tombstones: [(begin: [UInt8], end: [UInt8])] = []
        if let handle = meta.first(where: { $0.0 == "rocksdb.range_del" })?.1 {
            let block = try TableReader.readBlock(file: file, handle: handle, checksum: checksum, context: context,
                                                  verify: true, what: "range deletion block")
            let it = block.makeIterator(order: .internalKey)
            it.seekToFirst()
            while it.isValid {
                guard let parsed = ParsedInternalKey(it.key), parsed.typeCode == ValueType.rangeDeletion.rawValue else {
                    throw StrataError.corruption("range deletion block entry is not a range tombstone",
                                                 file: file.path, offset: handle.offset)
                }
                tombstones.append((it.keyArray, it.valueArray))
                it.next()
            }
            if let error = it.error { throw error.located(file: file.path, offset: handle.offset) }
        }
        if let globalSequence { tombstones = TableReader.applyingGlobalSequence(globalSequence, to: tombstones) }
        rangeTombstones = tombstones
        fragmentedRangeTombstones = tombstones.isEmpty ? .empty : RangeTombstoneList(internalTombstones: tombstones)
        // Index and filter stay in memory for the reader's life: charged
        // now, given back in deinit.
        chargedBytes = indexBlock.size + Int(filterHandle?.size ?? 0)
        options.memoryCharge?.add(chargedBytes)
    }

    deinit {
        file.close()
        options.memoryCharge?.add(-chargedBytes)
    }

    /// Bytes of the index and filter blocks this reader keeps in memory.
    package var indexAndFilterBytes: Int { chargedBytes }

    // MARK: Data blocks (reading one block: TableReader+BlockRead.swift)

    /// A data block, from the cache or the file.
    func dataBlock(_ handle: BlockHandle) throws -> Block {
        var reads = BlockReads()
        return try dataBlock(handle, reads: &reads)
    }

    /// A data block, from the cache or the file, counted in `reads`; a
    /// block read from the file is inserted into the cache if `fillCache`.
    @inline(__always)
    func dataBlock(_ handle: BlockHandle, fillCache: Bool = true, reads: inout BlockReads) throws -> Block {
        if let cache = options.blockCache {
            let key = BlockCacheKey(fileID: cacheID, offset: handle.offset)
            if let block = cache.lookup(key) {
                reads.fromCache &+= 1
                return block
            }
            let block = try readDataBlock(handle, reads: &reads)
            if fillCache { cache.insert(key, block, charge: block.size) }
            return block
        }
        return try readDataBlock(handle, reads: &reads)
    }

    private func readDataBlock(_ handle: BlockHandle, reads: inout BlockReads) throws -> Block {
        let block = try TableReader.readBlock(file: file, handle: handle, checksum: checksumType,
                                              context: baseContextChecksum, verify: options.verifyChecksums,
                                              what: "data block")
        reads.fromDisk &+= 1
        reads.bytesFromDisk &+= handle.size &+ UInt64(blockTrailerSize)
        return block
    }

    /// A data block for an iterator: pinned in the cache (when there is
    /// one) until the caller releases the handle, so the cache counts it as
    /// in use and does not evict it; counted in `options.readCounters`.
    /// With `fillCache` false a block not in the cache is read from the file
    /// and not inserted (no handle): compactions read that way, as RocksDB
    /// does, so one compaction does not evict the blocks lookups need.
    func pinnedDataBlock(_ handle: BlockHandle, fillCache: Bool = true) throws -> (block: Block, handle: BlockCache.Handle?) {
        var reads = BlockReads()
        defer { options.readCounters?.count(fromCache: reads.fromCache > 0, bytes: reads.bytesFromDisk) }
        guard let cache = options.blockCache else { return (try readDataBlock(handle, reads: &reads), nil) }
        let key = BlockCacheKey(fileID: cacheID, offset: handle.offset)
        if let found = cache.lookupPinned(key) {
            reads.fromCache = 1
            return (found.value, found.handle)
        }
        let block = try readDataBlock(handle, reads: &reads)
        guard fillCache else { return (block, nil) }
        return (block, cache.insertPinned(key, block, charge: block.size))
    }

    /// An iterator over the index block (values decoded as block handles by `indexHandle(_:)`).
    func makeIndexIterator() -> BlockIterator {
        indexBlock.makeIterator(order: indexKeyIsUserKey ? .bytewise : .internalKey,
                                valueFormat: indexValueIsDeltaEncoded ? .deltaEncodedHandles : .lengthPrefixed)
    }

    /// The block handle of the index iterator's current entry.
    func indexHandle(_ it: BlockIterator) throws -> BlockHandle {
        if indexValueIsDeltaEncoded { return it.handle }
        var cursor = ByteCursor(it.value)
        guard let handle = BlockHandle.decode(from: &cursor) else {
            throw StrataError.corruption("bad block handle in index entry at index offset \(it.entryOffset)",
                                         file: path, offset: indexHandle.offset)
        }
        return handle
    }

    // MARK: Lookups

    /// True if the filter allows that `userKey` may be in the table (always
    /// true without a filter).
    package func mayContain(userKey: UnsafeRawBufferPointer) -> Bool {
        filter?.mayMatch(userKey) ?? true
    }

    /// Visits the entries of `userKey` with sequence ≤ `sequence`, newest
    /// first, calling `body(parsedKey, value)` until it returns false. Does
    /// not consult range tombstones (the caller applies `rangeTombstones`).
    /// Returns false if the filter ruled the key out without reading a block.
    @discardableResult
    package func get(userKey: UnsafeRawBufferPointer, sequence: UInt64 = maxSequenceNumber,
                    _ body: (ParsedInternalKey, UnsafeRawBufferPointer) throws -> Bool) throws -> Bool {
        var reads = BlockReads()
        return try get(userKey: userKey, sequence: sequence, reads: &reads, body)
    }

    /// `get`, adding the data blocks it reads to `reads`; with `fillCache`
    /// false, blocks read from the file are not inserted into the block
    /// cache (RocksDB `ReadOptions::fill_cache`).
    @discardableResult
    package func get(userKey: UnsafeRawBufferPointer, sequence: UInt64 = maxSequenceNumber, fillCache: Bool = true,
                    reads: inout BlockReads,
                    _ body: (ParsedInternalKey, UnsafeRawBufferPointer) throws -> Bool) throws -> Bool {
        if let filter, !filter.mayMatch(userKey) { return false }
        let index = makeIndexIterator()
        // The seek key, user key ‖ (sequence, highest type), on the stack
        // for short keys (no allocation per probe).
        try withUnsafeTemporaryAllocation(byteCount: userKey.count + 8, alignment: 8) { buffer in
            if userKey.count > 0 { buffer.baseAddress!.copyMemory(from: userKey.baseAddress!, byteCount: userKey.count) }
            storeFixed64(buffer.baseAddress! + userKey.count, packSequenceAndType(sequence, ValueType.forSeekCode))
            let seekKey = UnsafeRawBufferPointer(buffer)
            if indexKeyIsUserKey { index.seek(userKey) } else { index.seek(seekKey) }
            var dataIter: BlockIterator? = nil
            while index.isValid {
                let block = try dataBlock(try indexHandle(index), fillCache: fillCache, reads: &reads)
                if let dataIter { dataIter.reset(block: block, order: .internalKey) } else {
                    dataIter = block.makeIterator(order: .internalKey)
                }
                let it = dataIter!
                it.seek(seekKey)
                while it.isValid {
                    guard var parsed = ParsedInternalKey(it.key) else {
                        throw StrataError.corruption("data block key shorter than 8 bytes", file: path,
                                                     offset: try indexHandle(index).offset)
                    }
                    if Bytewise.compare(parsed.userKey, userKey) != 0 { return }
                    if let error = TableEntryType.error(typeCode: parsed.typeCode, entryOffset: it.entryOffset) {
                        throw error.located(file: path, offset: try indexHandle(index).offset)
                    }
                    if let globalSequence {
                        // Every entry of an ingested table has this sequence.
                        if globalSequence > sequence { return }
                        parsed.sequence = globalSequence
                    }
                    if try !body(parsed, it.value) { return }
                    it.next()
                }
                if let error = it.error { throw error.located(file: path, offset: try indexHandle(index).offset) }
                // The key may continue in the next block (internal-key index only).
                if indexKeyIsUserKey { return }
                index.next()
            }
            if let error = index.error { throw error.located(file: path, offset: indexHandle.offset) }
        }
        return true
    }

    /// An iterator over every entry of the table in internal-key order.
    /// `fillCache` false: blocks it reads from the file are not inserted
    /// into the block cache (RocksDB `ReadOptions::fill_cache`).
    package func makeIterator(fillCache: Bool = true) -> TableIterator {
        TableIterator(table: self, fillCache: fillCache)
    }
}

/// Lowercase 8-digit hex of a 32-bit value, for messages.
func hex32(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 8 - s.count)) + s
}
