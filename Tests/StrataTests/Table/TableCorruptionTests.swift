import Testing
@testable import Strata

/// Damaged tables: a flipped byte anywhere must give a `StrataError` naming
/// the file, or (bytes no reader looks at, like footer padding) the original
/// data — never different data, never a crash.
@Suite("Table corruption")
struct TableCorruptionTests {
    /// Reads everything: full scan forwards, then gets of every key.
    static func readAll(_ path: String) throws -> [[UInt8]] {
        let table = try TableReader.open(path: path)
        var out: [[UInt8]] = []
        let it = table.makeIterator()
        it.seekToFirst()
        while it.isValid {
            out.append(Array(it.key) + [0x3D] + Array(it.value))
            it.next()
        }
        if let error = it.error { throw error }
        for t in table.rangeTombstones { out.append(t.begin + [0x2D] + t.end) }
        return out
    }

    @Test("every flipped byte is detected or harmless")
    func flippedBytes() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        for seed: UInt64 in 1...8 {
            print("seed \(seed)")
            var rng = TestRandom(seed: seed)
            let entries = TableRoundTripTests.randomEntries(&rng, count: 60, maxValue: 40)
            var options = TableRoundTripTests.randomOptions(&rng)
            options.blockSize = 256
            // Seeds 7 and 8 sweep format_version 6 (context checksums, checksummed footer).
            if seed >= 7 { options.formatVersion = 6 }
            let path = dir.file("good\(seed).sst")
            _ = try TableRoundTripTests.write(entries, options: options, to: path)
            let good = try Self.readAll(path)
            let bytes = try PosixFileSystem.shared.openRandomAccess(path).read(at: 0, count: Int(try PosixFileSystem.shared.fileSize(path)))
            let badPath = dir.file("bad\(seed).sst")
            // Every byte position once (files are a few KiB), random flips.
            for position in 0..<bytes.count {
                var damaged = bytes
                damaged[position] ^= UInt8(1 << rng.int(0..<8))
                let file = try PosixFileSystem.shared.createWritable(badPath)
                try file.append(damaged)
                try file.close()
                do {
                    let read = try Self.readAll(badPath)
                    #expect(read == good, "flip at \(position) of \(bytes.count) changed the data without an error")
                } catch let error as StrataError {
                    #expect(error.kind == .corruption || error.kind == .notSupported, "flip at \(position): \(error)")
                    #expect(error.file == badPath, "flip at \(position): \(error) does not name the file")
                }
            }
        }
    }

    @Test("truncated tables are reported as corruption")
    func truncated() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var rng = TestRandom(seed: 99)
        let entries = TableRoundTripTests.randomEntries(&rng, count: 100)
        let path = dir.file("t.sst")
        let size = try TableRoundTripTests.write(entries, options: TableOptions(), to: path)
        let bytes = try PosixFileSystem.shared.openRandomAccess(path).read(at: 0, count: Int(size))
        for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 300)) {
            let bad = dir.file("cut.sst")
            let file = try PosixFileSystem.shared.createWritable(bad)
            try file.append(Array(bytes[0..<cut]))
            try file.close()
            #expect(throws: StrataError.self) { _ = try Self.readAll(bad) }
        }
    }
}
