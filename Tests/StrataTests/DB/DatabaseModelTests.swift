import Testing
@testable import Strata

/// Model-based randomized testing (testing.md layer 3): a seeded stream of
/// operations runs against the database and against a plain sorted
/// dictionary; every read must agree. Several configurations run the same
/// kinds of streams (tiny memtables and blocks force flushes and
/// compactions constantly).
@Suite("Database against a model")
struct DatabaseModelTests {
    struct Config: CustomStringConvertible {
        var name: String
        var writeBufferSize: Int
        var blockSize: Int
        var compression: CompressionType
        var bloomBits: Double
        var levelBase: UInt64
        var targetFile: UInt64

        var description: String { name }

        func options() -> Options {
            var o = Options()
            o.writeBufferSize = writeBufferSize
            o.blockSize = blockSize
            o.compression = compression
            o.bloomBitsPerKey = bloomBits
            o.maxBytesForLevelBase = levelBase
            o.targetFileSizeBase = targetFile
            o.level0FileNumCompactionTrigger = 2
            o.blockCacheCapacity = 1 << 20
            return o
        }
    }

    static let configs = [
        Config(name: "tiny memtable, tiny blocks, snappy", writeBufferSize: 8 << 10, blockSize: 256, compression: .snappy,
               bloomBits: 10, levelBase: 32 << 10, targetFile: 8 << 10),
        Config(name: "small memtable, no compression, no filter", writeBufferSize: 32 << 10, blockSize: 1024,
               compression: .none, bloomBits: 0, levelBase: 64 << 10, targetFile: 16 << 10),
        Config(name: "defaults (memtable never fills)", writeBufferSize: 64 << 20, blockSize: 4096, compression: .snappy,
               bloomBits: 10, levelBase: 256 << 20, targetFile: 64 << 20),
    ]

    typealias Model = [[UInt8]: [UInt8]]

    static func sortedKeys(_ model: Model) -> [[UInt8]] {
        model.keys.sorted { Bytewise.compare($0, $1) < 0 }
    }

    static func randomKey(_ rng: inout TestRandom) -> [UInt8] {
        switch rng.int(0..<10) {
        case 0: return []
        case 1: return [0xFF, UInt8(rng.int(0..<3))]
        default: return Array("k\(rng.int(0..<400))".utf8)
        }
    }

    /// Checks a full scan in both directions and random seeks against the model.
    static func checkIterator(_ db: Database, _ model: Model, _ rng: inout TestRandom, snapshot: Snapshot? = nil) throws {
        try checkIterator(db.defaultColumnFamily, model, &rng, snapshot: snapshot)
    }

    /// `checkIterator` for one column family.
    static func checkIterator(_ db: ColumnFamily, _ model: Model, _ rng: inout TestRandom, snapshot: Snapshot? = nil) throws {
        var lower: [UInt8]? = nil
        var upper: [UInt8]? = nil
        if rng.int(0..<3) == 0 { lower = randomKey(&rng) }
        if rng.int(0..<3) == 0 { upper = randomKey(&rng) }
        let keys = sortedKeys(model).filter { k in
            (lower.map { Bytewise.compare(k, $0) >= 0 } ?? true) && (upper.map { Bytewise.compare(k, $0) < 0 } ?? true)
        }
        let it = try db.makeIterator(options: ReadOptions(lowerBound: lower, upperBound: upper, snapshot: snapshot))
        it.seekToFirst()
        var seen: [[UInt8]] = []
        while it.isValid {
            seen.append(it.key)
            #expect(model[it.key] == it.value)
            it.next()
        }
        try it.status()
        #expect(seen == keys)
        it.seekToLast()
        seen = []
        while it.isValid {
            seen.append(it.key)
            it.prev()
        }
        #expect(seen == keys.reversed())
        for _ in 0..<5 {
            let target = randomKey(&rng)
            it.seek(target)
            let expected = keys.first { Bytewise.compare($0, target) >= 0 }
            #expect((it.isValid ? it.key : nil) == expected)
            // Mixed directions from a seek.
            if it.isValid, let i = keys.firstIndex(of: it.key) {
                it.prev()
                #expect((it.isValid ? it.key : nil) == (i > 0 ? keys[i - 1] : nil))
                if it.isValid {
                    it.next()
                    #expect(it.key == keys[i])
                }
            }
            it.seekForPrev(target)
            let expectedPrev = keys.last { Bytewise.compare($0, target) <= 0 }
            #expect((it.isValid ? it.key : nil) == expectedPrev)
        }
    }

    @Test("random operations agree with the model", arguments: configs)
    func randomOperations(config: Config) throws {
        for seed: UInt64 in 1...3 {
            print("config \(config.name), seed \(seed)")
            let dir = TestDirectory()
            defer { dir.remove() }
            var rng = TestRandom(seed: seed * 1000 + UInt64(config.writeBufferSize))
            var db = try Database.open(at: dir.path, options: config.options())
            var model = Model()
            var snapshots: [(Snapshot, Model)] = []
            for step in 0..<12_000 {
                let roll = rng.int(0..<1000)
                switch roll {
                case 0..<450:
                    let k = Self.randomKey(&rng)
                    let v = rng.bytes(rng.int(0..<(rng.int(0..<20) == 0 ? 3000 : 60)))
                    try db.put(k, v)
                    model[k] = v
                case 450..<588:
                    let k = Self.randomKey(&rng)
                    try db.delete(k)
                    model[k] = nil
                case 588..<600:
                    // A range deletion [a, b) (an inverted range is a no-op).
                    let a = Self.randomKey(&rng)
                    let b = Self.randomKey(&rng)
                    try db.deleteRange(from: a, to: b)
                    for k in model.keys where Bytewise.compare(k, a) >= 0 && Bytewise.compare(k, b) < 0 {
                        model[k] = nil
                    }
                case 600..<680:
                    var batch = WriteBatch()
                    var next = model
                    for _ in 0..<rng.int(1..<8) {
                        let k = Self.randomKey(&rng)
                        if rng.int(0..<3) == 0 {
                            batch.delete(k)
                            next[k] = nil
                        } else {
                            let v = rng.bytes(rng.int(0..<40))
                            batch.put(k, v)
                            next[k] = v
                        }
                    }
                    try db.write(batch)
                    model = next
                case 680..<880:
                    let k = Self.randomKey(&rng)
                    #expect(try db.get(k) == model[k], "step \(step): get")
                case 880..<900:
                    if snapshots.count < 4 {
                        snapshots.append((db.snapshot(), model))
                    } else {
                        let i = rng.int(0..<snapshots.count)
                        let (snap, old) = snapshots[i]
                        for _ in 0..<20 {
                            let k = Self.randomKey(&rng)
                            #expect(try db.get(k, options: ReadOptions(snapshot: snap)) == old[k], "step \(step): snapshot get")
                        }
                        if rng.int(0..<2) == 0 { try Self.checkIterator(db, old, &rng, snapshot: snap) }
                        snap.release()
                        snapshots.remove(at: i)
                    }
                case 900..<960:
                    try Self.checkIterator(db, model, &rng)
                case 960..<975:
                    try db.flush()
                case 975..<985:
                    try db.compactRange(from: rng.int(0..<2) == 0 ? nil : Self.randomKey(&rng), to: nil)
                default:
                    // Reopen: snapshots do not survive, the data does.
                    snapshots.removeAll()
                    try db.close()
                    db = try Database.open(at: dir.path, options: config.options())
                }
            }
            try Self.checkIterator(db, model, &rng)
            for (k, v) in model { #expect(try db.get(k) == v) }
            try db.close()
        }
    }
}
