import Strata

extension FuzzTargets {
    /// A whole database around one damaged table (issue 24, item 1): the
    /// checksums are right, the contents are not.
    ///
    /// The input's first 4 bytes choose the table's shape and the entries
    /// the database writes (`DBTableInput`); a database in memory writes
    /// them, flushes them into one table that its MANIFEST lists, and
    /// closes. The rest of the input is a list of patches, each overwriting
    /// bytes inside one block of that table (data, index, filter,
    /// properties, range deletions or metaindex) — short internal keys,
    /// unsorted keys, bad value types, oversized lengths, bad restart
    /// arrays — after which every patched block's trailer checksum is
    /// recomputed (with the format_version 6 context modifier the block
    /// had), so the damage gets past the checksums. The file keeps its
    /// length, so the MANIFEST still matches it.
    ///
    /// Then the database is opened and driven: `get` of every written key
    /// and of others, forward and backward iteration, `seek` and
    /// `seekForPrev`, `compactRange` of everything and a scan of what it
    /// left, `close`, `Database.verify`, and the library code `sst-dump`
    /// runs on the table (open, every block's inspection, `verifyAll`, the
    /// properties in both styles, a walk of every entry).
    ///
    /// Property: every failure is a thrown `StrataError` (or an iterator
    /// status); iteration ends; nothing traps or hangs.
    public static func dbTable(_ data: UnsafeRawBufferPointer) {
        guard let input = DBTableInput(data) else { return }
        let path = "/db"
        var options = input.options
        guard let files = undamagedDatabase(input, at: path) else { return }
        // A fresh file system per input, holding the undamaged database.
        let fs = MemoryFileSystem()
        options.fileSystem = fs
        do {
            try fs.createDirectory(path)
            for (name, bytes) in files {
                let file = try fs.createWritable(path + "/" + name)
                try file.append(bytes)
                try file.sync()
                try file.close()
            }
        } catch {
            fuzzCheck(false, "copying the undamaged database failed: \(error)")
            return
        }
        guard let tableName = files.map(\.name).first(where: { $0.hasSuffix(".sst") }) else {
            fuzzCheck(false, "the flush wrote no table")
            return
        }
        let tablePath = path + "/" + tableName
        guard let patched = patchTable(tablePath, fs: fs, patches: input.patches) else { return }
        do {
            let file = try fs.createWritable(tablePath)
            try file.append(patched)
            try file.sync()
            try file.close()
        } catch {
            fuzzCheck(false, "rewriting the table in memory failed: \(error)")
            return
        }

        options.createIfMissing = false
        driveDatabase(path, options: options, keys: input.keys)
        _ = try? Database.verify(at: path, options: options)
        driveSSTDump(tablePath, fs: fs)
    }

    /// Undamaged databases by shape (the input's first 4 bytes, which alone
    /// decide them): writing one costs an open, a flush and a close, and
    /// most inputs share their shape with others. A cache of a pure
    /// function, so a finding still reproduces from its input alone;
    /// emptied when it reaches 256 shapes. libFuzzer calls on one thread.
    nonisolated(unsafe) private static var undamaged: [UInt32: [(name: String, bytes: [UInt8])]] = [:]

    /// The files of the database `input` writes: its entries, flushed
    /// into one table the MANIFEST lists, closed.
    static func undamagedDatabase(_ input: DBTableInput, at path: String) -> [(name: String, bytes: [UInt8])]? {
        if let files = undamaged[input.shape] { return files }
        let fs = MemoryFileSystem()
        var options = input.options
        options.fileSystem = fs
        options.createIfMissing = true
        var files: [(name: String, bytes: [UInt8])] = []
        do {
            let db = try Database.open(at: path, options: options)
            try db.write(input.batch())
            try db.flush()
            try db.close()
            for name in try fs.listDirectory(path).sorted() where name != "LOCK" {
                let file = try fs.openRandomAccess(path + "/" + name)
                files.append((name, try file.read(at: 0, count: Int(file.size))))
                file.close()
            }
        } catch {
            fuzzCheck(false, "writing the undamaged database failed: \(error)")
            return nil
        }
        if undamaged.count >= 256 { undamaged.removeAll() }
        undamaged[input.shape] = files
        return files
    }

