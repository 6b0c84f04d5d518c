/// Keeps a RocksDB `OPTIONS-NNNNNN` file consistent with the live column
/// families.
///
/// Strata writes no OPTIONS file of its own, but a database RocksDB created
/// has one, and `ldb` (with its default `--try_load_options`) opens exactly
/// the families that the newest OPTIONS file lists: a family Strata created
/// would be "Non-existing column family", a family Strata dropped would
/// fail the open. So after a family is created or dropped (and at open),
/// if an OPTIONS file exists and its `[CFOptions "NAME"]` sections differ
/// from the live families, a new OPTIONS file is written from the newest
/// one: sections of dropped families removed, an empty `[CFOptions "NAME"]`
/// (RocksDB's defaults) added for each new family; older OPTIONS files are
/// then removed, as RocksDB keeps only the newest.
enum RocksDBOptionsFile {
    /// One `[...]` section with its lines (the header included), or the
    /// preamble before the first section (`header` nil).
    struct Section {
        var header: String?
        var lines: [String]

        /// The family a `[CFOptions "X"]` or `[TableOptions/… "X"]` section belongs to.
        var familyName: String? {
            guard let header, header.hasPrefix("[CFOptions ") || header.hasPrefix("[TableOptions/") else { return nil }
            guard let first = header.firstIndex(of: "\""), let last = header.lastIndex(of: "\""), first < last else {
                return nil
            }
            return String(header[header.index(after: first)..<last])
        }

        var isFamilyOptions: Bool { header?.hasPrefix("[CFOptions ") ?? false }
    }

    /// Splits an OPTIONS file into sections.
    static func sections(_ text: String) -> [Section] {
        var result = [Section(header: nil, lines: [])]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.hasPrefix("[") && trimmed.hasSuffix("]") {
                result.append(Section(header: String(trimmed), lines: [String(line)]))
            } else {
                result[result.count - 1].lines.append(String(line))
            }
        }
        return result
    }

    /// The text of an OPTIONS file listing exactly `families` (in that order
    /// for new ones), or nil if `text` already lists exactly them.
    static func rewrite(_ text: String, families: [String]) -> String? {
        let parts = sections(text)
        let listed = parts.filter(\.isFamilyOptions).compactMap(\.familyName)
        if Set(listed) == Set(families) && listed.count == families.count { return nil }
        let live = Set(families)
        var kept = parts.filter { part in part.familyName.map { live.contains($0) } ?? true }
        // Keep the blank line that separates sections.
        if let last = kept.last, last.lines.last != "" { kept[kept.count - 1].lines.append("") }
        for name in families where !listed.contains(name) {
            kept.append(Section(header: "[CFOptions \"\(name)\"]", lines: ["[CFOptions \"\(name)\"]", "", ""]))
        }
        var out = kept.flatMap(\.lines).joined(separator: "\n")
        if !out.hasSuffix("\n") { out += "\n" }
        return out
    }
}

extension Database {
    /// Brings the newest RocksDB OPTIONS file (if any) in line with the live
    /// column families; see `RocksDBOptionsFile`. Best effort: the file is
    /// informational to Strata, so a failure here is not a database error.
    func syncOptionsFile() {
        guard let names = try? fileSystem.listDirectory(path) else { return }
        var numbers: [UInt64] = []
        for name in names {
            if case .options(let n) = DBFileName.parse(name) { numbers.append(n) }
        }
        numbers.sort()
        guard let newest = numbers.last else { return }
        let newestPath = Path.join(path, DBFileName.options(newest))
        guard let file = try? fileSystem.openRandomAccess(newestPath) else { return }
        let bytes = try? file.read(at: 0, count: Int(file.size))
        file.close()
        guard let bytes else { return }
        let familyNames = columnFamilyNames
        guard let text = RocksDBOptionsFile.rewrite(String(decoding: bytes, as: UTF8.self), families: familyNames) else {
            return
        }
        let number = versions.newFileNumber()
        let temp = Path.join(path, DBFileName.temp(number))
        do {
            let out = try fileSystem.createWritable(temp)
            try out.append(Array(text.utf8))
            try out.sync()
            try out.close()
            try fileSystem.rename(temp, to: Path.join(path, DBFileName.options(number)))
            try fileSystem.syncDirectory(path)
        } catch {
            try? fileSystem.removeFile(temp)
            return
        }
        for n in numbers { try? fileSystem.removeFile(Path.join(path, DBFileName.options(n))) }
    }
}
