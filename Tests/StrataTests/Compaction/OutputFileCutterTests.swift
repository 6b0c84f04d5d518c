import Testing
@testable import Strata

/// Grandparent-aligned output cutting (RocksDB 7.8's
/// `level_compaction_dynamic_file_size`): where a leveled compaction ends
/// its output files, given the files of the level below its output.
@Suite("Output file cutter")
struct OutputFileCutterTests {
    static func grandparent(_ number: UInt64, _ lo: String, _ hi: String, size: UInt64) -> TableFile {
        UniversalPickerTests.file(number, size: size, sequence: 1, lo: lo, hi: hi)
    }

    /// Feeds `keys` with the given file size growing by `perKey` bytes per
    /// key; returns the keys before which it cut.
    static func cuts(_ cutter: inout OutputFileCutter, keys: [String], perKey: UInt64) -> [String] {
        var size: UInt64 = 0
        var open = false
        var result: [String] = []
        for k in keys {
            let bytes = Array(k.utf8)
            let cut = bytes.withUnsafeBytes { cutter.shouldCut(before: $0, fileSize: size, hasOpenFile: open) }
            if cut {
                result.append(k)
                size = 0
                bytes.withUnsafeBytes { cutter.startedFile(at: $0) }
            }
            open = true
            size += perKey
        }
        return result
    }

    @Test("without grandparents a file ends at the target size")
    func targetOnly() {
        var c = OutputFileCutter(grandparents: [], targetFileSize: 100, maxCompactionBytes: 2500)
        let keys = (0..<25).map { String(format: "k%02d", $0) }
        #expect(Self.cuts(&c, keys: keys, perKey: 10) == ["k10", "k20"])
    }

    @Test("past half the target a file ends at a grandparent boundary instead of the target")
    func alignsWithBoundary() {
        // Grandparent files [k00, k05] and [k07, k30]: the end of the first
        // (crossed at k07... after 6 keys = 60 bytes ≥ 50% of 100) cuts.
        let g = [Self.grandparent(1, "k00", "k05", size: 1000), Self.grandparent(2, "k07", "k30", size: 1000)]
        var c = OutputFileCutter(grandparents: g, targetFileSize: 100, maxCompactionBytes: 1_000_000)
        let keys = (0..<12).map { String(format: "k%02d", $0) }
        #expect(Self.cuts(&c, keys: keys, perKey: 10) == ["k06"])
    }

    @Test("below half the target a boundary does not cut; with grandparents a file may grow to twice the target")
    func smallFilesAndMaximum() {
        let g = [Self.grandparent(1, "k00", "k01", size: 10), Self.grandparent(2, "k03", "k99", size: 10)]
        var c = OutputFileCutter(grandparents: g, targetFileSize: 100, maxCompactionBytes: 1_000_000)
        let keys = (0..<45).map { String(format: "k%02d", $0) }
        // Boundaries at k02 (gap) and k03 come after 20 and 30 bytes: no cut;
        // then no boundary until k99, so the 2× maximum (200 bytes) cuts.
        #expect(Self.cuts(&c, keys: keys, perKey: 10) == ["k20", "k40"])
    }

    @Test("a key that skips a whole grandparent file larger than 1/8 of the target cuts, even in a small file")
    func skipsGrandparent() {
        let g = [Self.grandparent(1, "a", "b", size: 10), Self.grandparent(2, "c", "d", size: 500),
                 Self.grandparent(3, "f", "g", size: 10)]
        var c = OutputFileCutter(grandparents: g, targetFileSize: 1000, maxCompactionBytes: 1_000_000)
        // "a1" is inside file 1; "e" jumps past file 2 (500 > 1000/8).
        #expect(Self.cuts(&c, keys: ["a1", "e", "e1"], perKey: 10) == ["e"])
    }

    @Test("a compaction keeps every entry and the files of its output stay disjoint and aligned")
    func databaseOutputs() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.writeBufferSize = 64 << 10
        options.targetFileSizeBase = 32 << 10
        options.maxBytesForLevelBase = 128 << 10
        options.level0FileNumCompactionTrigger = 2
        options.levelCompactionDynamicLevelBytes = false
        let db = try Database.open(at: dir.path, options: options)
        var rng = SplitMix64(seed: 11)
        var expected: [[UInt8]: [UInt8]] = [:]
        for _ in 0..<20_000 {
            let k = Array(String(format: "k%06d", rng.next() % 8000).utf8)
            let v = (0..<60).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            try db.put(k, v)
            expected[k] = v
        }
        try db.waitForBackgroundWork()
        let version = try #require(db.versions.current())
        for level in 1..<version.levels.count {
            let files = version.levels[level]
            for i in files.indices.dropFirst() {
                #expect(Bytewise.compare(files[i - 1].meta.largestUserKey, files[i].meta.smallestUserKey) < 0)
            }
            for f in files { #expect(f.fileSize <= 2 * options.targetFileSizeBase + 8192) }
        }
        for (k, v) in expected { #expect(try db.get(k) == v) }
        try db.close()
    }
}