    /// The table at `path` with `patches` applied inside its blocks and the
    /// patched blocks' checksums recomputed; nil if the table has no block
    /// to patch (it always has some).
    static func patchTable(_ path: String, fs: MemoryFileSystem, patches: [DBTableInput.Patch]) -> [UInt8]? {
        guard let reader = try? TableReader.open(path: path, fileSystem: fs),
              let blocks = try? reader.allBlocks(), !blocks.isEmpty,
              let file = try? fs.openRandomAccess(path),
              var bytes = try? file.read(at: 0, count: Int(file.size)) else {
            fuzzCheck(false, "the undamaged table does not open")
            return nil
        }
        file.close()
        let type = reader.checksumType
        let original = bytes
        var patched = Set<Int>()
        for patch in patches {
            let block = blocks[patch.block % blocks.count]
            let start = Int(block.handle.offset)
            let length = Int(block.handle.size)
            guard length > 0 else { continue }
            let at = start + patch.offset % length
            for (i, byte) in patch.bytes.enumerated() where at + i < start + length {
                bytes[at + i] = byte
            }
            patched.insert(patch.block % blocks.count)
        }
        for index in patched {
            let block = blocks[index]
            let start = Int(block.handle.offset)
            let end = start + Int(block.handle.size) + 1  // the block and its compression-type byte
            guard end + 4 <= bytes.count else { continue }
            // The stored checksum is the plain one plus a modifier derived
            // from the block's offset (format_version ≥ 6; zero before).
            let plain = { (b: [UInt8]) in b.withUnsafeBytes { blockChecksum(type, blockAndType: UnsafeRawBufferPointer(rebasing: $0[start..<end])) } }
            let modifier = block.storedChecksum &- plain(original)
            let checksum = plain(bytes) &+ modifier
            for i in 0..<4 { bytes[end + i] = UInt8(truncatingIfNeeded: checksum >> (8 * UInt32(i))) }
        }
        return bytes
    }

    /// get, iterators, compactRange on the damaged database.
    static func driveDatabase(_ path: String, options: Options, keys: [[UInt8]]) {
        guard let db = try? Database.open(at: path, options: options) else { return }
        defer { try? db.close() }
        var probes = keys
        probes.append([])
        probes.append([0xFF, 0xFF])
        for key in probes { _ = try? db.get(key) }
        scan(db)
        if let it = try? db.makeIterator() {
            for key in probes.prefix(8) {
                it.seek(key)
                if it.isValid { it.next() }
                it.seekForPrev(key)
                if it.isValid { it.prev() }
            }
            _ = try? it.status()
        }
        if (try? db.compactRange()) != nil {
            scan(db)
            for key in keys.prefix(8) { _ = try? db.get(key) }
        }
    }

    /// A full forward and a full backward scan; each must end.
    static func scan(_ db: Database) {
        guard let it = try? db.makeIterator() else { return }
        let limit = 1_000_000
        var steps = 0
        it.seekToFirst()
        while it.isValid && steps < limit {
            _ = it.value.count
            it.next()
            steps += 1
        }
        fuzzCheck(steps < limit, "forward iteration does not end")
        steps = 0
        it.seekToLast()
        while it.isValid && steps < limit {
            it.prev()
            steps += 1
        }
        fuzzCheck(steps < limit, "backward iteration does not end")
        _ = try? it.status()
    }

    /// What `sst-dump` does with the table, through the library.
    static func driveSSTDump(_ path: String, fs: MemoryFileSystem) {
        _ = try? TableReader.open(path: path, fileSystem: fs).allBlocks()
        var options = TableReaderOptions()
        options.verifyChecksums = true
        guard let file = try? fs.openRandomAccess(path) else { return }
        defer { file.close() }
        guard let reader = try? TableReader(file: file, options: options) else { return }
        _ = try? reader.verifyAll()
        _ = try? reader.dataBlockHandles()
        _ = reader.properties.rocksDBStyleDescription()
        _ = reader.properties.rocksDB11StyleDescription()
        _ = reader.rangeTombstones.count
        let it = reader.makeIterator()
        it.seekToFirst()
        var steps = 0
        while it.isValid && steps < 1_000_000 {
            // sst-dump prints user key, sequence and type of each entry.
            if let parsed = ParsedInternalKey(it.key) { _ = parsed.userKey.count }
            _ = it.value.count
            it.next()
            steps += 1
        }
        fuzzCheck(steps < 1_000_000, "table iteration does not end")
    }
}

