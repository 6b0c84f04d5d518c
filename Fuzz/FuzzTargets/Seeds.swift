import Glibc
import Strata

/// The seed corpus of each fuzz target: pieces cut out of the RocksDB
/// 7.8.3 reference files (`/work/shared/vectors/rocksdb-7.8.3`: tables, the
/// `tiny_db` WAL and MANIFEST), plus small inputs Strata's own writers make
/// for what the vectors lack (every WriteBatch record type, column
/// families, range deletions, tables with kNoChecksum so mutated meta
/// blocks get past the checksum).
///
/// Thread safety: stateless; call from one thread.
public enum FuzzSeeds {
    /// The seeds of target `name` (see `FuzzTargets.all`), each one input.
    /// `vectors` is the reference-file directory; missing files are skipped.
    public static func seeds(for name: String, vectors: String) throws -> [[UInt8]] {
        switch name {
        case "block": return try blockSeeds(vectors)
        case "table": return try tableSeeds(vectors)
        case "filter": return try filterSeeds(vectors)
        case "log": return logSeeds(vectors)
        case "writebatch": return writeBatchSeeds(vectors)
        case "versionedit": return versionEditSeeds(vectors)
        case "manifest": return try manifestSeeds(vectors)
        case "dbtable": return dbTableSeeds()
        default: throw StrataError.invalidArgument("no fuzz target named \(name)")
        }
    }

    /// The `.sst` files among the vectors (the tiny_db tables included).
    static func vectorTables(_ vectors: String) -> [String] {
        let fs = PosixFileSystem.shared
        var paths: [String] = []
        for dir in [vectors, Path.join(vectors, "tiny_db")] {
            for name in ((try? fs.listDirectory(dir)) ?? []).sorted() where name.hasSuffix(".sst") {
                paths.append(Path.join(dir, name))
            }
        }
        return paths
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let file = try? PosixFileSystem.shared.openRandomAccess(path) else { return nil }
        defer { file.close() }
        return try? file.read(at: 0, count: Int(file.size))
    }

    /// Every block of every vector table, uncompressed (filter blocks raw).
    static func vectorBlocks(_ vectors: String) throws -> [(kind: String, bytes: [UInt8])] {
        var result: [(String, [UInt8])] = []
        for path in vectorTables(vectors) {
            guard let bytes = readFile(path), let reader = try? TableReader.open(path: path) else { continue }
            for info in try reader.allBlocks() {
                let start = Int(info.handle.offset)
                let stored = Array(bytes[start..<(start + Int(info.handle.size))])
                switch info.compressionType {
                case CompressionType.none.rawValue:
                    result.append((info.kind, stored))
                case CompressionType.snappy.rawValue:
                    let raw: [UInt8]? = stored.withUnsafeBytes { input in
                        guard let length = Snappy.uncompressedLength(input) else { return nil }
                        var out = [UInt8](repeating: 0, count: length)
                        let ok = out.withUnsafeMutableBytes { Snappy.uncompress(input, into: $0) }
                        return ok ? out : nil
                    }
                    if let raw { result.append((info.kind, raw)) }
                default: continue
                }
            }
        }
        return result
    }

