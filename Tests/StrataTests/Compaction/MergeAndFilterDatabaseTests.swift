import Testing
@testable import Strata

/// Merge operands and compaction filters through flushes and compactions
/// of a real database, under both compaction styles.
@Suite("Merge and filters on a database")
struct MergeAndFilterDatabaseTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    static func options(_ style: CompactionStyle) -> Options {
        var o = Options()
        o.compactionStyle = style
        o.writeBufferSize = 16 << 10
        o.targetFileSizeBase = 16 << 10
        o.maxBytesForLevelBase = 64 << 10
        o.level0FileNumCompactionTrigger = 3
        o.blockSize = 512
        return o
    }

    /// Every entry of every live table: (user key, type code).
    static func tableEntries(_ db: Database) throws -> [(key: [UInt8], type: UInt8)] {
        var out: [(key: [UInt8], type: UInt8)] = []
        for f in db.versions.current()?.allFiles ?? [] {
            let it = try db.tableCache.table(f.number).makeIterator()
            it.seekToFirst()
            while it.isValid {
                let p = ParsedInternalKey(it.key)!
                out.append((Array(p.userKey), p.typeCode))
                it.next()
            }
        }
        return out
    }

    @Test("string-append operands merge in compaction and read the same before and after",
          arguments: [CompactionStyle.leveled, .universal])
    func stringAppendThroughCompaction(style: CompactionStyle) throws {
        let seed: UInt64 = 9
        print("seed: \(seed), style: \(style)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Self.options(style)
        options.mergeOperator = StringAppendOperator(separator: ",")
        var db = try Database.open(at: dir.path, options: options)
        var model: [[UInt8]: [UInt8]] = [:]
        var snapshotModel: [[UInt8]: [UInt8]] = [:]
        var snapshot: Snapshot? = nil
        for step in 0..<12_000 {
            let k = Self.b("k\(rng.int(0..<300))")
            switch rng.int(0..<20) {
            case 0:
                try db.delete(k)
                model[k] = nil
            case 1:
                let v = rng.bytes(rng.int(1..<8))
                try db.put(k, v)
                model[k] = v
            default:
                let v = Self.b("\(step)")
                try db.merge(k, v)
                model[k] = model[k].map { $0 + Self.b(",") + v } ?? v
            }
            if step == 6_000 {
                snapshot = db.snapshot()
                snapshotModel = model
            }
            if step == 8_000 {
                try db.close()
                snapshot = nil
                db = try Database.open(at: dir.path, options: options)
                // The snapshot died with the old handle; take a new one.
                snapshot = db.snapshot()
                snapshotModel = model
            }
        }
        try db.waitForBackgroundWork()
        for (k, v) in model { #expect(try db.get(k) == v) }
        if let snapshot {
            for (k, v) in snapshotModel { #expect(try db.get(k, options: ReadOptions(snapshot: snapshot)) == v) }
        }
        try db.compactRange()
        for (k, v) in model { #expect(try db.get(k) == v) }
        if let snapshot {
            for (k, v) in snapshotModel { #expect(try db.get(k, options: ReadOptions(snapshot: snapshot)) == v) }
            snapshot.release()
        }
        try db.compactRange()
        // No snapshot, all at the bottom: every key is one value, no operand is left.
        let entries = try Self.tableEntries(db)
        #expect(entries.count == model.count)
        #expect(entries.allSatisfy { $0.type == ValueType.value.rawValue })
        for (k, v) in model { #expect(try db.get(k) == v) }
        // Tables name the operator in their properties.
        for f in db.versions.current()?.allFiles ?? [] {
            #expect(try db.tableCache.table(f.number).properties.mergeOperatorName == "StringAppendOperator")
        }
        try db.close()
    }

    @Test("Int64 add counters survive flushes, compactions and reopen")
    func counters() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Self.options(.leveled)
        options.mergeOperator = Int64AddOperator()
        var db = try Database.open(at: dir.path, options: options)
        var expected = [Int64](repeating: 0, count: 50)
        for round in 0..<400 {
            for c in 0..<50 where (c + round) % 3 != 0 {
                let delta = Int64(c - 25)
                try db.merge(Self.b("counter\(c)"), Int64AddOperator.encode(delta))
                expected[c] &+= delta
            }
            if round % 100 == 99 { try db.flush() }
            if round == 200 {
                try db.close()
                db = try Database.open(at: dir.path, options: options)
            }
        }
        for c in 0..<50 { #expect(try db.get(Self.b("counter\(c)")).map(Int64AddOperator.decode) == expected[c]) }
        try db.compactRange()
        for c in 0..<50 { #expect(try db.get(Self.b("counter\(c)")).map(Int64AddOperator.decode) == expected[c]) }
        #expect(try Self.tableEntries(db).allSatisfy { $0.type == ValueType.value.rawValue })
        for f in db.versions.current()?.allFiles ?? [] {
            #expect(try db.tableCache.table(f.number).properties.mergeOperatorName == "UInt64AddOperator")
        }
        try db.close()
    }

    @Test("flush partially merges operands in the memtable and fully merges onto a value there")
    func flushMerges() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Self.options(.leveled)
        options.mergeOperator = StringAppendOperator(separator: "+")
        let db = try Database.open(at: dir.path, options: options)
        try db.put(Self.b("base"), Self.b("0"))
        for i in 1...3 {
            try db.merge(Self.b("base"), Self.b("\(i)"))
            try db.merge(Self.b("ops"), Self.b("\(i)"))
        }
        try db.flush()
        let entries = try Self.tableEntries(db)
        #expect(entries.map { String(decoding: $0.key, as: UTF8.self) } == ["base", "ops"])
        #expect(entries.map(\.type) == [ValueType.value.rawValue, ValueType.merge.rawValue])
        #expect(try db.get(Self.b("base")) == Self.b("0+1+2+3"))
        #expect(try db.get(Self.b("ops")) == Self.b("1+2+3"))
        try db.close()
    }

    @Test("the TTL filter drops expired values in compaction, never those a snapshot sees",
          arguments: [CompactionStyle.leveled, .universal])
    func ttlFilter(style: CompactionStyle) throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let clock = Locked<Int64>(10_000)
        var options = Self.options(style)
        options.compactionFilter = TTLCompactionFilter(now: { clock.withLock { $0 } })
        let db = try Database.open(at: dir.path, options: options)
        for i in 0..<100 {
            // Even keys expire at 20 000 ms, odd ones at 40 000 ms.
            try db.put(Self.b("k\(i)"), TTLCompactionFilter.encode(Self.b("v\(i)"), expiresAt: i % 2 == 0 ? 20_000 : 40_000))
        }
        try db.compactRange()
        #expect(try db.get(Self.b("k0")).map(TTLCompactionFilter.payload) == Self.b("v0"))
        clock.withLock { $0 = 25_000 }
        let snapshot = db.snapshot()
        try db.put(Self.b("k0"), TTLCompactionFilter.encode(Self.b("new"), expiresAt: 1))  // already expired
        try db.compactRange()
        // k0's new value is filtered; its old one stays for the snapshot, hidden by a deletion.
        #expect(try db.get(Self.b("k0")) == nil)
        // Other even keys are visible to the snapshot: kept.
        #expect(try db.get(Self.b("k2")).map(TTLCompactionFilter.payload) == Self.b("v2"))
        #expect(try db.get(Self.b("k0"), options: ReadOptions(snapshot: snapshot)).map(TTLCompactionFilter.payload) == Self.b("v0"))
        snapshot.release()
        try db.compactRange()
        for i in 0..<100 {
            let got = try db.get(Self.b("k\(i)")).map(TTLCompactionFilter.payload)
            #expect(got == (i % 2 == 0 ? nil : Self.b("v\(i)")), "k\(i)")
        }
        #expect(try Self.tableEntries(db).count == 50)
        clock.withLock { $0 = 50_000 }
        try db.compactRange()
        #expect(try Self.tableEntries(db).isEmpty)
        try db.close()
    }

    struct Upcase: CompactionFilter {
        var name: String { "Upcase" }
        func filter(level: Int, key: [UInt8], value: [UInt8]) -> CompactionDecision {
            value.first == UInt8(ascii: "x") ? .remove : .change(value.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 })
        }
    }

    @Test("a filter can change values; flushes do not run it")
    func changingFilter() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Self.options(.leveled)
        options.compactionFilter = Upcase()
        let db = try Database.open(at: dir.path, options: options)
        try db.put(Self.b("a"), Self.b("hello"))
        try db.put(Self.b("b"), Self.b("xdrop"))
        try db.flush()
        #expect(try db.get(Self.b("a")) == Self.b("hello"))
        #expect(try db.get(Self.b("b")) == Self.b("xdrop"))
        try db.compactRange()
        #expect(try db.get(Self.b("a")) == Self.b("HELLO"))
        #expect(try db.get(Self.b("b")) == nil)
        try db.close()
    }
}

/// Range tombstones through bottommost compactions with snapshots.
@Suite("Range tombstones in compaction")
struct RangeTombstoneCompactionTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test("a range tombstone newer than a snapshot survives a bottommost compaction",
          arguments: [CompactionStyle.leveled, .universal])
    func tombstoneAboveSnapshot(style: CompactionStyle) throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = MergeAndFilterDatabaseTests.options(style)
        options.mergeOperator = StringAppendOperator(separator: ",")
        let db = try Database.open(at: dir.path, options: options)
        try db.put(Self.b("k1"), Self.b("v1"))
        try db.merge(Self.b("k2"), Self.b("m1"))
        let snapshot = db.snapshot()
        try db.deleteRange(from: Self.b("k"), to: Self.b("l"))
        try db.merge(Self.b("k2"), Self.b("m2"))
        try db.compactRange()
        #expect(try db.get(Self.b("k1")) == nil)
        #expect(try db.get(Self.b("k2")) == Self.b("m2"))
        #expect(try db.get(Self.b("k1"), options: ReadOptions(snapshot: snapshot)) == Self.b("v1"))
        #expect(try db.get(Self.b("k2"), options: ReadOptions(snapshot: snapshot)) == Self.b("m1"))
        snapshot.release()
        try db.compactRange()
        #expect(try db.get(Self.b("k1")) == nil)
        #expect(try db.get(Self.b("k2")) == Self.b("m2"))
        // Nothing older is left for the tombstone to hide: it is gone with k1.
        let entries = try MergeAndFilterDatabaseTests.tableEntries(db)
        #expect(entries.map { String(decoding: $0.key, as: UTF8.self) } == ["k2"])
        for f in db.versions.current()?.allFiles ?? [] {
            #expect(try db.tableCache.table(f.number).rangeTombstones.isEmpty)
        }
        try db.close()
    }
}

