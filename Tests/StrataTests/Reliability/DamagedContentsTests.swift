import Foundation
import Testing
@testable import Strata

/// Tables whose block checksums are valid but whose contents are not:
/// short internal keys, keys out of order, value types that cannot be in a
/// data block, lengths running past the entries (issue 24: sst-dump trapped
/// on a short key; engine errors lacked file and offset; compaction called
/// a damaged input `invalidArgument`). Each damage is made in the first data
/// block of a flushed table, the block checksum recomputed, and every reader
/// driven: get, iterators, compactRange, verify, and every sst-dump command.
@Suite("Damaged table contents under valid checksums", .serialized)
struct DamagedContentsTests {
    static let keys = ["a1", "b2", "c3", "d4", "e5", "f6", "g7", "h8"]

    /// One kind of damage: how to change the block's bytes, given the
    /// offset of each entry (shared, non-shared and value lengths are one
    /// byte each in these small blocks).
    struct Damage: Sendable, CustomStringConvertible {
        let description: String
        /// False for damage a point read cannot see (RocksDB does not check
        /// key order on reads either); verify and compaction still must.
        let readsSeeIt: Bool
        let apply: @Sendable (inout [UInt8], _ base: Int, _ entries: [Int]) -> Void
    }

    static let damages: [Damage] = [
        Damage(description: "internal key of 3 bytes (shorter than the trailer)", readsSeeIt: true) { bytes, base, entries in
            let e = base + entries[0]
            let nonShared = Int(bytes[e + 1])
            bytes[e + 1] = 3
            bytes[e + 2] += UInt8(nonShared - 3)  // the rest of the key becomes value
        },
        Damage(description: "keys out of order", readsSeeIt: false) { bytes, base, entries in
            bytes[base + entries[1] + 3] = UInt8(ascii: "z")  // b2 -> z2, before c3
        },
        Damage(description: "value type 0x05 in a data block", readsSeeIt: true) { bytes, base, entries in
            let e = base + entries[1]
            bytes[e + 3 + Int(bytes[e + 1]) - 8] = 0x05
        },
        Damage(description: "range-deletion type 0x0F in a data block", readsSeeIt: true) { bytes, base, entries in
            let e = base + entries[1]
            bytes[e + 3 + Int(bytes[e + 1]) - 8] = 0x0F
        },
        Damage(description: "key length running past the entries", readsSeeIt: true) { bytes, base, entries in
            bytes[base + entries[entries.count - 1] + 1] = 0x7F
        },
        Damage(description: "value length running past the entries", readsSeeIt: true) { bytes, base, entries in
            bytes[base + entries[entries.count - 1] + 2] = 0x7F
        },
    ]

    static var options: Options {
        var o = Options()
        o.createIfMissing = true
        o.compression = .none
        o.checksum = .crc32c
        o.formatVersion = 5
        o.level0FileNumCompactionTrigger = 100  // only compactRange compacts
        return o
    }

    /// A database with two overlapping L0 tables (so compactRange merges
    /// rather than moves), the older holding every key, damaged by `damage`.
    /// Returns the damaged table's path.
    static func makeDamagedDatabase(_ path: String, _ damage: Damage) throws -> String {
        let db = try Database.open(at: path, options: options)
        for k in keys { try db.put(Array(k.utf8), Array("value-\(k)".utf8)) }
        try db.flush()
        let tables = try PosixFileSystem().listDirectory(path).filter { $0.hasSuffix(".sst") }
        try db.put(Array("a1".utf8), Array("newer".utf8))
        try db.flush()
        try db.close()
        #expect(tables.count == 1)
        let table = Path.join(path, tables[0])
        try damageFirstDataBlock(table, damage)
        return table
    }

    /// Applies `damage` to the first data block of `table` and rewrites its
    /// checksum, so only the contents are wrong.
    static func damageFirstDataBlock(_ table: String, _ damage: Damage) throws {
        let reader = try TableReader.open(path: table)
        let handle = try reader.dataBlockHandles()[0].handle
        #expect(reader.checksumType == .crc32c)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: table)))
        let base = Int(handle.offset)
        let size = Int(handle.size)
        let restarts = Int(loadFixed32(bytes, at: base + size - 4))
        let entriesEnd = size - 4 - 4 * restarts
        var entries: [Int] = []
        var p = 0
        while p < entriesEnd {
            entries.append(p)
            let (shared, nonShared, valueLength) = (bytes[base + p], bytes[base + p + 1], bytes[base + p + 2])
            precondition(shared < 0x80 && nonShared < 0x80 && valueLength < 0x80, "test table must use 1-byte lengths")
            p += 3 + Int(nonShared) + Int(valueLength)
        }
        #expect(entries.count == keys.count)
        damage.apply(&bytes, base, entries)
        let checksum = bytes.withUnsafeBytes { raw in
            blockChecksum(.crc32c, blockAndType: UnsafeRawBufferPointer(rebasing: raw[base..<(base + size + 1)]))
        }
        for i in 0..<4 { bytes[base + size + 1 + i] = UInt8(truncatingIfNeeded: checksum >> (8 * UInt32(i))) }
        try Data(bytes).write(to: URL(fileURLWithPath: table))
    }

