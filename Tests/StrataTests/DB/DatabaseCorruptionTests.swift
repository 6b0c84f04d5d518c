import Foundation
import Testing
@testable import Strata

/// Damaged database files give the documented behaviour (docs/durability.md):
/// a WAL damaged mid-file ends recovery at the last intact record; a damaged
/// table or MANIFEST is a `.corruption` error naming the file — never wrong
/// data, never a crash.
@Suite("Database corruption")
struct DatabaseCorruptionTests {
    static func flip(_ path: String, at offset: Int) throws {
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[offset] ^= 0x5A
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func files(_ dir: TestDirectory, suffix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(suffix) || $0.hasPrefix(suffix) }.sorted()
    }

    @Test("a damaged MANIFEST fails the open with .corruption naming the MANIFEST")
    func manifest() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Database.open(at: dir.path)
        for i in 0..<50 { try db.put(Array("k\(i)".utf8), Array("v\(i)".utf8)) }
        try db.flush()
        for i in 50..<100 { try db.put(Array("k\(i)".utf8), Array("v\(i)".utf8)) }
        try db.flush()
        try db.close()
        let manifest = try Self.files(dir, suffix: "MANIFEST-").last!
        let size = try FileManager.default.attributesOfItem(atPath: dir.file(manifest))[.size] as! Int
        // Damage the first record (the snapshot of the version), not the tail.
        try Self.flip(dir.file(manifest), at: min(20, size / 2))
        do {
            let reopened = try Database.open(at: dir.path)
            try reopened.close()
            Issue.record("open succeeded on a damaged MANIFEST")
        } catch let error as StrataError {
            #expect(error.kind == .corruption, "\(error)")
            #expect(error.file?.contains("MANIFEST") == true, "\(error)")
        }
    }

    @Test("a damaged table block is a .corruption error naming the table, for get and for iterators")
    func table() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.compression = .none
        options.blockCacheCapacity = 0
        let db = try Database.open(at: dir.path, options: options)
        for i in 0..<2000 { try db.put(Array(String(format: "key%05d", i).utf8), Array(repeating: UInt8(i & 0xFF), count: 50)) }
        try db.flush()
        try db.close()
        let table = try Self.files(dir, suffix: ".sst").first!
        try Self.flip(dir.file(table), at: 100)  // inside the first data block
        let reopened = try Database.open(at: dir.path, options: options)
        defer { try? reopened.close() }
        do {
            _ = try reopened.get(Array("key00000".utf8))
            Issue.record("get returned data from a damaged block")
        } catch let error as StrataError {
            #expect(error.kind == .corruption)
            #expect(error.file?.hasSuffix(table) == true, "\(error)")
            #expect(error.offset == 0, "\(error)")
        }
        // Keys in intact blocks still read correctly.
        #expect(try reopened.get(Array("key01999".utf8)) == Array(repeating: UInt8(1999 & 0xFF), count: 50))
        let it = try reopened.makeIterator()
        it.seekToFirst()
        #expect(!it.isValid)
        #expect(throws: StrataError.self) { try it.status() }
    }

    @Test("a WAL damaged in the middle recovers exactly the records before the damage")
    func walMiddle() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var db = try Database.open(at: dir.path)
        for i in 0..<100 { try db.put(Array("k\(i)".utf8), Array(repeating: UInt8(i), count: 100)) }
        try db.close()
        let wal = try Self.files(dir, suffix: ".log").last!
        // Each record is 7 + 12 + ~106 bytes; damage record 50's payload.
        let recordSize = 7 + 12 + 1 + 1 + (Array("k50".utf8).count) + 1 + 100
        _ = recordSize
        let size = try FileManager.default.attributesOfItem(atPath: dir.file(wal))[.size] as! Int
        try Self.flip(dir.file(wal), at: size / 2)
        db = try Database.open(at: dir.path)
        var present: [Int] = []
        for i in 0..<100 where try db.get(Array("k\(i)".utf8)) != nil { present.append(i) }
        try db.close()
        // A prefix, not everything, and every present value is the one written.
        #expect(!present.isEmpty && present.count < 100)
        #expect(present == Array(0..<present.count), "recovered \(present)")
    }
}