extension RangeTombstoneCompactionTests {
    @Test("a compaction carrying a range tombstone writes one output file, so the level does not overlap",
          arguments: [CompactionStyle.leveled, .universal])
    func tombstoneOutputsDoNotOverlap(style: CompactionStyle) throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = MergeAndFilterDatabaseTests.options(style)
        options.targetFileSizeBase = 4 << 10
        let db = try Database.open(at: dir.path, options: options)
        for i in 0..<3_000 { try db.put(Self.b("key\(10_000 + i)"), [UInt8](repeating: UInt8(i & 0xFF), count: 30)) }
        let snapshot = db.snapshot()  // keeps the tombstone through the bottom
        try db.deleteRange(from: Self.b("key10100"), to: Self.b("key12900"))
        try db.compactRange()
        #expect(try db.get(Self.b("key10099")) != nil)
        #expect(try db.get(Self.b("key10100")) == nil)
        #expect(try db.get(Self.b("key12899")) == nil)
        #expect(try db.get(Self.b("key12900")) != nil)
        #expect(try db.get(Self.b("key11000"), options: ReadOptions(snapshot: snapshot)) != nil)
        snapshot.release()
        try db.compactRange()
        #expect(try MergeAndFilterDatabaseTests.tableEntries(db).count == 200)
        try db.close()
    }
}
