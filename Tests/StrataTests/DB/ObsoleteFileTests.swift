import Testing
@testable import Strata

/// Files a compaction replaced leave the directory as soon as nothing
/// references them, not at the next background job (found by strata-bench:
/// S-Amp counted the last compaction's inputs).
@Suite("Obsolete files")
struct ObsoleteFileTests {
    @Test func compactionInputsAreDeletedWhenWorkIsIdle() throws {
        let seed: UInt64 = 4242
        print("ObsoleteFileTests seed \(seed)")
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.writeBufferSize = 64 << 10
        options.maxBytesForLevelBase = 256 << 10
        options.level0FileNumCompactionTrigger = 2
        options.compression = .none
        let db = try Database.open(at: dir.path, options: options)
        var rng = TestRandom(seed: seed)
        for _ in 0..<20_000 {
            let key = Array("key\(rng.int(0..<5000))".utf8)
            try db.put(key, rng.bytes(64))
        }
        try db.flush()
        try db.waitForBackgroundWork()
        let live = Set((db.versions.current() ?? .empty).allFiles.map(\.meta.number))
        let onDisk = try PosixFileSystem.shared.listDirectory(dir.path).compactMap { name -> UInt64? in
            if case .table(let n) = DBFileName.parse(name) { return n }
            return nil
        }
        #expect(Set(onDisk) == live, "tables on disk \(onDisk.sorted()) but live \(live.sorted())")
        try db.close()
    }
}
