import Foundation
import Strata

/// db_bench's result line:
/// `fillrandom   :       6.287 micros/op 159059 ops/sec 12.574 seconds 2000000 operations;   17.6 MB/s`
/// As in db_bench, micros/op is per thread (thread time / operations) and
/// ops/sec is over wall time, so with N threads ops/sec ≈ N × 1e6 / micros/op.
func resultLine(_ r: BenchResult) -> String {
    let seconds = Double(r.nanoseconds) / 1e9
    let microsPerOp = r.operations > 0 ? seconds * Double(r.threads) * 1e6 / Double(r.operations) : 0
    let opsPerSecond = seconds > 0 ? Int(Double(r.operations) / seconds) : 0
    var extra = ""
    if r.bytes > 0 && seconds > 0 { extra = String(format: "%6.1f MB/s", Double(r.bytes) / 1_048_576 / seconds) }
    if !r.message.isEmpty { extra += extra.isEmpty ? r.message : " " + r.message }
    let name = r.name.padding(toLength: max(12, r.name.count), withPad: " ", startingAt: 0)
    return String(format: "%@ : %11.3f micros/op %ld ops/sec %.3f seconds %ld operations;%@%@",
                  name, microsPerOp, opsPerSecond, seconds, r.operations, extra.isEmpty ? "" : " ", extra)
}

/// The amplification report printed after every benchmark: measured W-Amp,
/// S-Amp and latency beside the textbook model (benchmarks.md).
func amplificationReport(result r: BenchResult, delta: DatabaseStatistics, now: DatabaseStatistics,
                         flags: BenchFlags, liveBytes: UInt64?, diskBytes: UInt64,
                         sstBytes: UInt64, liveDataEstimate: UInt64) -> [String] {
    var lines: [String] = []
    let gb = { (x: UInt64) in String(format: "%.3f", Double(x) / 1e9) }
    if delta.userBytes > 0 {
        let user = Double(delta.userBytes)
        let compaction = delta.totalCompactionBytesWritten
        let withoutWAL = Double(delta.flushBytes + compaction) / user
        var perLevel: [String] = []
        for level in 0..<delta.compactionBytesWritten.count {
            let written = level == 0 ? delta.flushBytes + delta.compactionBytesWritten[0] : delta.compactionBytesWritten[level]
            if written > 0 { perLevel.append("L\(level) \(String(format: "%.2f", Double(written) / user))") }
        }
        let r = flags.maxBytesForLevelMultiplier
        let n = Double(liveBytes ?? now.tableBytes)
        let c0 = Double(flags.writeBufferSize)
        let universal = flags.compactionStyle == 1
        // Tiered (universal) textbook model: each byte is rewritten about once
        // per tier, log_T(N/C₀) tiers with T = the sorted-run trigger (4).
        let tiers = 4.0
        let model = n > c0 ? (universal ? 1 + log(n / c0) / log(tiers) : 1 + r * log(n / c0) / log(r)) : 1
        let modelText = universal
            ? "model universal 1 + log_T(N/C₀) = \(String(format: "%.2f", model)) (T \(Int(tiers))"
            : "model leveled 1 + r·log_r(N/C₀) = \(String(format: "%.2f", model)) (r \(String(format: "%g", r))"
        lines.append("W-Amp: \(String(format: "%.2f", delta.writeAmplification)) = (WAL \(gb(delta.walBytes)) + flush \(gb(delta.flushBytes)) + compaction \(gb(compaction)) GB) / user \(gb(delta.userBytes)) GB")
        lines.append("       without WAL \(String(format: "%.2f", withoutWAL)) (per level: \(perLevel.isEmpty ? "none" : perLevel.joined(separator: ", "))); "
            + "\(modelText), N \(gb(UInt64(n))) GB, C₀ \(gb(UInt64(c0))) GB)")
        lines.append("       writes \(delta.userWrites), commit groups \(delta.commitGroups), WAL syncs \(delta.walSyncs), flushes \(delta.flushes), "
            + "compactions \(delta.compactions.reduce(0, +)), trivial moves \(delta.trivialMoves)")
    }
    // S-Amp as RocksDB users compute it: table bytes over the estimated
    // live data (the newest file of each key range, from the last level
    // up: `strata.estimate-live-data-size`). Both sides are compressed
    // bytes; the memtable and WAL are not tables and are shown apart.
    let ratio = flags.maxBytesForLevelMultiplier
    // benchmarks.md's definition, disk bytes over the logical size of the
    // live user data, is shown too; with compression it falls below 1 and
    // hides the LSM's own amplification, hence the table/live-estimate
    // figure first.
    let logical = liveBytes.map {
        ", logical live data \(gb($0)) GB (disk / logical \(String(format: "%.2f", Double(diskBytes) / Double(max($0, 1)))))"
    } ?? ""
    if liveDataEstimate > 0 {
        lines.append("S-Amp: \(String(format: "%.2f", Double(sstBytes) / Double(liveDataEstimate))) = tables \(gb(sstBytes)) GB / live estimate \(gb(liveDataEstimate)) GB; "
            + (flags.compactionStyle == 1
                ? "model universal ≤ 1 + max_size_amplification_percent/100 = \(String(format: "%.2f", 1 + Double(flags.universalMaxSizeAmplificationPercent) / 100))"
                : "model leveled ≤ (r+1)/(r−1) = \(String(format: "%.2f", (ratio + 1) / (ratio - 1)))")
            + "; directory \(gb(diskBytes)) GB\(logical)")
    } else {
        lines.append("S-Amp: n/a (no tables); directory \(gb(diskBytes)) GB\(logical)")
    }
    if delta.gets > 0 {
        lines.append(contentsOf: readAmplificationLines(delta: delta, flags: flags))
    }
    if r.latency.totalCount > 0 {
        let us = { (p: Double) in String(format: "%.2f", Double(r.latency.valueAtPercentile(p)) / 1000) }
        lines.append("Latency (micros/op): p50 \(us(50)) p99 \(us(99)) p99.9 \(us(99.9)) max \(String(format: "%.2f", Double(r.latency.max) / 1000))")
    }
    lines.append("Stalls: \(delta.stalls), \(String(format: "%.3f", Double(delta.stallNanoseconds) / 1e9)) seconds")
    var layout: [String] = []
    for (level, files) in now.filesPerLevel.enumerated() where files > 0 {
        layout.append("L\(level) \(files) files \(String(format: "%.1f", Double(now.bytesPerLevel[level]) / 1_048_576)) MB")
    }
    lines.append("Levels: \(layout.isEmpty ? "empty" : layout.joined(separator: ", "))")
    return lines
}

