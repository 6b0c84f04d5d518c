import Glibc
import Strata
import ToolSupport

/// Human names of compression type bytes.
func compressionName(_ type: UInt8) -> String {
    CompressionType(rawValue: type)?.rocksDBName ?? "type \(type)"
}

func hexHandle(_ handle: BlockHandle) -> String {
    var encoded: [UInt8] = []
    handle.encode(to: &encoded)
    return HexCodec.encode(encoded, uppercase: true)
}

/// Keys as shown in block maps: user key in hex, plus "@seq:type" for internal keys.
func describeKey(_ key: [UInt8]?, internal isInternal: Bool) -> String {
    guard let key else { return "-" }
    if isInternal, key.count >= 8 {
        return key.withUnsafeBytes { raw -> String in
            guard let p = ParsedInternalKey(raw) else { return "'\(HexCodec.encode(raw, uppercase: true))'(bad key)" }
            return "'\(HexCodec.encode(p.userKey, uppercase: true))'@\(p.sequence):\(p.typeCode)"
        }
    }
    return "'\(HexCodec.encode(key, uppercase: true))'"
}

/// The block map: one line per block.
func blockMapText(_ blocks: [TableReader.BlockInfo], table: TableReader) -> String {
    var lines = ["kind          offset        size      stored  compression    checksum       entries  first key .. last key"]
    for b in blocks {
        let checksum = b.checksumMatches ? "ok" : "BAD"
        let internalKeys = b.kind == "data" || b.kind == "range_del" || (b.kind == "index" && !table.indexKeyIsUserKey)
        let keys = b.kind == "filter" ? "" : "\(describeKey(b.firstKey, internal: internalKeys)) .. \(describeKey(b.lastKey, internal: internalKeys))"
        lines.append(
            pad(b.kind, 11) + pad(String(b.handle.offset), 9, right: true) + pad(String(b.uncompressedSize ?? -1), 12, right: true)
                + pad(String(b.handle.size + 5), 12, right: true) + "  " + pad(compressionName(b.compressionType), 15)
                + pad(checksum, 4) + pad(String(format08x(b.storedChecksum)), 9) + pad(b.entryCount.map(String.init) ?? "-", 9, right: true)
                + "  " + keys)
    }
    let data = blocks.filter { $0.kind == "data" }
    let raw = data.reduce(0) { $0 + ($1.uncompressedSize ?? 0) }
    let stored = data.reduce(UInt64(0)) { $0 + $1.handle.size }
    lines.append("\(blocks.count) blocks; \(data.count) data blocks, \(raw) bytes uncompressed, \(stored) stored"
        + (raw > 0 ? " (\(percent(Double(stored) / Double(raw))) of raw)" : "")
        + "; checksum \(table.checksumType.rocksDBName); \(blocks.filter { !$0.checksumMatches }.count) bad")
    return lines.joined(separator: "\n")
}

func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    guard s.count < width else { return s }
    let fill = String(repeating: " ", count: width - s.count)
    return right ? fill + s : s + fill
}

func format08x(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 8 - s.count) + s
}

func percent(_ x: Double) -> String { fixed(x * 100, 1) + "%" }

func fixed(_ x: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(x) * scale).rounded()
    let whole = UInt64(scaled / scale)
    var frac = String(UInt64(scaled) - whole * UInt64(scale))
    while frac.count < digits { frac = "0" + frac }
    return (x < 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + frac : "")
}

/// Filter statistics: measured false positives on random absent keys vs the formula.
struct FilterStatistics {
    var kind: String
    var bytes: Int
    var keys: UInt64
    var bitsPerKey: Double
    var probes: Int
    var tried: Int
    var falsePositives: Int
    var predicted: Double

    var measured: Double { tried > 0 ? Double(falsePositives) / Double(tried) : 0 }

    var text: String {
        if kind == "none" { return "no filter block" }
        return """
            filter: \(kind), \(bytes) bytes, \(keys) keys, \(fixed(bitsPerKey, 2)) bits/key, \(probes) probes
            false positives: \(falsePositives) of \(tried) absent keys = \(fixed(measured * 100, 3))%
            formula (1 - e^(-k*n/m))^k = \(fixed(predicted * 100, 3))%
            """
    }
}

