import Testing
@testable import Strata

/// `ReadOptions(prefix:)` and `ReadOptions.prefixUpperBound`: an iterator
/// visits exactly the keys that start with the prefix, forward, backward and
/// after seeks, across the memtable and table files.
@Suite("Prefix scan")
struct PrefixScanTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test("the upper bound is the prefix with its last non-0xFF byte incremented and the rest cut")
    func upperBound() {
        #expect(ReadOptions.prefixUpperBound(Self.bytes("user:")) == Self.bytes("user;"))
        #expect(ReadOptions.prefixUpperBound([0x00]) == [0x01])
        #expect(ReadOptions.prefixUpperBound([0xFE]) == [0xFF])
        #expect(ReadOptions.prefixUpperBound([0x61, 0xFF]) == [0x62])
        #expect(ReadOptions.prefixUpperBound([0x61, 0xFF, 0xFF]) == [0x62])
        #expect(ReadOptions.prefixUpperBound([0x61, 0xFE, 0xFF]) == [0x61, 0xFF])
        #expect(ReadOptions.prefixUpperBound([0xFF]) == nil)
        #expect(ReadOptions.prefixUpperBound([0xFF, 0xFF, 0xFF]) == nil)
        #expect(ReadOptions.prefixUpperBound([]) == nil)
        let o = ReadOptions(prefix: Self.bytes("ab"), fillCache: false)
        #expect(o.lowerBound == Self.bytes("ab") && o.upperBound == Self.bytes("ac") && !o.fillCache)
        let all = ReadOptions(prefix: [])
        #expect(all.lowerBound == nil && all.upperBound == nil)
    }

    /// Keys on both sides of each prefix's boundaries.
    static let boundaryKeys: [[UInt8]] = [
        [0x00], [0x61], [0x61, 0x61, 0xFF], [0x61, 0x62], [0x61, 0x62, 0x00], [0x61, 0x62, 0x00, 0x00],
        [0x61, 0x62, 0x63], [0x61, 0x62, 0xFF], [0x61, 0x62, 0xFF, 0xFF, 0xFF], [0x61, 0x63], [0x61, 0x63, 0x00],
        [0x61, 0xFE, 0xFF], [0x61, 0xFF], [0x61, 0xFF, 0x00], [0x61, 0xFF, 0xFF], [0x62],
        [0xFE, 0xFF, 0xFF], [0xFF], [0xFF, 0x00], [0xFF, 0xFF], [0xFF, 0xFF, 0xFF],
    ]

    /// Forward and backward scans with the prefix's options, checked against
    /// the keys that start with it.
    static func checkScans(_ db: Database, keys: [[UInt8]], prefix: [UInt8]) throws {
        let expected = keys.filter { $0.starts(with: prefix) }.sorted { Bytewise.compare($0, $1) < 0 }
        let it = try db.makeIterator(options: ReadOptions(prefix: prefix))
        var forward: [[UInt8]] = []
        it.seekToFirst()
        while it.isValid { forward.append(it.key); it.next() }
        var backward: [[UInt8]] = []
        it.seekToLast()
        while it.isValid { backward.append(it.key); it.prev() }
        try it.status()
        #expect(forward == expected, "forward scan of prefix \(prefix)")
        #expect(backward == Array(expected.reversed()), "backward scan of prefix \(prefix)")
    }

    @Test("boundary keys: the prefix itself, prefix+0xFF…, the next prefix, empty and 0xFF prefixes")
    func boundaries() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Database.open(at: dir.path)
        // Half the keys in a table file, half in the memtable, one deleted.
        for (i, k) in Self.boundaryKeys.enumerated() where i % 2 == 0 { try db.put(k, [UInt8(i)]) }
        try db.flush()
        for (i, k) in Self.boundaryKeys.enumerated() where i % 2 == 1 { try db.put(k, [UInt8(i)]) }
        try db.put([0x61, 0x62, 0x01], [1])
        try db.delete([0x61, 0x62, 0x01])
        let prefixes: [[UInt8]] = [[], [0x61], [0x61, 0x62], [0x61, 0x62, 0xFF], [0x61, 0xFF], [0x61, 0xFF, 0xFF],
                                   [0xFF], [0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0xFF], [0x00], [0x63]]
        for prefix in prefixes { try Self.checkScans(db, keys: Self.boundaryKeys, prefix: prefix) }

        // "ab": exactly ab, ab\0, ab\0\0, abc, ab\xFF, ab\xFF\xFF\xFF; not aa\xFF, ac, a, b.
        let it = try db.makeIterator(options: ReadOptions(prefix: Self.bytes("ab")))
        it.seekToFirst()
        #expect(it.isValid && it.key == [0x61, 0x62], "the prefix itself is the first key")
        it.seekToLast()
        #expect(it.isValid && it.key == [0x61, 0x62, 0xFF, 0xFF, 0xFF], "prefix+0xFF… is the last key")
        it.seek([0x61, 0x62, 0x01])
        #expect(it.isValid && it.key == [0x61, 0x62, 0x63], "seek inside, past the deleted key")
        it.seek([0x61])
        #expect(it.isValid && it.key == [0x61, 0x62], "a seek before the prefix lands on its first key")
        it.seek([0x61, 0x62, 0xFF, 0xFF, 0xFF, 0x00])
        #expect(!it.isValid, "no key of the prefix at or after the target")
        it.seek([0x61, 0x63])
        #expect(!it.isValid, "the next prefix is outside")
        it.seekForPrev([0x61, 0x62, 0x62])
        #expect(it.isValid && it.key == [0x61, 0x62, 0x00, 0x00], "seekForPrev inside")
        it.seekForPrev([0x62])
        #expect(it.isValid && it.key == [0x61, 0x62, 0xFF, 0xFF, 0xFF], "seekForPrev past the prefix")
        it.seekForPrev([0x61, 0x61, 0xFF, 0xFF])
        #expect(!it.isValid, "seekForPrev before the prefix")
        it.seek([0x61, 0x62, 0x00])
        it.prev()
        #expect(it.isValid && it.key == [0x61, 0x62], "prev after a seek")
        it.prev()
        #expect(!it.isValid, "prev stops at the prefix's start")
        try it.status()
        try db.close()
    }

    @Test("random keys and prefixes over bytes near the boundaries (seeded)")
    func randomized() throws {
        let seed: UInt64 = 20
        print("prefix scan seed \(seed)")
        var rng = TestRandom(seed: seed)
        let alphabet: [UInt8] = [0x00, 0x01, 0x61, 0x62, 0xFE, 0xFF]
        func randomKey(_ lengths: Range<Int>) -> [UInt8] {
            (0..<rng.int(lengths)).map { _ in alphabet[rng.int(0..<alphabet.count)] }
        }
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Database.open(at: dir.path)
        var keys = Set<[UInt8]>()
        for round in 0..<3 {
            for _ in 0..<150 {
                let k = randomKey(1..<5)
                if rng.int(0..<5) == 0 {
                    try db.delete(k)
                    keys.remove(k)
                } else {
                    try db.put(k, k)
                    keys.insert(k)
                }
            }
            if round < 2 { try db.flush() }
        }
        let sorted = keys.sorted { Bytewise.compare($0, $1) < 0 }
        for _ in 0..<60 {
            let prefix = randomKey(0..<4)
            try Self.checkScans(db, keys: sorted, prefix: prefix)
            let inPrefix = sorted.filter { $0.starts(with: prefix) }
            let it = try db.makeIterator(options: ReadOptions(prefix: prefix))
            for _ in 0..<5 {
                let target = prefix + randomKey(0..<3)
                it.seek(target)
                let first = inPrefix.first { Bytewise.compare($0, target) >= 0 }
                #expect(it.isValid ? it.key == first : first == nil, "seek \(target) in prefix \(prefix)")
                it.seekForPrev(target)
                let last = inPrefix.last { Bytewise.compare($0, target) <= 0 }
                #expect(it.isValid ? it.key == last : last == nil, "seekForPrev \(target) in prefix \(prefix)")
            }
            try it.status()
        }
        try db.close()
    }
}
