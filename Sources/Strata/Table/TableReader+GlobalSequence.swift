/// External files' global sequence number (RocksDB
/// `GetGlobalSequenceNumber`, table/block_based/block_based_table_reader.cc).
///
/// A table written by an SST file writer stores every entry at sequence 0
/// and carries `rocksdb.external_sst_file.version` (2) and
/// `rocksdb.external_sst_file.global_seqno`. When a database ingests it,
/// every entry takes the sequence number the ingestion assigned: the
/// MANIFEST records it as the file's largest (and smallest) sequence
/// number, and with `write_global_seqno` it is also written over the
/// property's 8 bytes in the file. Readers apply it to every key and range
/// tombstone they return.
extension TableReader {
    /// The sequence number every entry of this table reads with, or nil
    /// when the stored ones apply (not an external file, or assigned 0).
    ///
    /// Rules (RocksDB's): no version property → not external (a global
    /// seqno property without it is corruption); version 1 → none (a
    /// seqno property is corruption); version 2 → the property if not 0,
    /// else the MANIFEST's largest sequence (`largestSequence`, nil when
    /// unknown, e.g. a standalone file); both known and different →
    /// corruption. Other versions are corruption.
    static func globalSequence(properties: TableProperties, largestSequence: UInt64?, file: String) throws
        -> UInt64?
    {
        guard let version = properties.externalSstFileVersion else {
            if let seqno = properties.externalSstFileGlobalSeqno {
                throw StrataError.corruption("a non-external table has the global seqno property (\(seqno))", file: file)
            }
            return nil
        }
        switch version {
        case 1:
            if let seqno = properties.externalSstFileGlobalSeqno {
                throw StrataError.corruption(
                    "an external table of version 1 has the global seqno property (\(seqno)); version 1 has none",
                    file: file)
            }
            return nil
        case 2:
            var seqno = properties.externalSstFileGlobalSeqno ?? 0
            if let largestSequence, largestSequence != maxSequenceNumber {
                if seqno == 0 { seqno = largestSequence }
                guard seqno == largestSequence else {
                    throw StrataError.corruption(
                        "external table has global seqno \(seqno) but the MANIFEST says its largest sequence is \(largestSequence)",
                        file: file)
                }
            }
            guard seqno <= maxSequenceNumber else {
                throw StrataError.corruption("external table's global seqno \(seqno) exceeds the largest sequence number",
                                             file: file)
            }
            return seqno == 0 ? nil : seqno
        default:
            throw StrataError.corruption("external table has version \(version); RocksDB knows versions 1 and 2",
                                         file: file)
        }
    }

    /// `tombstones` with each begin key's sequence replaced by `sequence`.
    static func applyingGlobalSequence(_ sequence: UInt64, to tombstones: [(begin: [UInt8], end: [UInt8])])
        -> [(begin: [UInt8], end: [UInt8])]
    {
        tombstones.map { t in
            var begin = t.begin
            guard begin.count >= 8 else { return t }
            let type = begin[begin.count - 8]
            begin.withUnsafeMutableBytes { storeFixed64($0.baseAddress! + $0.count - 8, packSequenceAndType(sequence, type)) }
            return (begin, t.end)
        }
    }

    /// Reads the properties block, accepting the checksum RocksDB leaves
    /// after `write_global_seqno`: it overwrites the global seqno
    /// property's 8 bytes in place without updating the block checksum, so
    /// the checksum matches the block with those bytes zeroed (RocksDB's
    /// `ReadTablePropertiesHelper` checks it that way). Tried only after
    /// the plain verification failed; anything else still fails.
    static func readPropertiesAllowingGlobalSeqno(file: any RandomAccessFile, handle: BlockHandle,
                                                  checksum: ChecksumType, context: UInt32) throws -> Block {
        let (storage, type) = try readStored(file: file, handle: handle, checksum: checksum, context: context,
                                             verify: false, what: "properties block")
        let size = Int(handle.size)
        let bytes = Array(UnsafeRawBufferPointer(start: storage, count: size + blockTrailerSize))
        storage.deallocate()
        guard type == CompressionType.none.rawValue else {
            throw StrataError.corruption("properties block checksum mismatch", file: file.path, offset: handle.offset)
        }
        let plain = try Block(copying: Array(bytes[0..<size]))
        guard let offset = globalSeqnoValueOffset(in: plain) else {
            throw StrataError.corruption("properties block checksum mismatch", file: file.path, offset: handle.offset)
        }
        var zeroed = bytes
        for i in offset..<offset + 8 { zeroed[i] = 0 }
        let stored = zeroed.withUnsafeBytes { loadFixed32($0.baseAddress! + size + 1) }
        let computed = zeroed.withUnsafeBytes {
            blockChecksum(checksum, blockAndType: UnsafeRawBufferPointer(rebasing: $0[0..<size + 1]))
        }
        // format_version ≥ 6: the stored value includes the offset's context modifier.
        guard stored &- contextChecksumModifier(base: context, offset: handle.offset) == computed else {
            throw StrataError.corruption(
                "properties block checksum mismatch (also with the global seqno field zeroed): stored 0x\(hex32(stored)), computed 0x\(hex32(computed))",
                file: file.path, offset: handle.offset)
        }
        return plain
    }

    /// True for the metaindex names of the properties block (RocksDB's
    /// `kPropertiesBlockName`, and `kPropertiesBlockOldName` of old files).
    static func isPropertiesBlockName(_ name: String) -> Bool {
        name == "rocksdb.properties" || name == "rocksdb.stats"
    }

    /// The offset, within an uncompressed properties block, of the 8-byte
    /// value of `rocksdb.external_sst_file.global_seqno`, or nil.
    static func globalSeqnoValueOffset(in block: Block) -> Int? {
        let it = block.makeIterator(order: .bytewise)
        it.seekToFirst()
        let name = Array("rocksdb.external_sst_file.global_seqno".utf8)
        while it.isValid {
            if it.key.elementsEqual(name) {
                guard it.value.count == 8 else { return nil }
                let offset = UnsafeRawPointer(it.value.baseAddress!) - UnsafeRawPointer(block.base)
                return offset >= 0 && offset + 8 <= block.size ? offset : nil
            }
            it.next()
        }
        return nil
    }

    /// The file offset of this table's global seqno property value (where
    /// RocksDB's `write_global_seqno` writes), or nil if it has none or its
    /// properties block is compressed.
    func globalSeqnoFieldOffset() throws -> UInt64? {
        guard let handle = metaindex.first(where: { $0.name == "rocksdb.properties" })?.handle else { return nil }
        let (storage, type) = try TableReader.readStored(file: file, handle: handle, checksum: checksumType,
                                                         context: baseContextChecksum, verify: false,
                                                         what: "properties block")
        guard type == CompressionType.none.rawValue else {
            storage.deallocate()
            return nil
        }
        let block = try Block(taking: storage, size: Int(handle.size))
        return TableReader.globalSeqnoValueOffset(in: block).map { handle.offset + UInt64($0) }
    }
}
