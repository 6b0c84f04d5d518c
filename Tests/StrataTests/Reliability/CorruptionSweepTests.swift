import Foundation
import Testing
@testable import Strata

/// Bytes flipped in every kind of database file (docs/durability.md,
/// "Corruption"): tables, WALs, the MANIFEST, CURRENT. For each flip:
///
/// * `Database.verify` lists the flipped file (damaged; a WAL or MANIFEST
///   whose last record now looks torn as a warning) and no other;
/// * the database either refuses to open with `.corruption` naming the file,
///   or opens and every get and scan returns the value last written or
///   throws `.corruption` naming the file — never another value, never a
///   missing key — except that a damaged WAL gives a prefix of its writes
///   (point-in-time recovery);
/// * `Database.repair` rebuilds it: afterwards it verifies clean and every
///   read gives a value the key had at some point (or none: what was in a
///   lost block or after a damaged WAL record is gone) — and for a damaged
///   CURRENT or MANIFEST, exactly the last values (nothing is lost).
///
/// The flips (offsets and XOR masks) are seeded; the seed is printed.
@Suite("Corruption sweep")
struct CorruptionSweepTests {
    static let families = ["default", "second"]

    /// A database with tables in L0 and deeper levels, in two families,
    /// overwrites, deletions and a range deletion, and writes only in the
    /// WAL; with what each key held over time.
    struct Built {
        let fs: MemoryFileSystem
        /// Per family: key → last value (absent = deleted or never written).
        var final: [String: [[UInt8]: [UInt8]]] = [:]
        /// Per family: key → every value it held, nil for "absent".
        var history: [String: [[UInt8]: [[UInt8]?]]] = [:]
        /// The writes made after the last flush (they are only in the WAL), in order.
        var walWrites: [(family: String, key: [UInt8], value: [UInt8])] = []
    }

    static func options(_ fs: any FileSystem) -> Options {
        var options = CrashWorkload.options(fs)
        options.blockCacheCapacity = 0  // every read goes to the file
        return options
    }

    static func build() throws -> Built {
        let fs = MemoryFileSystem()
        var built = Built(fs: fs)
        let db = try Database.open(at: "/db", options: options(fs))
        let second = try db.createColumnFamily(named: "second")
        func handle(_ name: String) -> ColumnFamily { name == "default" ? db.defaultColumnFamily : second }
        func record(_ name: String, _ key: [UInt8], _ value: [UInt8]?) {
            built.final[name, default: [:]][key] = value
            built.history[name, default: [:]][key, default: [nil]].append(value)
        }
        for round in 0..<4 {
            for name in families {
                for i in 0..<120 {
                    let key = Array("key\(1000 + (i * 7 + round * 3) % 300)".utf8)
                    if i % 17 == 5 {
                        try handle(name).delete(key)
                        record(name, key, nil)
                    } else {
                        let value = Array("\(name)-r\(round)-i\(i)-".utf8) + [UInt8](repeating: UInt8(i), count: i % 40)
                        try handle(name).put(key, value)
                        record(name, key, value)
                    }
                }
                if round == 2 {
                    let (lo, hi) = (Array("key1100".utf8), Array("key1120".utf8))
                    try handle(name).deleteRange(from: lo, to: hi)
                    for key in built.final[name]!.keys where Bytewise.compare(key, lo) >= 0 && Bytewise.compare(key, hi) < 0 {
                        record(name, key, nil)
                    }
                }
                try handle(name).flush()
            }
            if round == 1 {
                try db.compactRange()
                try second.compactRange()
            }
        }
        for i in 0..<30 {
            let name = families[i % 2]
            let key = Array("wal\(100 + i)".utf8)
            let value = Array("w\(i)".utf8)
            try handle(name).put(key, value)
            record(name, key, value)
            built.walWrites.append((name, key, value))
        }
        try db.close()
        return built
    }

    enum Kind: String, CaseIterable {
        case table, wal, manifest, current
    }

    static func kind(_ name: String) -> Kind? {
        switch DBFileName.parse(name) {
        case .table: return .table
        case .wal: return .wal
        case .manifest: return .manifest
        case .current: return .current
        default: return nil
        }
    }

