/// A parsed RocksDB `OPTIONS-NNNNNN` file (written by RocksDB or Strata):
/// its sections' `name=value` lines, values as written (still escaped:
/// RocksDB unescapes a string where it is used, a struct's fields one by
/// one — see `unescape`). Nothing is interpreted here; see
/// `Options.applyingOptionsFile` for what Strata honours.
///
/// Value type; `Sendable`.
package struct OptionsFile: Sendable {
    /// One family's sections: `[CFOptions "NAME"]` and its
    /// `[TableOptions/BlockBasedTable "NAME"]` (empty if absent).
    package struct Family: Sendable {
        package var name: String
        package var options: [String: String] = [:]
        package var tableOptions: [String: String] = [:]
    }

    /// `[Version] rocksdb_version`, e.g. "7.8.3" (nil if absent).
    package var rocksDBVersion: String?
    /// `[DBOptions]`.
    package var dbOptions: [String: String] = [:]
    /// The families in file order ("default" first in RocksDB's files).
    package var families: [Family] = []

    /// Parses `text`. Throws `.corruption` naming `file` and the line for a
    /// line that is neither a section header, a comment, blank, nor
    /// `name=value`, a `[TableOptions/…]` section whose family has no
    /// `[CFOptions]` section before it, or a file without `[DBOptions]` or
    /// `[CFOptions "default"]` (RocksDB's parser refuses them too).
    package static func parse(_ text: String, file: String) throws -> OptionsFile {
        var result = OptionsFile()
        enum Section { case version, db, family(Int), table(Int), other }
        var section = Section.other
        var sawDB = false
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine)
            if let hash = unescapedHash(line) { line = line[..<hash] }
            line = trimmed(line)
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else {
                    throw StrataError.corruption("OPTIONS line \(index + 1): section header \(line) lacks its ']'", file: file)
                }
                let header = line.dropFirst().dropLast()
                if header == "Version" {
                    section = .version
                } else if header == "DBOptions" {
                    section = .db
                    sawDB = true
                } else if header.hasPrefix("CFOptions ") {
                    let name = try quotedName(header, line: index + 1, file: file)
                    result.families.append(Family(name: name))
                    section = .family(result.families.count - 1)
                } else if header.hasPrefix("TableOptions/") {
                    let name = try quotedName(header, line: index + 1, file: file)
                    guard let i = result.families.lastIndex(where: { $0.name == name }) else {
                        throw StrataError.corruption(
                            "OPTIONS line \(index + 1): table options of column family \(name) come before its [CFOptions] section",
                            file: file)
                    }
                    // Only the block-based table's options mean anything to Strata.
                    section = header.hasPrefix("TableOptions/BlockBasedTable ") ? .table(i) : .other
                } else {
                    section = .other
                }
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw StrataError.corruption("OPTIONS line \(index + 1): expected name=value, found \(line)", file: file)
            }
            let name = String(trimmed(line[..<eq]))
            let value = String(trimmed(line[line.index(after: eq)...]))
            switch section {
            case .version: if name == "rocksdb_version" { result.rocksDBVersion = unescape(Substring(value)) }
            case .db: result.dbOptions[name] = value
            case .family(let i): result.families[i].options[name] = value
            case .table(let i): result.families[i].tableOptions[name] = value
            case .other: break
            }
        }
        guard sawDB else { throw StrataError.corruption("OPTIONS file has no [DBOptions] section", file: file) }
        guard result.families.contains(where: { $0.name == "default" }) else {
            throw StrataError.corruption("OPTIONS file has no [CFOptions \"default\"] section", file: file)
        }
        return result
    }

    /// The `name=value` pairs of a struct value such as
    /// `{id=StringAppendOperator;delimiter=,;}` (nested braces kept whole),
    /// or nil if `value` is not in braces.
    package static func structFields(_ value: String) -> [String: String]? {
        guard value.hasPrefix("{"), value.hasSuffix("}") else { return nil }
        var fields: [String: String] = [:]
        var depth = 0
        var current = ""
        func finish() {
            if let eq = current.firstIndex(of: "=") {
                fields[String(current[..<eq])] = String(current[current.index(after: eq)...])
            }
            current = ""
        }
        for c in value.dropFirst().dropLast() {
            if c == "{" { depth += 1 }
            if c == "}" { depth -= 1 }
            if c == ";" && depth == 0 { finish() } else { current.append(c) }
        }
        if !current.isEmpty { finish() }
        return fields
    }

    private static func trimmed(_ s: Substring) -> Substring {
        var s = s
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return s
    }

    /// The position of the first `#` not escaped with a backslash (a comment).
    private static func unescapedHash(_ s: Substring) -> Substring.Index? {
        var escaped = false
        for i in s.indices {
            if escaped { escaped = false; continue }
            if s[i] == "\\" { escaped = true } else if s[i] == "#" { return i }
        }
        return nil
    }

    private static func quotedName(_ header: Substring, line: Int, file: String) throws -> String {
        guard let first = header.firstIndex(of: "\""), let last = header.lastIndex(of: "\""), first < last else {
            throw StrataError.corruption("OPTIONS line \(line): section [\(header)] lacks a quoted column family name",
                                         file: file)
        }
        return String(header[header.index(after: first)..<last])
    }

    /// RocksDB's `UnescapeOptionString`: a backslash escapes the next
    /// character (`\r` and `\n` stand for CR and LF).
    static func unescape(_ s: Substring) -> String {
        var out = ""
        var escaped = false
        for c in s {
            if escaped {
                out.append(c == "r" ? "\r" : c == "n" ? "\n" : c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return out
    }
}