    static func loadFixed32(_ bytes: [UInt8], at i: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[i + $1]) << (8 * UInt32($1)) }
    }

    /// A `.corruption` (or `.notSupported`) naming `table` and an offset.
    static func isLocatedDamage(_ error: any Error, _ table: String) -> Bool {
        guard let error = error as? StrataError else { return false }
        return (error.kind == .corruption || error.kind == .notSupported) && error.file == table && error.offset != nil
    }

    @Test("get, iterators, compactRange and verify report the damage as corruption with file and offset, never a trap or a wrong value",
          arguments: damages)
    func engineReaders(_ damage: Damage) throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        let table = try Self.makeDamagedDatabase(path, damage)
        print("damage: \(damage), table \(table)")

        let report = try Database.verify(at: path)
        #expect(report.damaged.map(\.name) == [Path.basename(table)], "\(report)")

        let db = try Database.open(at: path, options: Self.options)
        for k in Self.keys {
            do {
                let value = try db.get(Array(k.utf8))
                if let value {
                    let expected = k == "a1" ? "newer" : "value-\(k)"
                    #expect(value == Array(expected.utf8), "get(\(k)) returned a wrong value")
                }
            } catch {
                #expect(Self.isLocatedDamage(error, table), "get(\(k)): \(error)")
            }
        }
        for forward in [true, false] {
            let it = try db.makeIterator()
            if forward { it.seekToFirst() } else { it.seekToLast() }
            var seen = 0
            while it.isValid && seen < 100 {
                seen += 1
                if forward { it.next() } else { it.prev() }
            }
            do {
                try it.status()
                #expect(!damage.readsSeeIt, "a \(forward ? "forward" : "backward") scan did not see \(damage)")
            } catch {
                #expect(Self.isLocatedDamage(error, table), "scan: \(error)")
            }
        }
        do {
            try db.compactRange()
            Issue.record("compactRange accepted a table with \(damage)")
        } catch let error as StrataError {
            #expect(error.kind == .corruption, "compactRange: \(error)")
            #expect(error.file == table || error.message.contains(Path.basename(table)), "compactRange: \(error)")
        }
        // Corruption found by a compaction stops writes (the background-error
        // policy, Database+Errors.swift); reads keep working.
        #expect(db.property("strata.background-error")?.isEmpty == false)
        #expect(throws: StrataError.self) { try db.put(Array("z".utf8), Array("after".utf8)) }
        try? db.close()
    }

    @Test("a wrong magic number is reported at the file offset of the magic, not an offset in the footer")
    func magicOffset() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        let db = try Database.open(at: path, options: Self.options)
        try db.put([1], [2])
        try db.flush()
        try db.close()
        let name = try PosixFileSystem().listDirectory(path).first { $0.hasSuffix(".sst") }!
        let table = Path.join(path, name)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: table)))
        bytes[bytes.count - 1] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: table))
        do {
            _ = try TableReader.open(path: table)
            Issue.record("opened a table with a bad magic number")
        } catch let error as StrataError {
            #expect(error.message.contains("magic"))
            #expect(error.offset == UInt64(bytes.count - 8), "\(error)")
        }
    }

    /// The path of a tool built next to the tests (`swift build`), or nil.
    static func tool(_ name: String) -> String? {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let candidate = root.appendingPathComponent(".build/debug/\(name)").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }

    /// Runs a tool; its exit status and output (stdout and stderr).
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, exited: Bool, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason == .exit, String(decoding: data, as: UTF8.self))
    }

    @Test("every sst-dump command (text and --json) exits 0 or 1 on the damaged table — never a trap — and 1 where it reads the damage",
          arguments: damages)
    func sstDump(_ damage: Damage) throws {
        guard let sstDump = Self.tool("sst-dump") else {
            Issue.record("sst-dump is not built: run `swift build --product sst-dump` first")
            return
        }
        let dir = TestDirectory()
        defer { dir.remove() }
        let table = try Self.makeDamagedDatabase(dir.file("db"), damage)
        for command in ["check", "scan", "raw", "verify", "none", "identify", "blocks", "filter", "summary"] {
            for json in [false, true] {
                var args = ["--file=\(table)", "--command=\(command)", "--show_properties", "--probes=200"]
                if json { args.append("--json") }
                let result = try Self.run(sstDump, args)
                #expect(result.exited, "sst-dump \(args) was killed by a signal: \(result.output)")
                #expect(result.status == 0 || result.status == 1, "sst-dump \(args): status \(result.status)")
                let readsEveryEntry = ["check", "scan", "raw", "verify", "summary"].contains(command)
                    && !(json && command == "raw")  // --json has no raw dump
                if readsEveryEntry && (damage.readsSeeIt || command == "verify" || (command == "check" && json)) {
                    #expect(result.status == 1, "sst-dump \(args) did not report \(damage): \(result.output)")
                }
            }
        }
    }
}