/// The fuzz input of `dbTable`: 4 bytes of shape, then patches.
///
/// * byte 0: bits 0–1 checksum type (CRC32c, xxHash, xxHash64, XXH3);
///   bit 2 format_version 6 (else 5); bit 3 no Bloom filter (else 10 bits/key);
///   bit 4 Snappy (else no compression); bit 5 a range deletion;
/// * byte 1: 1 + (byte % 48) entries; bytes 2–3: the seed of keys, values
///   and operations (puts, deletes, single deletes, merges);
/// * then patches, each `[block][offset lo][offset hi][n]` and `1 + n % 16`
///   bytes: block number (in file order, modulo the block count), offset
///   inside the block (modulo its size), the bytes to write there.
struct DBTableInput {
    struct Patch {
        var block: Int
        var offset: Int
        var bytes: [UInt8]
    }

    /// The first 4 bytes: everything but the patches.
    var shape: UInt32
    var options = Options()
    var keys: [[UInt8]] = []
    var operations: [(kind: UInt8, key: [UInt8], value: [UInt8])] = []
    var rangeDeletion: ([UInt8], [UInt8])?
    var patches: [Patch] = []

    init?(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 4 else { return nil }
        self.shape = UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16 | UInt32(data[3]) << 24
        let shape = data[0]
        let checksums: [ChecksumType] = [.crc32c, .xxHash, .xxHash64, .xxh3]
        options.checksum = checksums[Int(shape & 3)]
        options.formatVersion = shape & 4 != 0 ? 6 : 5
        options.bloomBitsPerKey = shape & 8 != 0 ? 0 : 10
        options.compression = shape & 16 != 0 ? .snappy : .none
        options.blockSize = 256  // several data blocks from a few entries
        options.mergeOperator = StringAppendOperator()
        options.paranoidChecks = true
        // The smallest memtable RocksDB allows: the entries fit many times
        // over, and each open (three per input) allocates and clears a
        // memtable and its bloom sized from this — at the 64 MiB default
        // that clearing was most of an execution's time.
        options.writeBufferSize = 64 << 10
        let count = 1 + Int(data[1]) % 48
        var state = UInt64(data[2]) << 8 | UInt64(data[3]) | 0x9E37_79B9_0000_0000
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        for _ in 0..<count {
            let length = 1 + Int(next() % 12)
            let key = (0..<length).map { _ in UInt8(ascii: "a") + UInt8(next() % 6) }
            let valueLength = Int(next() % 40)
            let value = (0..<valueLength).map { _ in UInt8(truncatingIfNeeded: next()) }
            operations.append((UInt8(next() % 8), key, value))
            keys.append(key)
        }
        if shape & 32 != 0, keys.count >= 2 {
            let a = keys[0], b = keys[1]
            rangeDeletion = Bytewise.compare(a, b) <= 0 ? (a, b) : (b, a)
        }
        var i = 4
        while i + 4 <= data.count {
            let block = Int(data[i])
            let offset = Int(data[i + 1]) | Int(data[i + 2]) << 8
            let n = 1 + Int(data[i + 3]) % 16
            i += 4
            let end = min(data.count, i + n)
            patches.append(Patch(block: block, offset: offset, bytes: Array(data[i..<end])))
            i = end
        }
    }

    /// The writes, as one batch (range deletion first, so later puts
    /// of its keys stay visible).
    func batch() -> WriteBatch {
        var batch = WriteBatch()
        if let (a, b) = rangeDeletion, Bytewise.compare(a, b) < 0 { batch.deleteRange(from: a, to: b) }
        for op in operations {
            switch op.kind {
            case 0: batch.delete(op.key)
            case 1: batch.merge(op.key, op.value)
            default: batch.put(op.key, op.value)
            }
        }
        return batch
    }
}