    static func blockSeeds(_ vectors: String) throws -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        var perKind: [String: Int] = [:]
        for (kind, bytes) in try vectorBlocks(vectors) where kind != "filter" {
            // A few of each kind keep the corpus small; data blocks are alike.
            perKind[kind, default: 0] += 1
            if perKind[kind]! <= 4 { seeds.append(bytes) }
        }
        for interval in [1, 2, 16] {
            var builder = BlockBuilder(restartInterval: interval)
            for i in 0..<20 {
                builder.add(InternalKey.make(Array("key\(1000 + i)".utf8), sequence: UInt64(i), type: 1), Array("v\(i)".utf8))
            }
            seeds.append(builder.finish())
        }
        return seeds
    }

    /// A small table written by Strata's table builder.
    static func smallTable(_ options: TableOptions, keys: Int, rangeDeletion: Bool) throws -> [UInt8] {
        let fs = MemoryFileSystem()
        let writer = SSTFileWriter(options: options, fileSystem: fs)
        try writer.open("/seed.sst")
        for i in 0..<keys {
            let key = Array("k\(100 + i)".utf8)
            switch i % 5 {
            case 3: try writer.delete(key)
            case 4: try writer.merge(key, Array("m\(i)".utf8))
            default: try writer.put(key, Array("value-\(i)".utf8))
            }
        }
        if rangeDeletion { try writer.deleteRange(from: Array("k1".utf8), to: Array("k105".utf8)) }
        _ = try writer.finish()
        let file = try fs.openRandomAccess("/seed.sst")
        return try file.read(at: 0, count: Int(file.size))
    }

    static func tableSeeds(_ vectors: String) throws -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        for path in vectorTables(vectors) {
            guard var bytes = readFile(path) else { continue }
            seeds.append(bytes)
            // The same table with checksum type kNoChecksum in its footer
            // (the footer's first byte from format_version 1 on).
            if bytes.count >= Footer.encodedLength {
                bytes[bytes.count - Footer.encodedLength] = ChecksumType.none.rawValue
                seeds.append(bytes)
            }
        }
        // RocksDB 11.8.1's format_version 6 and 7 tables, beside the 7.8.3 vectors.
        let newer = Path.join(Path.dirname(vectors), "rocksdb-11.8.1")
        for name in ((try? PosixFileSystem.shared.listDirectory(newer)) ?? []).sorted() where name.hasSuffix(".sst") {
            if let bytes = readFile(Path.join(newer, name)) { seeds.append(bytes) }
        }
        // format_version 6: with kNoChecksum only the footer and the
        // blocks' bare context modifiers are checked, so mutated blocks
        // reach the decoders; with kCRC32c / kXXH3 the context checksums.
        for (i, checksum) in [ChecksumType.none, .crc32c, .xxh3].enumerated() {
            var options = TableOptions()
            options.formatVersion = 6
            options.checksum = checksum
            options.compression = i == 1 ? .snappy : .none
            options.blockSize = 64
            seeds.append(try smallTable(options, keys: 12, rangeDeletion: i == 2))
        }
        for (i, version) in [UInt32(2), 3, 4, 5].enumerated() {
            var options = TableOptions()
            options.formatVersion = version
            options.checksum = i % 2 == 0 ? .none : .crc32c
            options.compression = i < 2 ? .none : .snappy
            options.blockSize = 64
            options.bloomBitsPerKey = version >= 4 ? 10 : 0
            seeds.append(try smallTable(options, keys: 12, rangeDeletion: i % 2 == 1))
        }
        return seeds
    }

    static func filterSeeds(_ vectors: String) throws -> [[UInt8]] {
        var seeds = try vectorBlocks(vectors).filter { $0.kind == "filter" }.map(\.bytes)
        var fast = FastLocalBloomBuilder(bitsPerKey: 10)
        var legacy = LegacyBloomBuilder(bitsPerKey: 10)
        for i in 0..<30 {
            Array("key\(i)".utf8).withUnsafeBytes {
                fast.addKey($0)
                legacy.addKey($0)
            }
        }
        seeds.append(fast.finish())
        seeds.append(legacy.finish())
        // Keys separated by 0xFF, the shape the differential half reads.
        seeds.append(Array("alpha".utf8) + [0xFF] + Array("beta".utf8) + [0xFF] + Array("gamma".utf8))
        return seeds
    }

    /// The records of a log file (nil if it cannot be read).
    static func logRecords(_ path: String) -> [[UInt8]] {
        guard let file = try? PosixFileSystem.shared.openRandomAccess(path) else { return [] }
        defer { file.close() }
        let reader = LogReader(file: file)
        var records: [[UInt8]] = []
        while let record = try? reader.next() { records.append(record) }
        return records
    }

    /// Batches with every record type, one over several column families.
    static func builtBatches() -> [[UInt8]] {
        var a = WriteBatch()
        a.put(Array("key1".utf8), Array("value1".utf8))
        a.delete(Array("key2".utf8))
        a.singleDelete(Array("key3".utf8))
        a.merge(Array("key4".utf8), Array("operand".utf8))
        a.deleteRange(from: Array("a".utf8), to: Array("c".utf8))
        a.putLogData(Array("blob".utf8))
        a.sequence = 42
        // Column-family records, encoded by hand as RocksDB writes them:
        // tag, varint32 family id, key, value.
        var families = WriteBatch().rep
        families[8] = 3  // count
        families += [0x05, 0x02, 0x01, 0x6B, 0x01, 0x76]  // put cf 2: "k" → "v"
        families += [0x04, 0x02, 0x01, 0x6B]  // delete cf 2: "k"
        families += [0x0E, 0x03, 0x01, 0x61, 0x01, 0x62]  // range deletion cf 3: ["a", "b")
        return [a.rep, families, WriteBatch().rep]
    }

    static func logSeeds(_ vectors: String) -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        let tiny = Path.join(vectors, "tiny_db")
        for name in ["000020.log", "MANIFEST-000021"] {
            if let bytes = readFile(Path.join(tiny, name)) { seeds.append(bytes) }
        }
        // A log of the built batches, one spanning two 32 KiB blocks.
        let fs = MemoryFileSystem()
        if let file = try? fs.createWritable("/seed.log") {
            let writer = LogWriter(file: file)
            for batch in builtBatches() { try? writer.addRecord(batch) }
            try? writer.addRecord([UInt8](repeating: 0x61, count: LogFormat.blockSize + 100))
            try? writer.close()
            if let read = try? fs.openRandomAccess("/seed.log"), let bytes = try? read.read(at: 0, count: Int(read.size)) {
                seeds.append(bytes)
            }
        }
        // Shapes for the round-trip half: records separated by 0xFE.
        seeds.append(Array("first".utf8) + [0xFE] + Array("second".utf8))
        return seeds
    }

    static func writeBatchSeeds(_ vectors: String) -> [[UInt8]] {
        logRecords(Path.join(vectors, "tiny_db/000020.log")) + builtBatches()
    }

    static func versionEditSeeds(_ vectors: String) -> [[UInt8]] {
        var seeds = logRecords(Path.join(vectors, "tiny_db/MANIFEST-000021"))
        var edit = VersionEdit()
        edit.comparator = "leveldb.BytewiseComparator"
        edit.logNumber = 7
        edit.nextFileNumber = 9
        edit.lastSequence = 100
        edit.columnFamily = 1
        edit.columnFamilyAdd = "family"
        edit.deletedFiles = [(1, 5)]
        var file = FileMetaData(number: 8, fileSize: 1000, smallest: InternalKey.make(Array("a".utf8), sequence: 1, type: 1),
                                largest: InternalKey.make(Array("z".utf8), sequence: 9, type: 1),
                                smallestSequence: 1, largestSequence: 9)
        file.fileCreationTime = 12345
        file.fileChecksum = [1, 2, 3, 4]
        file.fileChecksumFunctionName = "crc32c"
        edit.newFiles = [(2, file)]
        edit.compactCursors = [(2, InternalKey.make(Array("m".utf8), sequence: 3, type: 1))]
        seeds.append(edit.encode())
        var atomic = VersionEdit()
        atomic.remainingInAtomicGroup = 1
        atomic.columnFamilyDrop = true
        seeds.append(atomic.encode())
        return seeds
    }

    /// The tiny_db MANIFEST, and one Strata writes for a database with two
    /// column families, flushed tables and a compaction.
    static func manifestSeeds(_ vectors: String) throws -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        if let bytes = readFile(Path.join(vectors, "tiny_db/MANIFEST-000021")) { seeds.append(bytes) }
        let fs = MemoryFileSystem()
        var options = Options()
        options.fileSystem = fs
        options.createIfMissing = true
        let db = try Database.open(at: "/db", options: options)
        let family = try db.createColumnFamily(named: "second")
        for round in 0..<3 {
            for i in 0..<20 {
                try db.put(Array("key\(i * 3 + round)".utf8), Array("value".utf8))
                try family.put(Array("k\(i)".utf8), Array("v\(round)".utf8))
            }
            try db.flush()
            try family.flush()
        }
        try db.compactRange()
        try db.close()
        for name in try fs.listDirectory("/db") where name.hasPrefix("MANIFEST-") {
            let file = try fs.openRandomAccess(Path.join("/db", name))
            seeds.append(try file.read(at: 0, count: Int(file.size)))
        }
        return seeds
    }

    /// `dbtable` inputs (`DBTableInput`): every shape bit combination with
    /// no patch (the undamaged database), and a few with patches at the
    /// start, middle and end of the first blocks (entry headers, keys,
    /// restart arrays).
    static func dbTableSeeds() -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        for shape in stride(from: 0, to: 64, by: 5) {
            seeds.append([UInt8(shape), 20, UInt8(shape), 7])
        }
        for (shape, block) in [(0, 0), (4, 1), (3, 2), (7, 0), (32, 3), (36, 5)] as [(UInt8, UInt8)] {
            var seed: [UInt8] = [shape, 30, block, 1]
            seed += [block, 0, 0, 3, 0, 0x7F, 0x05, 0x41]          // an entry header: shared 0, huge lengths
            seed += [block, 20, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8]       // inside the keys
            seed += [block, 0xFC, 0xFF, 3, 0xFF, 0xFF, 0, 0]        // the restart count at the end
            seeds.append(seed)
        }
        return seeds
    }
}
