import Testing
@testable import Strata

/// Crash tests (testing.md layer 4) on `MemoryFileSystem`: after a simulated
/// power loss at a random moment, the database opens, its state is a prefix
/// of the acknowledged writes, and that prefix includes every write
/// acknowledged with `sync: true`.
@Suite("Crash recovery")
struct CrashRecoveryTests {
    static func scan(_ db: Database) throws -> [[UInt8]: [UInt8]] {
        try db.makeIterator().contents()
    }

    @Test("the recovered state is a prefix of acknowledged writes and keeps synced ones")
    func prefixAfterCrash() throws {
        for seed: UInt64 in 1...25 {
            print("seed \(seed)")
            var rng = TestRandom(seed: seed)
            let fs = MemoryFileSystem()
            var options = Options()
            options.fileSystem = fs
            options.writeBufferSize = [4 << 10, 16 << 10, 1 << 20][rng.int(0..<3)]
            options.level0FileNumCompactionTrigger = 2
            options.maxBytesForLevelBase = 32 << 10
            options.targetFileSizeBase = 8 << 10
            let dir = "/db"
            let db = try Database.open(at: dir, options: options)
            // writes[i] = (key, value or nil for delete); states after each write.
            var writes: [([UInt8], [UInt8]?)] = []
            var lastSynced = -1
            let total = rng.int(50..<600)
            let crashAt = rng.int(0..<total)
            var image: MemoryFileSystem? = nil
            for i in 0..<total {
                let key = Array("key\(rng.int(0..<60))".utf8)
                let sync = rng.int(0..<10) == 0
                if rng.int(0..<5) == 0 {
                    try db.delete(key, options: WriteOptions(sync: sync))
                    writes.append((key, nil))
                } else {
                    let value = rng.bytes(rng.int(0..<200))
                    try db.put(key, value, options: WriteOptions(sync: sync))
                    writes.append((key, value))
                }
                if sync { lastSynced = i }
                if rng.int(0..<100) == 0 { try db.flush() }
                if i == crashAt {
                    image = fs.crashClone()
                    break
                }
            }
            try db.close()
            guard let image else { continue }
            var recoveredOptions = options
            recoveredOptions.fileSystem = image
            let recovered = try Database.open(at: dir, options: recoveredOptions)
            let state = try Self.scan(recovered)
            try recovered.close()

            // Find a prefix of the acknowledged writes equal to the state.
            var model: [[UInt8]: [UInt8]] = [:]
            var matches: [Int] = []
            if state.isEmpty { matches.append(-1) }
            for (i, w) in writes.enumerated() {
                model[w.0] = w.1
                if model == state { matches.append(i) }
            }
            if matches.isEmpty || !matches.contains(where: { $0 >= lastSynced }) {
                var m: [[UInt8]: [UInt8]] = [:]
                for w in writes.prefix(lastSynced + 1) { m[w.0] = w.1 }
                for k in Set(m.keys).union(state.keys).sorted(by: { Bytewise.compare($0, $1) < 0 }) where m[k] != state[k] {
                    let lastWrite = writes.lastIndex { $0.0 == k }
                    let lastSyncedWrite = writes.prefix(lastSynced + 1).lastIndex { $0.0 == k }
                    print("  DIFF \(String(decoding: k, as: UTF8.self)): model@lastSynced \(m[k]?.count ?? -1) state \(state[k]?.count ?? -1) lastWrite \(lastWrite ?? -1) lastSyncedWrite \(lastSyncedWrite ?? -1) total \(writes.count)")
                }
            }
            #expect(!matches.isEmpty, "seed \(seed): recovered state is not a prefix of the writes")
            #expect(matches.contains { $0 >= lastSynced }, "seed \(seed): a synced write was lost (last synced \(lastSynced))")
        }
    }

    @Test("a torn WAL tail ends recovery at the last intact record")
    func tornTail() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var db = try Database.open(at: dir.path)
        for i in 0..<100 { try db.put(Array("k\(i)".utf8), Array("v\(i)".utf8)) }
        try db.close()
        // Cut the last WAL in the middle of its last record.
        let wal = try PosixFileSystem.shared.listDirectory(dir.path).filter { $0.hasSuffix(".log") }.max()!
        let walPath = dir.file(wal)
        let bytes = try PosixFileSystem.shared.openRandomAccess(walPath).read(at: 0, count: Int(try PosixFileSystem.shared.fileSize(walPath)))
        let file = try PosixFileSystem.shared.createWritable(walPath)
        try file.append(Array(bytes.dropLast(3)))
        try file.close()
        db = try Database.open(at: dir.path)
        for i in 0..<99 { #expect(try db.get(Array("k\(i)".utf8)) == Array("v\(i)".utf8)) }
        #expect(try db.get(Array("k99".utf8)) == nil)
        try db.close()
    }
}
