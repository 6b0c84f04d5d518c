/// Writes one block-based table (an SST) in RocksDB 7.8.3's layout (spec
/// section 2): data blocks, filter, index, range deletions, properties,
/// metaindex, footer. At format_version 6 (RocksDB 8.6's layout) blocks get
/// context checksums, the index handle goes into the metaindex and the
/// footer carries its own checksum (docs/format.md).
///
/// Entries are internal keys in strictly increasing internal-key order (range
/// tombstones, type 0x0F, may come in any order: they go to their own block).
/// The builder streams data blocks to `file` as they fill; `finish` writes
/// the rest and returns the table's size. It neither syncs nor closes `file`:
/// the caller decides durability.
///
/// Ownership: one owner; not thread-safe. After an error the builder is
/// unusable (`abandon` it and delete the file).
package final class TableBuilder {
    package let options: TableOptions
    private let file: any WritableFile
    @exclusivity(unchecked)
    private var offset: UInt64 = 0

    @exclusivity(unchecked)
    private var dataBlock: BlockBuilder
    @exclusivity(unchecked)
    private var index: IndexBuilder
    @exclusivity(unchecked)
    private var fastBloom: FastLocalBloomBuilder?
    @exclusivity(unchecked)
    private var legacyBloom: LegacyBloomBuilder?
    @exclusivity(unchecked)
    private var rangeDeletions: [(key: [UInt8], value: [UInt8])] = []

    @exclusivity(unchecked)
    private var lastKey: [UInt8] = []
    @exclusivity(unchecked)
    private var lastFilterKey: [UInt8]? = nil
    @exclusivity(unchecked)
    private var pendingHandle: BlockHandle?
    @exclusivity(unchecked)
    private var compressed: [UInt8] = []
    @exclusivity(unchecked)
    private var output: [UInt8] = []
    @exclusivity(unchecked)
    private var finished = false
    /// Base of the context checksums (format_version ≥ 6), 0 before.
    private var baseContextChecksum: UInt32 = 0

    /// Properties gathered so far; complete after `finish`.
    @exclusivity(unchecked)
    package private(set) var properties = TableProperties()
    /// Smallest and largest internal keys added (point entries), for the
    /// MANIFEST; range tombstones widen them (see `largestKeyIncludingRanges`).
    @exclusivity(unchecked)
    package private(set) var smallestKey: [UInt8]? = nil
    package var largestKey: [UInt8]? { properties.numEntries > properties.numRangeDeletions ? lastKey : nil }
    /// Smallest and largest sequence numbers of the entries added.
    @exclusivity(unchecked)
    package private(set) var smallestSequence: UInt64 = .max
    @exclusivity(unchecked)
    package private(set) var largestSequence: UInt64 = 0

    /// Starts a table on `file`, which must be empty.
    package init(file: any WritableFile, options: TableOptions, fileNumber: UInt64 = 0, creationTime: UInt64 = 0,
                oldestKeyTime: UInt64? = nil, fileCreationTime: UInt64 = 0) throws(StrataError) {
        guard (2...6).contains(options.formatVersion) else {
            if options.formatVersion == 7 {
                throw .notSupported(
                    "table format_version 7 (RocksDB 10.4+'s compression-manager metadata) is read but not written by Strata; use 2...6")
            }
            throw .invalidArgument("table format_version must be 2...6, got \(options.formatVersion)")
        }
        guard options.compression == .none || options.compression == .snappy else {
            throw .notSupported("compression \(options.compression.rocksDBName): Strata writes Snappy or none")
        }
        try options.validate()  // block size, restart intervals, bloom bits
        self.file = file
        self.options = options
        if options.formatVersion >= Footer.firstContextChecksumVersion {
            // Any non-zero value works; random (as RocksDB's) so that a block
            // copied from another table fails its checksum too.
            var rng = SystemRandomNumberGenerator()
            repeat { baseContextChecksum = rng.next() } while baseContextChecksum == 0
        }
        dataBlock = BlockBuilder(restartInterval: options.blockRestartInterval)
        index = IndexBuilder(formatVersion: options.formatVersion, restartInterval: options.indexBlockRestartInterval)
        if options.bloomBitsPerKey > 0 {
            if options.formatVersion >= 5 {
                fastBloom = FastLocalBloomBuilder(bitsPerKey: options.bloomBitsPerKey)
            } else {
                legacyBloom = LegacyBloomBuilder(bitsPerKey: options.bloomBitsPerKey)
            }
        }
        var p = TableProperties()
        p.columnFamilyID = UInt64(options.columnFamilyID)
        p.columnFamilyName = options.columnFamilyName
        p.comparatorName = Bytewise.name
        p.mergeOperatorName = options.mergeOperatorName
        p.prefixExtractorName = "nullptr"
        p.propertyCollectorsNames = "[]"
        p.compressionName = options.compression.rocksDBName
        p.compressionOptions = TableBuilder.compressionOptionsText
        p.filterPolicyName = options.bloomBitsPerKey > 0 ? "bloomfilter" : nil
        p.creationTime = creationTime
        p.oldestKeyTime = oldestKeyTime ?? creationTime
        p.fileCreationTime = fileCreationTime
        p.dbID = options.dbID
        p.dbSessionID = options.dbSessionID
        p.dbHostID = options.dbHostID
        p.originalFileNumber = fileNumber
        p.wholeKeyFiltering = true
        p.prefixFiltering = false
        properties = p
    }

    /// RocksDB's text for its default `CompressionOptions`, recorded in
    /// `rocksdb.compression_options` (informational; readers ignore it).
    static let compressionOptionsText =
        "window_bits=-14; level=32767; strategy=0; max_dict_bytes=0; zstd_max_train_bytes=0; enabled=0; max_dict_buffer_bytes=0; use_zstd_dict_trainer=1; "

    /// Adjusts properties before `finish` (e.g. external-file markers).
    func setProperties(_ change: (inout TableProperties) -> Void) {
        change(&properties)
    }

    /// Entries added so far (point entries and range tombstones).
    package var entryCount: UInt64 { properties.numEntries }

    /// Bytes written so far (an estimate of the final size before `finish`).
    package var fileSize: UInt64 { offset + UInt64(dataBlock.currentSizeEstimate) }

    /// Adds one entry. `internalKey` = user key ‖ fixed64(seq << 8 | type).
    /// Throws `.invalidArgument` if keys are out of order or malformed.
    package func add(internalKey: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws(StrataError) {
        precondition(!finished, "add after finish")
        guard let parsed = ParsedInternalKey(internalKey) else {
            throw .invalidArgument("internal key of \(internalKey.count) bytes is shorter than its 8-byte trailer")
        }
        noteSequence(parsed.sequence)
        if parsed.typeCode == ValueType.rangeDeletion.rawValue {
            rangeDeletions.append((Array(internalKey), Array(value)))
            properties.numEntries += 1
            properties.numDeletions += 1
            properties.numRangeDeletions += 1
            properties.rawKeySize += UInt64(internalKey.count)
            properties.rawValueSize += UInt64(value.count)
            return
        }
        if properties.numEntries - properties.numRangeDeletions > 0 {
            let order = lastKey.withUnsafeBytes { InternalKey.compare($0, internalKey) }
            guard order < 0 else {
                throw .invalidArgument("keys must be added in increasing internal-key order")
            }
        } else {
            smallestKey = Array(internalKey)
        }

        // Close the current block first if this entry would overflow it
        // (RocksDB's FlushBlockBySizePolicy).
        if !dataBlock.isEmpty && blockIsFull(keySize: internalKey.count, valueSize: value.count) {
            try flushDataBlock()
        }
        if let handle = pendingHandle {
            index.addEntry(lastKey: lastKey, nextKey: Array(internalKey), handle: handle)
            pendingHandle = nil
        }

        let userKey = parsed.userKey
        if fastBloom != nil || legacyBloom != nil {
            let same = lastFilterKey.map { last in last.withUnsafeBytes { Bytewise.compare($0, userKey) == 0 } } ?? false
            if !same {
                fastBloom?.addKey(userKey)
                legacyBloom?.addKey(userKey)
                properties.numFilterEntries += 1
                if lastFilterKey == nil { lastFilterKey = [] }
                lastFilterKey!.assign(userKey)
            }
        }

        dataBlock.add(key: internalKey, value: value)
        lastKey.assign(internalKey)

        properties.numEntries += 1
        properties.rawKeySize += UInt64(internalKey.count)
        properties.rawValueSize += UInt64(value.count)
        switch parsed.typeCode {
        case ValueType.deletion.rawValue, ValueType.singleDeletion.rawValue: properties.numDeletions += 1
        case ValueType.merge.rawValue: properties.numMergeOperands += 1
        default: break
        }
    }

    /// Adds one entry given as arrays.
    package func add(internalKey: [UInt8], value: [UInt8]) throws(StrataError) {
        var result: Result<Void, StrataError> = .success(())
        internalKey.withUnsafeBytes { k in
            value.withUnsafeBytes { v in
                do throws(StrataError) { try add(internalKey: k, value: v) } catch { result = .failure(error) }
            }
        }
        try result.get()
    }

    /// Adds a range tombstone deleting user keys in [begin, end) at `sequence`.
    package func addRangeDeletion(begin: [UInt8], end: [UInt8], sequence: UInt64) throws(StrataError) {
        try add(internalKey: InternalKey.make(begin, sequence: sequence, type: ValueType.rangeDeletion.rawValue), value: end)
    }

    private func noteSequence(_ s: UInt64) {
        smallestSequence = min(smallestSequence, s)
        largestSequence = max(largestSequence, s)
    }

    private func blockIsFull(keySize: Int, valueSize: Int) -> Bool {
        let current = dataBlock.currentSizeEstimate
        if current >= options.blockSize { return true }
        guard options.blockSizeDeviation > 0 else { return false }
        let deviationLimit = (options.blockSize * (100 - options.blockSizeDeviation) + 99) / 100
        return dataBlock.estimatedSizeAfter(keySize: keySize, valueSize: valueSize) > options.blockSize
            && current > deviationLimit
    }

    private func flushDataBlock() throws(StrataError) {
        guard !dataBlock.isEmpty else { return }
        let contents = dataBlock.finish()
        pendingHandle = try writeBlock(contents, compress: true)
        properties.numDataBlocks += 1
        properties.dataSize = offset
    }

    /// Writes `contents` with its trailer (compressed if that pays) and returns its handle.
    @discardableResult
    private func writeBlock(_ contents: [UInt8], compress: Bool) throws(StrataError) -> BlockHandle {
        var type = CompressionType.none
        var useCompressed = false
        if compress && options.compression == .snappy && contents.count < Int(Int32.max) {
            contents.withUnsafeBytes { Snappy.compress($0, into: &compressed) }
            if shouldKeepCompressed(rawSize: contents.count, compressedSize: compressed.count) {
                type = .snappy
                useCompressed = true
            }
        }
        output.removeAll(keepingCapacity: true)
        output.append(contentsOf: useCompressed ? compressed : contents)
        let handle = BlockHandle(offset: offset, size: UInt64(output.count))
        output.append(type.rawValue)
        let checksum = output.withUnsafeBytes { blockChecksum(options.checksum, blockAndType: $0) }
        output.appendFixed32(checksum &+ contextChecksumModifier(base: baseContextChecksum, offset: handle.offset))
        try append(output)
        return handle
    }

    private func append(_ bytes: [UInt8]) throws(StrataError) {
        do {
            try file.append(bytes)
        } catch let error as StrataError {
            throw error
        } catch {
            throw .ioError("append failed: \(error)", file: file.path, offset: offset)
        }
        offset += UInt64(bytes.count)
    }

    /// Writes the remaining blocks and the footer. Returns the file size.
    /// Does not sync or close the file.
    @discardableResult
    package func finish() throws(StrataError) -> UInt64 {
        precondition(!finished, "finish called twice")
        finished = true
        try flushDataBlock()
        properties.dataSize = offset
        if let handle = pendingHandle {
            index.addEntry(lastKey: lastKey, nextKey: nil, handle: handle)
            pendingHandle = nil
        }

        var metaEntries: [(key: [UInt8], handle: BlockHandle)] = []
        // Filter block (never compressed).
        var filter: [UInt8]? = nil
        if fastBloom != nil { filter = fastBloom!.finish() }
        if legacyBloom != nil { filter = legacyBloom!.finish() }
        if let filter {
            let handle = try writeBlock(filter, compress: false)
            properties.filterSize = UInt64(filter.count)
            metaEntries.append((Array("fullfilter.rocksdb.BuiltinBloomFilter".utf8), handle))
        }

        // Index block.
        let (indexContents, userKeys) = index.finish()
        properties.indexKeyIsUserKey = userKeys
        properties.indexValueIsDeltaEncoded = index.valuesDeltaEncoded
        properties.indexSize = UInt64(indexContents.count + blockTrailerSize)
        let indexHandle = try writeBlock(indexContents, compress: options.enableIndexCompression)
        if options.formatVersion >= Footer.firstContextChecksumVersion {
            // From format_version 6 the footer has no room for it.
            metaEntries.append((Array(TableReader.indexBlockName.utf8), indexHandle))
        }

        // Range deletions, sorted by internal key.
        if !rangeDeletions.isEmpty {
            rangeDeletions.sort { InternalKey.compare($0.key, $1.key) < 0 }
            var block = BlockBuilder(restartInterval: 1)
            for tombstone in rangeDeletions { block.add(tombstone.key, tombstone.value) }
            let handle = try writeBlock(block.finish(), compress: false)
            metaEntries.append((Array("rocksdb.range_del".utf8), handle))
        }

        // Properties block: one restart point, never compressed.
        var propsBlock = BlockBuilder(restartInterval: Int(Int32.max))
        for entry in properties.encodedEntries() { propsBlock.add(entry.key, entry.value) }
        let propsHandle = try writeBlock(propsBlock.finish(), compress: false)
        metaEntries.append((Array("rocksdb.properties".utf8), propsHandle))

        // Metaindex: names sorted bytewise.
        metaEntries.sort { Bytewise.compare($0.key, $1.key) < 0 }
        var metaBlock = BlockBuilder(restartInterval: 1)
        for entry in metaEntries {
            var value: [UInt8] = []
            entry.handle.encode(to: &value)
            metaBlock.add(entry.key, value)
        }
        let metaHandle = try writeBlock(metaBlock.finish(), compress: false)

        let footer = Footer(
            checksumType: options.checksum.rawValue, metaindexHandle: metaHandle,
            indexHandle: indexHandle, formatVersion: options.formatVersion, baseContextChecksum: baseContextChecksum)
        try append(footer.encode(footerOffset: offset))
        return offset
    }

    /// The largest internal key covering everything in the table: the last
    /// point key, or a range tombstone's end (as (end, max seq, 0x0F)) when
    /// that is larger — what the MANIFEST records (spec section 8).
    package var largestKeyIncludingRanges: [UInt8]? {
        var largest = largestKey
        for tombstone in rangeDeletions {
            let bound = InternalKey.make(tombstone.value, sequence: maxSequenceNumber, type: ValueType.rangeDeletion.rawValue)
            if largest == nil || InternalKey.compare(bound, largest!) > 0 { largest = bound }
        }
        return largest
    }

    /// The smallest internal key covering everything in the table.
    package var smallestKeyIncludingRanges: [UInt8]? {
        var smallest = smallestKey
        for tombstone in rangeDeletions where smallest == nil || InternalKey.compare(tombstone.key, smallest!) < 0 {
            smallest = tombstone.key
        }
        return smallest
    }
}
