import Strata

extension FuzzTargets {
    /// Table reader (spec sections 2–11): the input is a whole SST file.
    /// Opens it (footer, metaindex, properties, index, filter, range
    /// deletions), walks every entry forward and backward, looks up keys it
    /// holds and keys it does not, runs the whole-file verification and the
    /// block inspection `sst-dump` uses. Data-block checksums are not
    /// verified on the walks, so mutated blocks reach the block decoder (the
    /// seed corpus also holds tables with checksum type kNoChecksum, whose
    /// meta blocks are not verified either).
    /// The footer is also decoded on its own at its file offset (format_version
    /// 6 and 7 footers are checksummed with it), and the properties printed
    /// in both sst_dump styles (RocksDB 11's derives the unique ID).
    /// Property: every failure is a thrown error or an iterator `error`.
    public static func table(_ data: UnsafeRawBufferPointer) {
        if data.count >= Footer.encodedLength {
            let tailOffset = UInt64(data.count - Footer.encodedLength)
            _ = try? Footer.decode(UnsafeRawBufferPointer(rebasing: data[(data.count - Footer.encodedLength)...]),
                                   tailOffset: tailOffset)
        }
        let file = BytesFile(path: "fuzz.sst", bytes: Array(data))
        var options = TableReaderOptions()
        options.verifyChecksums = false
        guard let reader = try? TableReader(file: file, options: options) else { return }
        var random = InputRandom(data)
        var userKeys: [[UInt8]] = []
        let it = reader.makeIterator()
        it.seekToFirst()
        var count = 0
        while it.isValid {
            if count % 7 == 0, userKeys.count < 16 { userKeys.append(Array(InternalKey.userKey(it.key))) }
            _ = it.value.count
            count += 1
            it.next()
        }
        it.seekToLast()
        while it.isValid { it.prev() }
        for _ in 0..<3 {
            let length = random.below(10)
            userKeys.append((0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        }
        for key in userKeys {
            key.withUnsafeBytes { k in
                _ = reader.mayContain(userKey: k)
                _ = try? reader.get(userKey: k) { _, value in value.count >= 0 }
            }
            let seekKey = InternalKey.seekKey(key)
            seekKey.withUnsafeBytes { k in
                it.seek(k)
                if it.isValid { it.next() }
                it.seekForPrev(k)
                if it.isValid { it.prev() }
            }
        }
        _ = reader.rangeTombstones.count
        _ = reader.properties.rocksDB11StyleDescription()
        _ = reader.properties.rocksDBStyleDescription()
        _ = try? reader.verifyAll()
        _ = try? reader.allBlocks()
    }
}
