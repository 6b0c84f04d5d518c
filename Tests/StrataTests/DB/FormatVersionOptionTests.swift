import Testing
@testable import Strata

/// `Options.formatVersion` / `ColumnFamilyOptions.formatVersion`: 2...6 are
/// written (6 with context checksums), 7 and anything else are refused when
/// the database opens or the family is created, not at the first flush.
@Suite("Database table format_version option")
struct FormatVersionOptionTests {
    @Test("a database written at format_version 6 flushes, compacts and reopens with fv6 tables")
    func formatVersion6Database() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.formatVersion = 6
        options.writeBufferSize = 16 << 10
        print("seed 66")
        var rng = TestRandom(seed: 66)
        var model: [[UInt8]: [UInt8]] = [:]
        let db = try Database.open(at: dir.path, options: options)
        for i in 0..<2000 {
            let key = Array("k\(rng.int(0..<700))".utf8)
            let value = rng.bytes(rng.int(0..<60))
            try db.put(key, value)
            model[key] = value
            if i == 1000 { try db.flush() }
        }
        try db.compactRange()
        try db.close()
        let again = try Database.open(at: dir.path, options: Options())  // reads fv6 whatever it writes
        let it = try again.makeIterator()
        var seen: [[UInt8]: [UInt8]] = [:]
        it.seekToFirst()
        while it.isValid {
            seen[it.key] = it.value
            it.next()
        }
        try it.status()
        #expect(seen == model)
        try again.close()
        var versions = Set<UInt32>()
        for name in try PosixFileSystem.shared.listDirectory(dir.path) where name.hasSuffix(".sst") {
            versions.insert(try TableReader.open(path: dir.file(name)).footer.formatVersion)
        }
        #expect(versions == [6])
    }

    @Test("format_version 7 is refused at open (.notSupported), 1 and 8 as invalid arguments, also per family")
    func refusedVersions() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        for (version, kind) in [(UInt32(7), StrataError.Kind.notSupported), (1, .invalidArgument), (8, .invalidArgument)] {
            var options = Options()
            options.formatVersion = version
            #expect(throws: StrataError.self) { _ = try Database.open(at: dir.file("db\(version)"), options: options) }
            do {
                _ = try Database.open(at: dir.file("db\(version)"), options: options)
            } catch let error as StrataError {
                #expect(error.kind == kind)
                #expect(error.message.contains("format_version"))
            }
        }
        let db = try Database.open(at: dir.file("cf"), options: Options())
        var family = ColumnFamilyOptions(Options())
        family.formatVersion = 7
        do {
            _ = try db.createColumnFamily(named: "seven", options: family)
            Issue.record("a format_version 7 family was created")
        } catch let error as StrataError {
            #expect(error.kind == .notSupported)
            #expect(error.message.contains("seven"))
        }
        try db.close()
    }
}
