/// Introspection: `property(_:)` names, as RocksDB's `GetProperty`.
extension Database {
    /// The value of a named property, or nil for an unknown name:
    ///
    /// * `strata.stats` (alias `rocksdb.stats`): per-level table (files,
    ///   size, score, bytes read and written by compaction, W-Amp,
    ///   compaction seconds and count), the cumulative write/WAL/compaction
    ///   lines in RocksDB's format, and the point-lookup table per level
    ///   (probes, filter verdicts, blocks read; docs/metrics.md).
    /// * `strata.num-files-at-levelN` (alias `rocksdb.num-files-at-levelN`).
    /// * `strata.levelstats`: files and bytes per level.
    /// * `strata.background-error`: the error that stopped writes, or "".
    /// * `strata.write-amplification`: (WAL + flush + compaction bytes) / user bytes.
    /// * `strata.is-write-stopped` ("1"/"0"), `strata.actual-delayed-write-rate`
    ///   (bytes/s, 0 when writes are not delayed), `strata.write-stall-cause`
    ///   ("" or "delayed: …"/"stopped: …"), `strata.estimate-pending-compaction-bytes`
    ///   (see `WriteController`; RocksDB names with `rocksdb.` too).
    /// * `strata.total-sst-files-size`, `strata.estimate-num-keys`,
    ///   `strata.estimate-live-data-size`, `strata.num-entries-active-mem-table`,
    ///   `strata.num-entries-imm-mem-tables` (see `sizeProperty`).
    ///
    /// Level, size and memtable figures are the default column family's
    /// (`ColumnFamily.property` gives another family's); byte counters are
    /// database-wide.
    public func property(_ name: String) -> String? {
        property(name, family: defaultFamily)
    }

    /// `property` with the levels of `family`; nil for a dropped family.
    func property(_ name: String, family: ColumnFamilyData) -> String? {
        if monitor.withLock({ family.dropped }) { return nil }
        guard let version = versions.current(columnFamily: family.id) else { return nil }
        for prefix in ["strata.num-files-at-level", "rocksdb.num-files-at-level"] where name.hasPrefix(prefix) {
            guard let level = Int(name.dropFirst(prefix.count)), level >= 0, level < version.levels.count else { return nil }
            return String(version.levels[level].count)
        }
        switch name {
        case "strata.stats", "rocksdb.stats": return statsText(version, family: family)
        case "strata.levelstats", "rocksdb.levelstats":
            var lines = ["Level Files Size(MB)", "--------------------"]
            for (level, files) in version.levels.enumerated() {
                lines.append(String(format3: level, files.count, Double(version.levelBytes(level)) / 1048576))
            }
            return lines.joined(separator: "\n") + "\n"
        case "strata.background-error":
            return monitor.withLock { backgroundError.map { "\($0)" } ?? "" }
        case "strata.write-amplification":
            return formatFixed(writeAmplification, 3)
        case "strata.is-write-stopped", "rocksdb.is-write-stopped":
            return monitor.withLock { if case .stopped = writeCondition().0 { return "1" } else { return "0" } }
        case "strata.actual-delayed-write-rate", "rocksdb.actual-delayed-write-rate":
            return monitor.withLock {
                if case .delayed = writeCondition().0 { return String(writeController.rate) } else { return "0" }
            }
        case "strata.write-stall-cause":
            return monitor.withLock {
                switch writeCondition().0 {
                case .normal: return ""
                case .delayed(let cause): return "delayed: " + cause
                case .stopped(let cause): return "stopped: " + cause
                }
            }
        case "strata.estimate-pending-compaction-bytes", "rocksdb.estimate-pending-compaction-bytes":
            return monitor.withLock { String(family.pendingCompactionBytes) }
        default: return sizeProperty(name, family: family)
        }
    }

    /// (WAL + flush + compaction bytes written) / user bytes written; 0 before any write.
    var writeAmplification: Double {
        let user = stats.userBytes.load(ordering: .relaxed)
        guard user > 0 else { return 0 }
        var written = stats.walBytes.load(ordering: .relaxed) + stats.flushBytes.load(ordering: .relaxed)
        for level in 0..<Version.levelCount { written += stats.levels[level].bytesWritten.load(ordering: .relaxed) }
        return Double(written) / Double(user)
    }

