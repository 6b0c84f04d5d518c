import Glibc
import Strata
import ToolSupport

/// Writes sst_dump's raw dump: footer, metaindex, properties, index, range
/// deletions, then every data block's entries in hex and ASCII.
func writeRawDump(_ table: TableReader, to path: String) throws {
    var out = ""
    func line(_ s: String = "") { out += s + "\n" }
    func ascii(_ bytes: some Collection<UInt8>) -> String {
        bytes.map { b in (0x20..<0x7F).contains(b) ? String(UnicodeScalar(b)) : "." }.joined(separator: " ")
    }
    line("Footer Details:")
    line("--------------------------------------")
    line("  metaindex handle: \(hexHandle(table.footer.metaindexHandle))")
    // From format_version 6 the index handle is in the metaindex, not the footer.
    line("  index handle: \(hexHandle(table.indexHandle))")
    line("  table_magic_number: \(table.footer.formatVersion == 0 ? Footer.legacyBlockBasedMagic : Footer.blockBasedMagic)")
    line("  format version: \(table.footer.formatVersion)")
    line("  ")
    line("Metaindex Details:")
    line("--------------------------------------")
    for (name, handle) in table.metaindex {
        let label: String
        if name.hasPrefix("fullfilter.") { label = "Filter block handle" }
        else if name == "rocksdb.properties" { label = "Properties block handle" }
        else if name == "rocksdb.range_del" { label = "Range deletion block handle" }
        else { label = "\(name) block handle" }
        line("  \(label): \(hexHandle(handle))")
    }
    line()
    line("Table Properties:")
    line("--------------------------------------")
    out += propertiesText(table)
    line("  ")
    line("Index Details:")
    line("--------------------------------------")
    line("  Block key hex dump: Data block handle")
    line("  Block key ascii")
    line()
    let handles = try table.dataBlockHandles()
    for (separator, handle) in handles {
        let key = table.indexKeyIsUserKey ? separator : Array(separator.dropLast(min(8, separator.count)))
        line("  HEX    \(HexCodec.encode(key, uppercase: true)): \(hexHandle(handle))")
        line("  ASCII  \(ascii(key)) ")
        line("  ------")
    }
    if !table.rangeTombstones.isEmpty {
        line()
        line("Range deletions:")
        line("--------------------------------------")
        for t in table.rangeTombstones {
            let begin = t.begin.dropLast(min(8, t.begin.count))
            line("  HEX    \(HexCodec.encode(begin, uppercase: true)): \(HexCodec.encode(t.end, uppercase: true))")
            line("  ASCII  \(ascii(begin)) : \(ascii(t.end)) ")
            line("  ------")
        }
    }
    let it = table.makeIterator()
    for (i, (_, handle)) in handles.enumerated() {
        line()
        line("Data Block # \(i + 1) @ \(hexHandle(handle))")
        line("--------------------------------------")
        // Walk this block's entries through the table iterator.
        if i == 0 { it.seekToFirst() }
        while it.isValid, it.currentBlockHandle == handle {
            guard let p = ParsedInternalKey(it.key) else { throw shortKeyError(table, it) }
            line("  HEX    \(HexCodec.encode(p.userKey, uppercase: true)): \(HexCodec.encode(it.value, uppercase: true))")
            line("  ASCII  \(ascii(p.userKey)) : \(ascii(it.value)) ")
            line("  ------")
            it.next()
        }
        if let error = it.error { throw error }
    }
    let file = try PosixFileSystem.shared.createWritable(path)
    try file.append(Array(out.utf8))
    try file.close()
}
