/// Memory accounting: usage by category, the memory properties, and the
/// memory budget's early memtable switch.
extension Database {
    /// This database's memory by category: its memtables and the index and
    /// filter blocks of its open tables, and the figures of its block cache
    /// (shared with the other databases of a `MemoryBudget`, whose `usage`
    /// sums every database). Thread-safe; cheap (atomics and one lock per
    /// cache shard).
    public func memoryUsage() -> MemoryUsage {
        MemoryUsage(memtables: memory.memtables.current, activeMemtables: memory.activeMemtables.current,
                    tableReaders: memory.tableReaders.current, cache: blockCache)
    }

    /// The memory budget this database uses (`Options.sharedMemoryBudget`,
    /// or the private one `Options.memoryBudget` made), or nil.
    public var memoryBudget: MemoryBudget? { memory.budget }

    /// The value of a memory property (`strata.` or `rocksdb.` prefix
    /// stripped into `suffix`), or nil if it is not one:
    ///
    /// * `cur-size-active-mem-table`: bytes of the family's active memtable (arena blocks).
    /// * `cur-size-all-mem-tables`: the family's active and unflushed memtables.
    /// * `size-all-mem-tables`: every memtable of the database still in
    ///   memory, flushed ones readers hold included (database-wide).
    /// * `estimate-table-readers-mem`: index and filter blocks of the
    ///   database's open tables (database-wide).
    /// * `block-cache-capacity`, `block-cache-usage` (entries plus
    ///   reservations), `block-cache-pinned-usage`: the cache's figures
    ///   (0 without a cache).
    /// * `memory-usage` (Strata only): one line per category, as
    ///   `memoryUsage()` and, under a budget, the budget's totals.
    func memoryProperty(_ suffix: Substring, sv: SuperVersion) -> String? {
        switch suffix {
        case "cur-size-active-mem-table":
            return String(sv.mem.arenaMemoryUsage)
        case "cur-size-all-mem-tables":
            return String(sv.mem.arenaMemoryUsage + sv.imm.reduce(0) { $0 + $1.arenaMemoryUsage })
        case "size-all-mem-tables":
            return String(memory.memtables.current)
        case "estimate-table-readers-mem":
            return String(memory.tableReaders.current)
        case "block-cache-capacity":
            return String(blockCache?.capacity ?? 0)
        case "block-cache-usage":
            return String(blockCache?.usage ?? 0)
        case "block-cache-pinned-usage":
            return String(blockCache?.pinnedUsage ?? 0)
        case "memory-usage":
            var lines = Database.memoryLines(memoryUsage(), title: "database")
            if let budget = memory.budget {
                lines += Database.memoryLines(budget.usage, title: "budget (every database sharing it)")
                lines.append("budget capacity: \(budget.capacity), memtable limit: \(budget.writeBufferLimit)")
            }
            return lines.joined(separator: "\n") + "\n"
        default:
            return nil
        }
    }

    private static func memoryLines(_ u: MemoryUsage, title: String) -> [String] {
        [
            "\(title):",
            "  memtables: \(u.memtables) (active \(u.activeMemtables))",
            "  table readers (index and filter blocks): \(u.tableReaders)",
            "  block cache entries: \(u.blockCacheEntries) (pinned by iterators \(u.blockCachePinned))",
            "  block cache usage: \(u.blockCacheUsage) of capacity \(u.blockCacheCapacity)",
            "  total: \(u.total)",
        ]
    }

    /// Under a memory budget that asks for a flush (`MemoryBudget.shouldFlush`),
    /// the family of this database with the largest active memtable, if that
    /// memtable holds at least 1/8 of its write buffer (so a database whose
    /// own memtables are nearly empty does not switch a new tiny one on every
    /// write group while others hold the memory). Caller holds the monitor.
    func memoryBudgetFlushCandidate() -> ColumnFamilyData? {
        guard let budget = memory.budget, budget.shouldFlush else { return nil }
        var best: ColumnFamilyData? = nil
        var bestBytes = 0
        for family in familyList where !family.dropped {
            let bytes = family.mem.arenaMemoryUsage
            if bytes > bestBytes && !family.mem.isEmpty {
                best = family
                bestBytes = bytes
            }
        }
        guard let best, bestBytes >= best.writeBufferSize / 8 else { return nil }
        return best
    }
}
