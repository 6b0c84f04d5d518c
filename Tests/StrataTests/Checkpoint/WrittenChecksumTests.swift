import Testing
@testable import Strata

/// Tables are hashed as they are written: the MANIFEST's file checksum of
/// every flush and compaction output equals the XXH3-64 of the file, and
/// survives a reopen (so a checkpoint never has to read a table to list it).
@Suite("Checksums of written tables")
struct WrittenChecksumTests {
    @Test func manifestChecksumMatchesFileContents() throws {
        let seed: UInt64 = 77
        print("WrittenChecksumTests seed \(seed)")
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.writeBufferSize = 64 << 10
        options.level0FileNumCompactionTrigger = 2
        var rng = TestRandom(seed: seed)
        var db = try Database.open(at: dir.path, options: options)
        for _ in 0..<8000 { try db.put(Array("k\(rng.int(0..<3000))".utf8), rng.bytes(50)) }
        try db.flush()
        try db.waitForBackgroundWork()
        try db.close()
        db = try Database.open(at: dir.path, options: options)
        let files = (db.versions.current() ?? .empty).allFiles
        #expect(!files.isEmpty)
        for file in files {
            #expect(file.meta.fileChecksumFunctionName == HashingWritableFile.functionName)
            let recorded = FileChecksum.hex(file.meta.fileChecksum.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            let actual = try FileChecksum.of(path: dir.file(DBFileName.table(file.meta.number)), fileSystem: PosixFileSystem.shared)
            #expect(recorded == actual, "table \(file.meta.number)")
        }
        try db.close()
    }
}
