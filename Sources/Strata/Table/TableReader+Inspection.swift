/// Whole-table inspection for tools (`sst-dump --command=verify|blocks|raw`):
/// every block with its stored form, checksum and contents.
extension TableReader {
    /// One block of the table as stored.
    package struct BlockInfo: Sendable {
        /// "data", "index", "filter", "properties", "metaindex", "range_del" or another meta block name.
        package var kind: String
        /// Where it is (size excludes the 5-byte trailer).
        package var handle: BlockHandle
        /// Compression type byte of the trailer.
        package var compressionType: UInt8
        /// Checksum stored in the trailer, and the one expected from the
        /// bytes (with the context modifier of the block's offset added for
        /// format_version ≥ 6).
        package var storedChecksum: UInt32
        package var computedChecksum: UInt32
        /// Size after decompression (nil if it could not be decompressed).
        package var uncompressedSize: Int?
        /// Entries in the block (nil for filter blocks and undecodable blocks).
        package var entryCount: Int?
        /// First and last keys (as stored: internal keys in data blocks).
        package var firstKey: [UInt8]?
        package var lastKey: [UInt8]?
        /// True for a properties block whose stored checksum matches only
        /// with the global seqno property's 8 bytes zeroed: RocksDB's (and
        /// Strata's) `write_global_seqno` wrote the ingested file's seqno
        /// over them after the checksum was computed. Readers accept it, as
        /// RocksDB's `ReadTablePropertiesHelper` does.
        package var checksumMatchesWithGlobalSeqnoZeroed = false

        /// True if the stored checksum matches (always true for kNoChecksum),
        /// including the rewritten-global-seqno case above.
        package var checksumMatches: Bool {
            storedChecksum == computedChecksum || checksumMatchesWithGlobalSeqnoZeroed
        }
    }

    /// Separator keys and handles of every data block, in file order.
    package func dataBlockHandles() throws -> [(separator: [UInt8], handle: BlockHandle)] {
        var result: [(separator: [UInt8], handle: BlockHandle)] = []
        let it = makeIndexIterator()
        it.seekToFirst()
        while it.isValid {
            result.append((it.keyArray, try indexHandle(it)))
            it.next()
        }
        if let error = it.error { throw error.located(file: path, offset: indexHandle.offset) }
        return result
    }

    /// Reads and describes the block at `handle` without failing on a bad
    /// checksum (the mismatch is reported in the result). Throws only if the
    /// bytes cannot be read at all.
    package func inspectBlock(_ handle: BlockHandle, kind: String) throws -> BlockInfo {
        let (storage, type) = try TableReader.readStored(file: file, handle: handle, checksum: checksumType,
                                                         context: baseContextChecksum, verify: false,
                                                         what: "\(kind) block")
        let size = Int(handle.size)
        let stored = loadFixed32(storage + size + 1)
        // With context checksums (format_version ≥ 6) the expected stored
        // value includes the modifier of this offset.
        let modifier = contextChecksumModifier(base: baseContextChecksum, offset: handle.offset)
        let computed = checksumType == .none && baseContextChecksum == 0
            ? stored
            : blockChecksum(checksumType, blockAndType: UnsafeRawBufferPointer(start: storage, count: size + 1)) &+ modifier
        storage.deallocate()
        var info = BlockInfo(kind: kind, handle: handle, compressionType: type, storedChecksum: stored,
                             computedChecksum: computed, uncompressedSize: nil, entryCount: nil, firstKey: nil, lastKey: nil)
        if kind == "properties" && stored != computed {
            info.checksumMatchesWithGlobalSeqnoZeroed = (try? TableReader.readPropertiesAllowingGlobalSeqno(
                file: file, handle: handle, checksum: checksumType, context: baseContextChecksum)) != nil
        }
        if kind == "filter" {
            info.uncompressedSize = size
            return info
        }
        guard let block = try? TableReader.readBlock(file: file, handle: handle, checksum: checksumType,
                                                     context: baseContextChecksum, verify: false, what: "\(kind) block")
        else { return info }
        info.uncompressedSize = block.size
        let format: BlockValueFormat = kind == "index" && indexValueIsDeltaEncoded ? .deltaEncodedHandles : .lengthPrefixed
        let order: KeyOrder = kind == "data" || kind == "range_del" || (kind == "index" && !indexKeyIsUserKey)
            ? .internalKey : .bytewise
        let it = block.makeIterator(order: order, valueFormat: format)
        var count = 0
        // One buffer for the last key, not an array per entry.
        var lastKey: [UInt8] = []
        it.seekToFirst()
        while it.isValid {
            if count == 0 { info.firstKey = it.keyArray }
            lastKey.removeAll(keepingCapacity: true)
            lastKey.append(contentsOf: it.key)
            count += 1
            it.next()
        }
        if count > 0 { info.lastKey = lastKey }
        if it.error == nil { info.entryCount = count }
        return info
    }

