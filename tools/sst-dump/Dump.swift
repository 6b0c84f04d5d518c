import Glibc
import Strata
import ToolSupport

/// What to do with each file.
struct DumpOptions {
    var command: String
    var showProperties: Bool
    var outputHex: Bool
    var json: Bool
    var from: [UInt8]?
    var to: [UInt8]?
    var prefix: [UInt8]?
    var readNum: Int?
    var probes: Int
}

/// `bytes` as sst_dump prints them: raw bytes, or uppercase hex.
func render(_ bytes: some Collection<UInt8>, hex: Bool) -> [UInt8] {
    hex ? Array(HexCodec.encode(bytes, uppercase: true).utf8) : Array(bytes)
}

/// Runs the command on one file. Returns false if the file is missing,
/// not an SST, or damaged.
func dump(file: String, options: DumpOptions) -> Bool {
    if options.json { return dumpJSON(file: file, options: options) }
    print("Process \(file)")
    let table: TableReader
    do {
        table = try TableReader.open(path: file)
    } catch {
        print("\(file): \(error)")
        print("\(file) is not a valid SST file")
        return false
    }
    print("Sst file format: block-based")
    var ok = true
    do {
        switch options.command {
        case "scan", "check":
            let fromText = options.from.map { render($0, hex: options.outputHex) } ?? []
            let toText = options.to.map { render($0, hex: options.outputHex) } ?? []
            RawBytes.printLine(Array("from [".utf8) + fromText + Array("] to [".utf8) + toText + Array("]".utf8))
            try scan(table, options: options, print: options.command == "scan")
        case "verify":
            try table.verifyAll()
            print("The file is ok")
        case "raw":
            let out = rawDumpPath(file)
            try writeRawDump(table, to: out)
            print("raw dump written to file \(out)")
        case "identify":
            print("\(file) is a valid SST file")
        case "blocks":
            let blocks = try table.allBlocks()
            print(blockMapText(blocks, table: table))
            let bad = blocks.filter { !$0.checksumMatches }
            if !bad.isEmpty {
                print("\(file) is corrupted: \(bad.count) block(s) with a bad checksum, the first at offset \(bad[0].handle.offset)")
                ok = false
            }
        case "filter":
            print(filterStatistics(table, probes: options.probes).text)
        case "summary":
            print(try summarize(table).text)
        default:
            break
        }
    } catch {
        RawBytes.flush()
        print("\(file) is corrupted: \(error)")
        ok = false
    }
    RawBytes.flush()
    // As RocksDB's sst_dump: `verify` never shows properties.
    if options.showProperties && options.command != "verify" {
        print(propertiesText(table), terminator: "")
    }
    return ok
}

/// Prints (or just reads) entries in [from, to) / with the prefix, up to read_num.
func scan(_ table: TableReader, options: DumpOptions, print doPrint: Bool) throws {
    let it = table.makeIterator()
    if let start = options.from ?? options.prefix {
        let seekKey = InternalKey.seekKey(start)
        seekKey.withUnsafeBytes { it.seek($0) }
    } else {
        it.seekToFirst()
    }
    var count = 0
    while it.isValid {
        if let limit = options.readNum, count >= limit { break }
        guard let parsed = ParsedInternalKey(it.key) else { throw shortKeyError(table, it) }
        if let to = options.to, to.withUnsafeBytes({ Bytewise.compare(parsed.userKey, $0) >= 0 }) { break }
        if let prefix = options.prefix, !parsed.userKey.starts(with: prefix) { break }
        if doPrint {
            RawBytes.printLine(Array("'".utf8) + render(parsed.userKey, hex: options.outputHex)
                + Array("' seq:\(parsed.sequence), type:\(parsed.typeCode) => ".utf8) + render(it.value, hex: options.outputHex))
        }
        count += 1
        it.next()
    }
    if let error = it.error { throw error }
}

/// `dir/name.sst` → `dir/name_dump.txt`, as sst_dump names it.
func rawDumpPath(_ file: String) -> String {
    var base = file
    if base.hasSuffix(".sst") { base.removeLast(4) }
    return base + "_dump.txt"
}

/// The properties section as the RocksDB release that reads the table
/// prints it: 7.8.3's sst_dump up to format_version 5, 11's for 6 and 7
/// (which 7.8.3 cannot read).
func propertiesText(_ table: TableReader) -> String {
    table.footer.formatVersion >= Footer.firstContextChecksumVersion
        ? table.properties.rocksDB11StyleDescription() : table.properties.rocksDBStyleDescription()
}