func filterStatistics(_ table: TableReader, probes tried: Int) -> FilterStatistics {
    guard let filter = table.filter, let handle = table.filterHandle else {
        return FilterStatistics(kind: "none", bytes: 0, keys: 0, bitsPerKey: 0, probes: 0, tried: 0, falsePositives: 0, predicted: 0)
    }
    let keys = table.properties.numFilterEntries > 0 ? table.properties.numFilterEntries : table.properties.numEntries
    let bits = Double(filter.bitCount)
    let bitsPerKey = keys > 0 ? bits / Double(keys) : 0
    // Absent keys: random 16-byte strings with a marker no real key in the table starts with is not knowable,
    // so check each candidate against the table itself and count only true absences.
    var rng = Xoshiro256(seed: 0x5EED)
    var positives = 0
    var absent = 0
    for _ in 0..<tried {
        let key = rng.bytes(count: 16)
        let present = (try? key.withUnsafeBytes { k in
            var found = false
            try table.get(userKey: k) { _, _ in
                found = true
                return false
            }
            return found
        }) ?? false
        if present { continue }
        absent += 1
        if key.withUnsafeBytes({ filter.mayMatch($0) }) { positives += 1 }
    }
    let predicted = bloomFalsePositiveRate(bitsPerKey: bitsPerKey, numProbes: filter.numProbes)
    return FilterStatistics(kind: "\(filter.kind)", bytes: Int(handle.size), keys: keys, bitsPerKey: bitsPerKey,
                            probes: filter.numProbes, tried: absent, falsePositives: positives, predicted: predicted)
}

/// The error for an entry whose internal key has no 8-byte trailer (the
/// table iterator refuses such keys first; this keeps the tools total).
func shortKeyError(_ table: TableReader, _ it: TableIterator) -> StrataError {
    StrataError.corruption("internal key of \(it.key.count) bytes is shorter than its 8-byte trailer",
                           file: table.path, offset: it.currentBlockHandle?.offset)
}

/// Key, value, sequence and type summaries.
struct Summary {
    var entries = 0
    var userKeys = 0
    var types: [UInt8: Int] = [:]
    var minSequence = UInt64.max
    var maxSequence: UInt64 = 0
    var keyBytes = 0
    var minKey = Int.max
    var maxKey = 0
    var valueBytes = 0
    var minValue = Int.max
    var maxValue = 0
    var rangeDeletions = 0

    var text: String {
        let typeNames: [UInt8: String] = [0: "deletion", 1: "value", 2: "merge", 7: "single deletion", 15: "range deletion"]
        var lines = ["entries: \(entries) (\(userKeys) distinct user keys), range deletions: \(rangeDeletions)"]
        for (t, n) in types.sorted(by: { $0.key < $1.key }) { lines.append("  type \(t) (\(typeNames[t] ?? "other")): \(n)") }
        if entries > 0 {
            lines.append("sequence numbers: \(minSequence) .. \(maxSequence)")
            lines.append("user key bytes: min \(minKey), avg \(fixed(Double(keyBytes) / Double(entries), 1)), max \(maxKey), total \(keyBytes)")
            lines.append("value bytes: min \(minValue), avg \(fixed(Double(valueBytes) / Double(entries), 1)), max \(maxValue), total \(valueBytes)")
        }
        return lines.joined(separator: "\n")
    }
}

func summarize(_ table: TableReader) throws -> Summary {
    var s = Summary()
    let it = table.makeIterator()
    it.seekToFirst()
    var last: [UInt8]? = nil
    while it.isValid {
        guard let p = ParsedInternalKey(it.key) else { throw shortKeyError(table, it) }
        s.entries += 1
        s.types[p.typeCode, default: 0] += 1
        s.minSequence = min(s.minSequence, p.sequence)
        s.maxSequence = max(s.maxSequence, p.sequence)
        s.keyBytes += p.userKey.count
        s.minKey = min(s.minKey, p.userKey.count)
        s.maxKey = max(s.maxKey, p.userKey.count)
        s.valueBytes += it.value.count
        s.minValue = min(s.minValue, it.value.count)
        s.maxValue = max(s.maxValue, it.value.count)
        if last == nil || !last!.elementsEqual(p.userKey) {
            s.userKeys += 1
            last = Array(p.userKey)
        }
        it.next()
    }
    if let error = it.error { throw error }
    s.rangeDeletions = table.rangeTombstones.count
    return s
}