    private func statsText(_ version: Version, family: ColumnFamilyData) -> String {
        let scores = CompactionPicker(options: family.options).scores(version: version)
        let user = Double(stats.userBytes.load(ordering: .relaxed))
        var lines: [String] = []
        lines.append("** Compaction Stats [\(family.name)] **")
        lines.append("Level    Files    Size(MB)  Score  Read(GB)  Write(GB)  W-Amp  Comp(sec)  Comp(cnt)")
        lines.append(String(repeating: "-", count: 83))
        var totalFiles = 0
        var totalBytes: UInt64 = 0
        var totalRead: UInt64 = 0
        var totalWritten: UInt64 = 0
        var totalSeconds = 0.0
        var totalCount: UInt64 = 0
        for level in 0..<version.levels.count {
            let files = version.levels[level].count
            let bytes = version.levelBytes(level)
            var written = stats.levels[level].bytesWritten.load(ordering: .relaxed)
            let read = stats.levels[level].bytesRead.load(ordering: .relaxed)
            var count = stats.levels[level].count.load(ordering: .relaxed)
            if level == 0 {
                written += stats.flushBytes.load(ordering: .relaxed)
                count += stats.flushes.load(ordering: .relaxed)
            }
            totalFiles += files
            totalBytes += bytes
            totalRead += read
            totalWritten += written
            let seconds = Double(stats.levels[level].nanoseconds.load(ordering: .relaxed)) / 1e9
            totalSeconds += seconds
            totalCount += count
            // Per-level W-Amp as RocksDB prints it: bytes written to the level
            // over bytes read from the level above (for L0: over user bytes).
            let wamp = level == 0 ? (user > 0 ? Double(written) / user : 0) : (read > 0 ? Double(written) / Double(read) : 0)
            lines.append(pad("L\(level)", 5) + pad(String(files), 9, left: true) + pad(formatFixed(Double(bytes) / 1048576, 2), 12, left: true)
                + pad(formatFixed(level < scores.count ? scores[level] : 0, 2), 7, left: true)
                + pad(formatFixed(Double(read) / 1e9, 3), 10, left: true) + pad(formatFixed(Double(written) / 1e9, 3), 11, left: true)
                + pad(formatFixed(wamp, 2), 7, left: true) + pad(formatFixed(seconds, 1), 11, left: true)
                + pad(String(count), 11, left: true))
        }
        lines.append(pad("Sum", 5) + pad(String(totalFiles), 9, left: true) + pad(formatFixed(Double(totalBytes) / 1048576, 2), 12, left: true)
            + pad("", 7) + pad(formatFixed(Double(totalRead) / 1e9, 3), 10, left: true)
            + pad(formatFixed(Double(totalWritten) / 1e9, 3), 11, left: true)
            + pad(formatFixed(user > 0 ? Double(totalWritten) / user : 0, 2), 7, left: true)
            + pad(formatFixed(totalSeconds, 1), 11, left: true) + pad(String(totalCount), 11, left: true))
        let keys = stats.userWrites.load(ordering: .relaxed)
        let writes = stats.writeCalls.load(ordering: .relaxed)
        let groups = stats.commitGroups.load(ordering: .relaxed)
        let syncs = stats.walSyncs.load(ordering: .relaxed)
        let seconds = Double(stats.compactionNanoseconds.load(ordering: .relaxed)) / 1e9
        // The cumulative lines follow RocksDB's definitions, so tools that
        // compute W-Amp from them (peer-bench.sh) compare like with like:
        // ingest and WAL bytes are write-batch bytes (WAL without log record
        // headers), and "GB" is 2^30 bytes, as RocksDB prints them.
        let gib = { (bytes: UInt64) in formatFixed(Double(bytes) / 1_073_741_824, 2) }
        let ingest = stats.batchBytes.load(ordering: .relaxed)
        let wal = stats.walBatchBytes.load(ordering: .relaxed)
        lines.append("")
        lines.append("Cumulative writes: \(kilo(writes)) writes, \(kilo(keys)) keys, \(kilo(groups)) commit groups, "
            + "\(formatFixed(groups > 0 ? Double(writes) / Double(groups) : 0, 1)) writes per commit group, ingest: \(gib(ingest)) GB")
        lines.append("Cumulative WAL: \(kilo(groups)) writes, \(syncs) syncs, "
            + "\(formatFixed(syncs > 0 ? Double(groups) / Double(syncs) : Double(groups), 2)) writes per sync, written: \(gib(wal)) GB")
        lines.append("Cumulative compaction: \(gib(totalWritten)) GB write, \(gib(totalRead)) GB read, "
            + "\(formatFixed(seconds, 1)) seconds")
        lines.append("Cumulative stall: \(formatFixed(Double(stats.stallNanoseconds.load(ordering: .relaxed)) / 1e9, 3)) seconds, "
            + "\(stats.stalls.load(ordering: .relaxed)) stalls")
        lines.append("W-Amp (WAL + flush + compaction) / user key and value bytes: \(formatFixed(writeAmplification, 2))")
        lines += readStatsLines()
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Database {
    /// The point-lookup part of `strata.stats`: per level, tables probed,
    /// the filter's verdicts and measured false-positive rate, data blocks
    /// from the cache and from disk; then files probed per lookup.
    func readStatsLines() -> [String] {
        let s = statistics()
        var lines = ["", "** Point lookups (database-wide) **",
                     "Level    Probes    Useful   TruePos  FPR(%)  CacheBlk   DiskBlk   Disk(MB)",
                     String(repeating: "-", count: 74)]
        for (level, r) in s.levelReads.enumerated() where r.probes > 0 {
            let absent = r.probes.subtractingSaturated(r.bloomTruePositives)
            let fpr = absent > 0 ? formatFixed(100 * Double(r.bloomFalsePositives) / Double(absent), 2) : "-"
            lines.append(pad("L\(level)", 5) + pad(String(r.probes), 10, left: true) + pad(String(r.bloomUseful), 10, left: true)
                + pad(String(r.bloomTruePositives), 10, left: true) + pad(fpr, 8, left: true)
                + pad(String(r.blocksFromCache), 10, left: true) + pad(String(r.blocksFromDisk), 10, left: true)
                + pad(formatFixed(Double(r.bytesFromDisk) / 1048576, 2), 11, left: true))
        }
        let gets = s.gets
        let perGet = gets > 0 ? formatFixed(Double(s.filesProbed) / Double(gets), 2) : "0"
        let histogram = s.getsByFilesProbed.enumerated().map { i, n in
            (i == s.getsByFilesProbed.count - 1 ? "\(i)+" : "\(i)") + ":" + String(n)
        }.joined(separator: " ")
        lines.append("Gets: \(gets), files probed per get \(perGet) (files:gets \(histogram))")
        let blocks = s.getBlocksFromCache + s.getBlocksFromDisk
        lines.append("Data blocks per get: \(gets > 0 ? formatFixed(Double(blocks) / Double(gets), 2) : "0") "
            + "(\(s.getBlocksFromDisk) from disk); iterators: \(s.iteratorBlocksFromCache) from cache, "
            + "\(s.iteratorBlocksFromDisk) from disk")
        return lines
    }
}

/// "4000K" style counts, as RocksDB prints them.
func kilo(_ n: UInt64) -> String { n >= 10_000 ? "\(n / 1000)K" : "\(n)" }

/// Fixed-point formatting without Foundation.
func formatFixed(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return "\(x)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let negative = x < 0
    let scaled = (abs(x) * scale).rounded()
    let whole = UInt64(scaled / scale)
    var fraction = String(UInt64(scaled) - whole * UInt64(scale))
    while fraction.count < digits { fraction = "0" + fraction }
    return (negative ? "-" : "") + String(whole) + (digits > 0 ? "." + fraction : "")
}

func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
    guard s.count < width else { return s }
    let fill = String(repeating: " ", count: width - s.count)
    return left ? fill + s : s + fill
}

extension String {
    init(format3 level: Int, _ files: Int, _ megabytes: Double) {
        self = pad(String(level), 5) + " " + pad(String(files), 5, left: true) + " " + pad(formatFixed(megabytes, 2), 8, left: true)
    }
}