    /// A copy of `fs` with one byte of `path` XORed with `mask`.
    static func flipped(_ fs: MemoryFileSystem, _ path: String, at offset: Int, mask: UInt8) throws -> MemoryFileSystem {
        let copy = fs.crashClone(keeping: .all)
        let file = try copy.openRandomAccess(path)
        var bytes = try file.read(at: 0, count: Int(file.size))
        file.close()
        bytes[offset] ^= mask
        let out = try copy.createWritable(path)
        try out.append(bytes)
        try out.sync()
        try out.close()
        return copy
    }

    /// Reads every key the history knows, and scans each family.
    /// Returns the values read, or the first `.corruption` met.
    static func readAll(_ db: Database, _ built: Built) -> Result<[String: [[UInt8]: [UInt8]]], StrataError> {
        var seen: [String: [[UInt8]: [UInt8]]] = [:]
        do {
            for name in families {
                guard let family = name == "default" ? db.defaultColumnFamily : db.columnFamily(named: name) else {
                    throw StrataError.corruption("family \(name) is missing")
                }
                for key in built.history[name]!.keys {
                    if let value = try family.get(key) { seen[name, default: [:]][key] = value }
                }
                let it = try family.makeIterator()
                var scanned: [[UInt8]: [UInt8]] = [:]
                it.seekToFirst()
                while it.isValid {
                    scanned[it.key] = it.value
                    it.next()
                }
                try it.status()
                if scanned != seen[name, default: [:]] {
                    throw StrataError.invalidArgument("family \(name): the scan and the gets disagree")
                }
            }
        } catch let error as StrataError {
            return .failure(error)
        } catch {
            return .failure(StrataError.ioError("\(error)"))
        }
        return .success(seen)
    }

    /// True if `state` is exactly the final values except for a suffix of
    /// the WAL-only writes (which must then be absent).
    static func isWALPrefix(_ state: [String: [[UInt8]: [UInt8]]], _ built: Built) -> Bool {
        var expected = built.final
        for cut in (0...built.walWrites.count).reversed() {
            // Writes from `cut` on are lost (they were new keys).
            expected = built.final
            for w in built.walWrites[cut...] { expected[w.family]![w.key] = nil }
            if families.allSatisfy({ (state[$0] ?? [:]) == (expected[$0] ?? [:]) }) { return true }
        }
        return false
    }

    /// True if every key holds a value from its history (or none).
    static func isFromHistory(_ state: [String: [[UInt8]: [UInt8]]], _ built: Built) -> Bool {
        for name in families {
            for (key, value) in state[name] ?? [:] {
                guard let past = built.history[name]?[key], past.contains(where: { $0 == value }) else { return false }
            }
        }
        return true
    }

    /// Seeds of the flips: one in CI; `STRATA_CORRUPTION_SEEDS=N` runs N
    /// (the database is the same, the offsets and masks differ).
    static let seeds: [UInt64] = {
        let count = ProcessInfo.processInfo.environment["STRATA_CORRUPTION_SEEDS"].flatMap { Int($0) } ?? 1
        return (0..<UInt64(max(1, count))).map { 0x5EED_C0AA &+ $0 }
    }()

