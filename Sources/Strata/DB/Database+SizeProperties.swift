/// Size and count estimates over the live tables and memtables, under
/// RocksDB's property names (`rocksdb.` and `strata.` prefixes both work).
extension Database {
    /// The value of a size property, or nil if `name` is not one:
    ///
    /// * `strata.total-sst-files-size`: bytes of every table the current
    ///   version references.
    /// * `strata.estimate-num-keys`: memtable entries plus table entries,
    ///   minus twice the table deletions (each deletion hides one older
    ///   entry and is not a key itself), floored at 0 — RocksDB's estimate,
    ///   which overcounts overwritten keys until compaction removes them.
    /// * `strata.estimate-live-data-size`: table bytes counted from the last
    ///   level up, skipping a file whose key range overlaps one already
    ///   counted (newer data over older data of the same keys), as RocksDB's
    ///   `EstimateLiveDataSize`.
    /// * `strata.num-entries-active-mem-table`, `strata.num-entries-imm-mem-tables`.
    /// * the memory properties (`memoryProperty`): `strata.cur-size-active-mem-table`,
    ///   `strata.cur-size-all-mem-tables`, `strata.size-all-mem-tables`,
    ///   `strata.estimate-table-readers-mem`, `strata.block-cache-capacity`,
    ///   `strata.block-cache-usage`, `strata.block-cache-pinned-usage`,
    ///   `strata.memory-usage`.
    ///
    /// Opening tables for their properties goes through the table cache
    /// (the first call may read every table's footer). Thread-safe.
    func sizeProperty(_ name: String, family: ColumnFamilyData) -> String? {
        let suffix: Substring
        if name.hasPrefix("strata.") { suffix = name.dropFirst("strata.".count) }
        else if name.hasPrefix("rocksdb.") { suffix = name.dropFirst("rocksdb.".count) }
        else { return nil }
        guard let sv = try? superVersion(family) else { return nil }
        switch suffix {
        case "total-sst-files-size":
            return String(sv.version.allFiles.reduce(0) { $0 + $1.meta.fileSize })
        case "estimate-num-keys":
            var total = Int64(sv.mem.entryCount) + sv.imm.reduce(0) { $0 + Int64($1.entryCount) }
            for file in sv.version.allFiles {
                guard let table = try? tableCache.table(file.meta.number, largestSequence: file.meta.largestSequence) else { continue }
                total += Int64(table.properties.numEntries) - 2 * Int64(table.properties.numDeletions)
            }
            return String(max(0, total))
        case "estimate-live-data-size":
            return String(estimateLiveDataSize(sv.version))
        case "num-entries-active-mem-table":
            return String(sv.mem.entryCount)
        case "num-entries-imm-mem-tables":
            return String(sv.imm.reduce(0) { $0 + $1.entryCount })
        default:
            return memoryProperty(suffix, sv: sv)
        }
    }

    /// Bytes of the files that hold the newest data of disjoint key ranges,
    /// from the last level up (see `sizeProperty`).
    func estimateLiveDataSize(_ version: Version) -> UInt64 {
        var counted: [(smallest: [UInt8], largest: [UInt8])] = []
        var total: UInt64 = 0
        for level in stride(from: version.levels.count - 1, through: 0, by: -1) {
            for file in version.levels[level] {
                let lo = file.meta.smallestUserKey
                let hi = file.meta.largestUserKey
                let overlaps = counted.contains {
                    Bytewise.compare($0.smallest, hi) <= 0 && Bytewise.compare(lo, $0.largest) <= 0
                }
                if !overlaps {
                    counted.append((lo, hi))
                    total += file.meta.fileSize
                }
            }
        }
        return total
    }
}
