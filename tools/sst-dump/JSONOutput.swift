import Strata
import ToolSupport

/// A minimal JSON writer (strings escaped per RFC 8259).
struct JSONWriter {
    private(set) var text = ""

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let h = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// A JSON value built in memory, then rendered.
indirect enum JSON {
    case string(String)
    case number(Double)
    case integer(Int64)
    case unsigned(UInt64)
    case bool(Bool)
    case null
    case array([JSON])
    case object([(String, JSON)])

    var rendered: String {
        switch self {
        case .string(let s): return JSONWriter.quote(s)
        case .number(let d): return d.isFinite ? "\(d)" : "null"
        case .integer(let i): return String(i)
        case .unsigned(let u): return String(u)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let a): return "[" + a.map(\.rendered).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.map { JSONWriter.quote($0.0) + ":" + $0.1.rendered }.joined(separator: ",") + "}"
        }
    }
}

func hexJSON(_ bytes: some Collection<UInt8>) -> JSON { .string(HexCodec.encode(bytes, uppercase: true)) }

/// `--json`: one object per file with the command's result.
func dumpJSON(file: String, options: DumpOptions) -> Bool {
    var fields: [(String, JSON)] = [("file", .string(file)), ("command", .string(options.command))]
    let table: TableReader
    do {
        table = try TableReader.open(path: file)
    } catch {
        fields.append(("error", .string("\(error)")))
        print(JSON.object(fields).rendered)
        return false
    }
    var ok = true
    do {
        switch options.command {
        case "scan":
            var entries: [JSON] = []
            let it = table.makeIterator()
            if let start = options.from ?? options.prefix {
                InternalKey.seekKey(start).withUnsafeBytes { it.seek($0) }
            } else {
                it.seekToFirst()
            }
            while it.isValid {
                if let limit = options.readNum, entries.count >= limit { break }
                guard let p = ParsedInternalKey(it.key) else { throw shortKeyError(table, it) }
                if let to = options.to, to.withUnsafeBytes({ Bytewise.compare(p.userKey, $0) >= 0 }) { break }
                if let prefix = options.prefix, !p.userKey.starts(with: prefix) { break }
                entries.append(.object([("key", hexJSON(p.userKey)), ("sequence", .unsigned(p.sequence)),
                                        ("type", .integer(Int64(p.typeCode))), ("value", hexJSON(it.value))]))
                it.next()
            }
            if let error = it.error { throw error }
            fields.append(("entries", .array(entries)))
        case "check", "verify":
            try table.verifyAll()
            fields.append(("ok", .bool(true)))
        case "blocks":
            let blocks = try table.allBlocks()
            fields.append(("blocks", .array(blocks.map { b in
                .object([("kind", .string(b.kind)), ("offset", .unsigned(b.handle.offset)), ("storedSize", .unsigned(b.handle.size)),
                         ("size", b.uncompressedSize.map { .integer(Int64($0)) } ?? .null),
                         ("compression", .string(compressionName(b.compressionType))),
                         ("checksumStored", .unsigned(UInt64(b.storedChecksum))),
                         ("checksumComputed", .unsigned(UInt64(b.computedChecksum))), ("checksumOK", .bool(b.checksumMatches)),
                         ("entries", b.entryCount.map { .integer(Int64($0)) } ?? .null),
                         ("firstKey", b.firstKey.map { hexJSON($0) } ?? .null),
                         ("lastKey", b.lastKey.map { hexJSON($0) } ?? .null)])
            })))
            if blocks.contains(where: { !$0.checksumMatches }) { ok = false }
        case "filter":
            let f = filterStatistics(table, probes: options.probes)
            fields.append(("filter", .object([("kind", .string(f.kind)), ("bytes", .integer(Int64(f.bytes))),
                                              ("keys", .unsigned(f.keys)), ("bitsPerKey", .number(f.bitsPerKey)),
                                              ("probes", .integer(Int64(f.probes))), ("absentKeysTried", .integer(Int64(f.tried))),
                                              ("falsePositives", .integer(Int64(f.falsePositives))),
                                              ("measuredRate", .number(f.measured)), ("formulaRate", .number(f.predicted))])))
        case "summary":
            let s = try summarize(table)
            fields.append(("summary", .object([
                ("entries", .integer(Int64(s.entries))), ("userKeys", .integer(Int64(s.userKeys))),
                ("rangeDeletions", .integer(Int64(s.rangeDeletions))),
                ("types", .object(s.types.sorted { $0.key < $1.key }.map { (String($0.key), .integer(Int64($0.value))) })),
                ("minSequence", s.entries > 0 ? .unsigned(s.minSequence) : .null), ("maxSequence", .unsigned(s.maxSequence)),
                ("keyBytes", .integer(Int64(s.keyBytes))), ("valueBytes", .integer(Int64(s.valueBytes))),
            ])))
        default:
            break
        }
    } catch {
        fields.append(("error", .string("\(error)")))
        ok = false
    }
    if options.showProperties || options.command == "none" || options.command == "identify" {
        fields.append(("properties", .object(table.properties.encodedEntries().map { entry in
            let name = String(decoding: entry.key, as: UTF8.self)
            if let text = String(validating: entry.value, as: UTF8.self), text.allSatisfy({ !$0.isASCII || $0.asciiValue! >= 0x20 }) {
                return (name, .string(text))
            }
            return (name, hexJSON(entry.value))
        })))
        fields.append(("formatVersion", .integer(Int64(table.footer.formatVersion))))
        fields.append(("checksum", .string(table.checksumType.rocksDBName)))
        if table.baseContextChecksum != 0 {
            fields.append(("baseContextChecksum", .unsigned(UInt64(table.baseContextChecksum))))
        }
    }
    print(JSON.object(fields).rendered)
    return ok
}