    @Test("every flipped byte is found by verify, never read as data, and repaired", arguments: seeds)
    func flips(seed: UInt64) throws {
        print("CorruptionSweepTests seed \(seed)")
        var rng = TestRandom(seed: seed)
        let built = try Self.build()
        let baseline = try Database.verify(at: "/db", options: Self.options(built.fs))
        #expect(baseline.isHealthy, "\(baseline)")
        var counts: [Kind: Int] = [:]
        // Flips whose open or reads failed with .corruption, and table
        // flips whose repair copied the intact blocks of the table.
        var openRefused: [Kind: Int] = [:]
        var salvaged: [Kind: Int] = [:]
        let names = try built.fs.listDirectory("/db").sorted()
        for name in names {
            guard let kind = Self.kind(name) else { continue }
            let path = Path.join("/db", name)
            let size = Int(try built.fs.fileSize(path))
            guard size > 0 else { continue }
            // Spread over the file, plus its first and last bytes (footer,
            // last record, CURRENT's newline).
            var offsets = Set([0, size - 1])
            let wanted = kind == .table ? 6 : 12
            while offsets.count < min(size, wanted + 2) { offsets.insert(rng.int(0..<size)) }
            for offset in offsets.sorted() {
                let mask = UInt8(rng.int(1..<256))
                let label = "\(name) byte \(offset) ^ 0x\(String(mask, radix: 16))"
                let fs = try Self.flipped(built.fs, path, at: offset, mask: mask)
                counts[kind, default: 0] += 1
                try check(kind: kind, name: name, fs: fs, built: built, label: label, refused: &openRefused,
                          salvaged: &salvaged)
            }
        }
        print("CorruptionSweepTests seed \(seed): flips per file kind: \(counts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")); salvaged tables \(salvaged[.table] ?? 0); open or reads refused with .corruption: \(openRefused.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", "))")
        for kind in Kind.allCases { #expect((counts[kind] ?? 0) > 0, "no \(kind) file was flipped") }
    }

    func check(kind: Kind, name: String, fs: MemoryFileSystem, built: Built, label: String,
               refused: inout [Kind: Int], salvaged: inout [Kind: Int]) throws {
        let options = Self.options(fs)
        let path = Path.join("/db", name)

        // 1. verify lists the file, and only it.
        let report = try Database.verify(at: "/db", options: options)
        let flagged = report.files.filter { $0.status != .ok }
        let listsIt = flagged.contains { $0.name == name || (kind == .current && $0.kind == "MANIFEST") }
        // A flip the data does not depend on can be harmless: CURRENT's
        // text is checked whole, tables by their whole-file checksum, logs
        // by their record checksums, so every flip must show.
        #expect(listsIt, "\(label): verify does not list it:\n\(report)")
        for file in flagged where file.name != name {
            let explained = kind == .current && file.kind == "MANIFEST"
            #expect(explained, "\(label): verify also flags \(file.name): \(file.status)")
        }

        // 2. Open and read.
        var opened: Database? = nil
        do {
            opened = try Database.open(at: "/db", options: options)
        } catch let error as StrataError {
            refused[kind, default: 0] += 1
            #expect(error.kind == .corruption, "\(label): open failed with \(error)")
            let named = error.file.map { $0.hasSuffix(name) || (kind == .current && $0.contains("MANIFEST")) } ?? false
            #expect(named, "\(label): open error does not name the file: \(error)")
            #expect(kind == .manifest || kind == .current, "\(label): a damaged \(kind) refused the open: \(error)")
        }
        if let db = opened {
            switch Self.readAll(db, built) {
            case .success(let state):
                if kind == .wal {
                    #expect(Self.isWALPrefix(state, built), "\(label): the reads are not a prefix of the writes")
                } else {
                    #expect(Self.families.allSatisfy { (state[$0] ?? [:]) == (built.final[$0] ?? [:]) },
                            "\(label): wrong data read")
                }
            case .failure(let error):
                refused[kind, default: 0] += 1
                #expect(kind == .table, "\(label): reads failed: \(error)")
                #expect(error.kind == .corruption && error.file?.hasSuffix(name) == true, "\(label): \(error)")
            }
            try? db.close()
        }

        // 3. Repair, then verify and read.
        let repairFS = fs.crashClone(keeping: .all)
        let repairOptions = Self.options(repairFS)
        let repaired = try Database.repair(at: "/db", options: repairOptions)
        let after = try Database.verify(at: "/db", options: repairOptions)
        #expect(after.isHealthy, "\(label): damaged after repair:\n\(after)\nrepair:\n\(repaired)")
        let db = try Database.open(at: "/db", options: repairOptions)
        defer { try? db.close() }
        switch Self.readAll(db, built) {
        case .success(let state):
            #expect(Self.isFromHistory(state, built), "\(label): repair made a key hold a value it never had")
            switch kind {
            case .current, .manifest:
                #expect(Self.families.allSatisfy { (state[$0] ?? [:]) == (built.final[$0] ?? [:]) },
                        "\(label): repair lost data it had whole:\n\(repaired)")
            case .wal:
                #expect(Self.isWALPrefix(state, built), "\(label): after repair the WAL writes are not a prefix")
            case .table:
                break
            }
        case .failure(let error):
            Issue.record("\(label): reads fail after repair: \(error)\n\(repaired)")
        }
        for lost in repaired.lost where lost.intactBlocks > 0 { salvaged[kind, default: 0] += 1 }
        _ = path
    }
}