/// Bytes of every file in the database directory.
func directoryBytes(_ path: String) -> UInt64 {
    let fs = PosixFileSystem.shared
    guard let names = try? fs.listDirectory(path) else { return 0 }
    var total: UInt64 = 0
    for name in names { total += (try? fs.fileSize(Path.join(path, name))) ?? 0 }
    return total
}

/// The machine, for the header (benchmarks.md: report it with every figure).
func machineDescription() -> String {
    var model = "unknown CPU"
    if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
       let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
       let colon = line.firstIndex(of: ":") {
        model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return "\(ProcessInfo.processInfo.activeProcessorCount) × \(model)"
}

/// R-Amp of point lookups, from the engine's per-level read counters (this
/// database's gets only — not the block cache's shared hit/miss counters,
/// which also count compaction and iterator reads): tables probed, data
/// blocks and bytes read per get, where they came from, per level, and the
/// filters' measured false-positive rate beside the model
/// (1 − e^(−k/b))^k for b bits per key and k probes.
func readAmplificationLines(delta: DatabaseStatistics, flags: BenchFlags) -> [String] {
    let gets = Double(delta.gets)
    let f2 = { (x: Double) in String(format: "%.2f", x) }
    let fromCache = delta.getBlocksFromCache
    let fromDisk = delta.getBlocksFromDisk
    let bytes = delta.getBytesFromDisk
    let blocks = fromCache + fromDisk
    var first = "R-Amp: \(f2(Double(delta.filesProbed) / gets)) tables probed, \(f2(Double(blocks) / gets)) data blocks per get"
        + " (\(f2(Double(fromDisk) / gets)) from disk, \(String(format: "%.0f", Double(bytes) / gets)) bytes read per get;"
        + " block cache hits \(blocks > 0 ? String(format: "%.1f", 100 * Double(fromCache) / Double(blocks)) : "-")%)"
    let filtered = delta.bloomUseful + delta.bloomPositive
    if filtered > 0 {
        first += "; bloom useful in \(String(format: "%.1f", 100 * Double(delta.bloomUseful) / Double(filtered)))% of \(filtered) probes"
    }
    var lines = [first]
    var levels: [String] = []
    for (level, l) in delta.levelReads.enumerated() where l.probes > 0 {
        levels.append("L\(level) \(f2(Double(l.probes) / gets)) probes \(f2(Double(l.blocksFromCache + l.blocksFromDisk) / gets)) blocks"
            + " \(String(format: "%.0f", Double(l.bytesFromDisk) / gets)) B")
    }
    var second = "       per get by level: \(levels.isEmpty ? "none" : levels.joined(separator: ", "))"
    if flags.bloomBits > 0 {
        let b = flags.bloomBits
        let k = Double(FastLocalBloomBuilder.numProbes(millibits: Int(b * 1000)))
        let measured = delta.bloomFalsePositiveRate.map { String(format: "%.2f", 100 * $0) + "%" } ?? "n/a"
        second += "; bloom FPR measured \(measured), model \(String(format: "%.2f", 100 * pow(1 - exp(-k / b), k)))% (b \(String(format: "%g", b)), k \(Int(k)))"
    }
    lines.append(second)
    return lines
}