    /// Every block of the table in file order: data blocks, then the meta
    /// blocks, the index and the metaindex.
    package func allBlocks() throws -> [BlockInfo] {
        var blocks: [BlockInfo] = []
        for (_, handle) in try dataBlockHandles() { blocks.append(try inspectBlock(handle, kind: "data")) }
        // format_version ≥ 6 lists the index in the metaindex: it is added below.
        for (name, handle) in metaindex where name != TableReader.indexBlockName {
            let kind: String
            if name.hasPrefix("fullfilter.") || name.hasPrefix("filter.") || name.hasPrefix("partitionedfilter.") {
                kind = "filter"
            } else if name == "rocksdb.properties" || name == "rocksdb.stats" {
                kind = "properties"
            } else if name == "rocksdb.range_del" {
                kind = "range_del"
            } else {
                kind = name
            }
            blocks.append(try inspectBlock(handle, kind: kind))
        }
        blocks.append(try inspectBlock(indexHandle, kind: "index"))
        blocks.append(try inspectBlock(footer.metaindexHandle, kind: "metaindex"))
        blocks.sort { $0.handle.offset < $1.handle.offset }
        return blocks
    }

    /// Reads every block, verifying every checksum and decoding every entry.
    /// Throws `.corruption` naming the file and the offset of the first bad block.
    /// A properties block whose checksum matches with the global seqno field
    /// zeroed (an ingested file's seqno written in place) is accepted, as
    /// RocksDB's `VerifyChecksum` accepts it.
    package func verifyAll() throws {
        // The previous key, in one reused buffer (empty before the first:
        // keys have at least their 8-byte trailer), across blocks.
        var previous: [UInt8] = []
        for (_, handle) in try dataBlockHandles() {
            let block = try TableReader.readBlock(file: file, handle: handle, checksum: checksumType,
                                                  context: baseContextChecksum, verify: true, what: "data block")
            let it = block.makeIterator(order: .internalKey)
            it.seekToFirst()
            while it.isValid {
                guard it.key.count >= 8 else {
                    throw StrataError.corruption("data block key shorter than its 8-byte trailer", file: path, offset: handle.offset)
                }
                if let error = TableEntryType.error(typeCode: it.key[it.key.count - 8], entryOffset: it.entryOffset) {
                    throw error.located(file: path, offset: handle.offset)
                }
                if !previous.isEmpty, previous.withUnsafeBytes({ InternalKey.compare($0, it.key) }) >= 0 {
                    throw StrataError.corruption("data block keys out of order at block offset \(it.entryOffset)",
                                                 file: path, offset: handle.offset)
                }
                previous.removeAll(keepingCapacity: true)
                previous.append(contentsOf: it.key)
                it.next()
            }
            if let error = it.error { throw error.located(file: path, offset: handle.offset) }
        }
        for (name, handle) in metaindex {
            do {
                _ = try TableReader.readStored(file: file, handle: handle, checksum: checksumType,
                                               context: baseContextChecksum, verify: true, what: "\(name) block").0.deallocate()
            } catch let error as StrataError where error.kind == .corruption && TableReader.isPropertiesBlockName(name) {
                // An ingested table whose global seqno was written in place
                // after its checksum (write_global_seqno): RocksDB's
                // VerifyChecksumInMetaBlocks reads the properties block
                // through ReadTablePropertiesHelper, which accepts exactly
                // that. Any other mismatch is still corruption.
                guard (try? TableReader.readPropertiesAllowingGlobalSeqno(
                    file: file, handle: handle, checksum: checksumType, context: baseContextChecksum)) != nil
                else { throw error }
            }
        }
    }
}
