/// Running compactions (background and manual) and manual flushes.
extension Database {
    /// Runs `plan`: merges the inputs through a `CompactionIterator`, writes
    /// outputs of `targetFileSizeBase` to the output level, and installs one
    /// VersionEdit that swaps inputs for outputs. A trivial move only edits
    /// the MANIFEST. Runs without the monitor.
    func runCompaction(_ plan: CompactionPlan, family: ColumnFamilyData, snapshots: [UInt64], forceRewrite: Bool = false)
        throws
    {
        let start = MonotonicClock.now()
        defer {
            let elapsed = MonotonicClock.now() - start
            stats.compactionNanoseconds.add(elapsed, ordering: .relaxed)
            stats.levels[plan.outputLevel].nanoseconds.add(elapsed, ordering: .relaxed)
        }
        var edit = VersionEdit()
        edit.columnFamily = family.id
        for (level, f) in plan.inputsByLevel { edit.deletedFiles.append((level, f.number)) }
        if plan.isTrivialMove && !forceRewrite {
            for file in plan.inputs { edit.newFiles.append((plan.outputLevel, file.meta)) }
            try versions.logAndApply([edit])
            stats.trivialMoves.add(1, ordering: .relaxed)
            return
        }
        var children: [any InternalIterator] = []
        var readBytes: UInt64 = 0
        var tombstones: [(begin: [UInt8], end: [UInt8])] = []
        var tables: [(file: TableFile, table: TableReader)] = []
        for f in plan.allInputs { tables.append((f, try tableCache.table(f))) }
        let covered = Self.inputsCoveredByRangeTombstones(tables.map { ($0.file.meta, $0.table.rangeTombstones) },
                                                          snapshots: snapshots)
        for (f, table) in tables {
            if covered.contains(f.number) {
                // Every entry (and range tombstone) of it is deleted by a
                // newer tombstone of another input that no snapshot sees
                // behind: nothing of it can reach the output.
                stats.coveredInputsSkipped.add(1, ordering: .relaxed)
                continue
            }
            // Compaction inputs stay out of the block cache (RocksDB reads
            // them with fill_cache = false): each is read once, and filling
            // the cache with them would evict the blocks lookups reuse.
            children.append(table.makeIterator(fillCache: false))
            tombstones += table.rangeTombstones
            readBytes += f.fileSize
        }
        let merged = MergingIterator(children: children)
        let filtered = CompactionIterator(input: merged, snapshots: snapshots, bottommost: plan.bottommost,
                                          mergeOperator: family.options.mergeOperator,
                                          compactionFilter: family.options.compactionFilter, filterLevel: plan.outputLevel,
                                          tombstones: RangeTombstoneList(internalTombstones: tombstones))
        // Range tombstones stay until the bottom, where nothing older
        // remains for them to hide — unless a snapshot older than the
        // tombstone still keeps entries it covers (those entries sit in an
        // older stripe, so the iterator kept them).
        let oldestSnapshot = snapshots.first ?? .max
        let keptTombstones = tombstones.filter { t in
            let sequence = t.begin.withUnsafeBytes { ParsedInternalKey($0)?.sequence } ?? .max
            return !plan.bottommost || sequence > oldestSnapshot
        }
        // An L0 output (universal compaction) is one sorted run: one file,
        // as RocksDB does not split universal L0 outputs either.
        let targetFileSize = plan.outputLevel == 0 ? UInt64.max : family.options.targetFileSizeBase
        let output = TableOutput(directory: path, fileSystem: fileSystem, versions: versions, options: family.tableOptions,
                                 level: plan.outputLevel, targetFileSize: targetFileSize, columnFamilyID: family.id,
                                 cutter: outputCutter(plan, family: family, targetFileSize: targetFileSize),
                                 // Deletions left in a bottommost output are
                                 // those snapshots need: marking them would
                                 // compact the same file again and again.
                                 compactOnDeletion: plan.bottommost ? nil : family.options.compactOnDeletion)
        do {
            // Given before the entries: the output cuts them at its file
            // boundaries, so the files of the level stay disjoint.
            for t in keptTombstones { try output.addRangeTombstone(begin: t.begin, end: t.end) }
            filtered.seekToFirst()
            var sinceCheck = 0
            while filtered.isValid {
                // Closing or dropping the family stops the compaction; the
                // check takes the monitor, so only every 1024 entries.
                sinceCheck += 1
                if sinceCheck == 1024 {
                    sinceCheck = 0
                    if let reason = stopReason(family) { throw reason }
                }
                do {
                    try output.add(key: filtered.key, value: filtered.value)
                } catch let error as StrataError where error.kind == .invalidArgument {
                    // The builder refuses keys out of order: the inputs were
                    // sorted when written, so one of them is damaged
                    // (RocksDB: "Compaction sees out-of-order keys").
                    throw StrataError.corruption(
                        "compaction sees out-of-order keys (\(error.message)): one of its input tables is damaged: "
                            + plan.allInputs.map { DBFileName.table($0.number) }.joined(separator: ", "),
                        file: path)
                }
                filtered.next()
            }
            if let error = filtered.error { throw error }
            let files = try output.finish()
            for f in files { edit.newFiles.append((plan.outputLevel, f)) }
            output.keepFilesFromNowOn()
            try versions.logAndApply([edit])
            let written = files.reduce(UInt64(0)) { $0 + $1.fileSize }
            stats.levels[plan.outputLevel].bytesWritten.add(written, ordering: .relaxed)
            stats.levels[plan.outputLevel].bytesRead.add(readBytes, ordering: .relaxed)
            stats.levels[plan.outputLevel].count.add(1, ordering: .relaxed)
        } catch {
            output.abandon()
            recordBackgroundError(error, reason: .manualCompaction)
            throw error
        }
    }

    /// The numbers of the inputs whose every entry is deleted by a range
    /// tombstone of another input (RocksDB 8.x skips such files in
    /// compaction): the tombstone's user-key range [begin, end) holds the
    /// file's whole range, its sequence is above the file's largest, and
    /// no snapshot lies in [file's smallest sequence, tombstone's sequence)
    /// (such a snapshot could see entries of the file that the tombstone
    /// does not hide from it). The file's own range tombstones go with it:
    /// they lie within the covering tombstone's range and are older, so it
    /// hides everything they hide. `inputs` are the files' metadata with
    /// their range tombstones (internal begin key, end user key);
    /// `snapshots` ascending.
    static func inputsCoveredByRangeTombstones(_ inputs: [(meta: FileMetaData, tombstones: [(begin: [UInt8], end: [UInt8])])],
                                               snapshots: [UInt64]) -> Set<UInt64> {
        var all: [(owner: UInt64, begin: [UInt8], sequence: UInt64, end: [UInt8])] = []
        for (meta, list) in inputs {
            for t in list {
                guard let parsed = t.begin.withUnsafeBytes({ ParsedInternalKey($0).map { (Array($0.userKey), $0.sequence) } })
                else { continue }
                all.append((meta.number, parsed.0, parsed.1, t.end))
            }
        }
        guard !all.isEmpty else { return [] }
        var covered = Set<UInt64>()
        for (meta, _) in inputs {
            let lo = meta.smallestUserKey
            let hi = meta.largestUserKey
            let hiExclusive = meta.largestIsExclusive
            for t in all where t.owner != meta.number && t.sequence > meta.largestSequence {
                guard Bytewise.compare(t.begin, lo) <= 0 else { continue }
                // A file whose largest key is an exclusive tombstone end holds
                // nothing at `hi` itself.
                let c = Bytewise.compare(hi, t.end)
                guard c < 0 || (c == 0 && hiExclusive) else { continue }
                let seen = snapshots.contains { $0 >= meta.smallestSequence && $0 < t.sequence }
                if seen { continue }
                covered.insert(meta.number)
                break
            }
        }
        return covered
    }

    /// The grandparent-aligned output cutter of a leveled compaction into a
    /// level ≥ 1 (RocksDB 7.8's default `level_compaction_dynamic_file_size`):
    /// the files of the level below the output that overlap the inputs'
    /// range. Nil for universal compactions and outputs to L0.
    func outputCutter(_ plan: CompactionPlan, family: ColumnFamilyData, targetFileSize: UInt64) -> OutputFileCutter? {
        guard family.options.compactionStyle == .leveled, plan.outputLevel >= 1,
              let range = plan.keyRange, let version = versions.current(columnFamily: family.id),
              plan.outputLevel + 1 < version.levels.count else { return nil }
        let grandparents = version.overlappingFiles(level: plan.outputLevel + 1, begin: range.smallest, end: range.largest)
        // RocksDB's default max_compaction_bytes: 25 × target_file_size_base.
        return OutputFileCutter(grandparents: grandparents, targetFileSize: targetFileSize,
                                maxCompactionBytes: 25 &* family.options.targetFileSizeBase)
    }

    /// Why a running compaction of `family` must stop (the database is
    /// closing or the family was dropped), or nil.
    func stopReason(_ family: ColumnFamilyData) -> StrataError? {
        monitor.withLock {
            if shuttingDown { return StrataError(.closed, "compaction stopped: database is closing") }
            if family.dropped { return StrataError.invalidArgument("compaction stopped: column family \(family.name) was dropped") }
            return nil
        }
    }

    /// Flushes the default family's active memtable to an L0 table and
    /// waits until every memtable of it that existed at the call is on disk.
    /// A no-op when the memtable is empty. Other column families are not
    /// flushed (see `ColumnFamily.flush`).
    public func flush() throws {
        try flush(family: defaultFamily)
    }

    /// `flush()` for one family.
    func flush(family: ColumnFamilyData) throws {
        try checkOpen()
        // Enter the write queue so no write interleaves with the switch.
        var target = 0
        try monitor.withLock {
            // At the head of the writer queue: the leader protocol owns the memtable.
            try atWriterQueueHead {
                if family.dropped { throw StrataError.invalidArgument("column family \(family.name) was dropped") }
                if !family.mem.isEmpty { try makeRoomForWrite(force: family, noSlowdown: false) }
                target = family.imm.count
            }
        }
        guard target > 0 else { return }
        try monitor.withLock {
            maybeScheduleWork()
            while !family.imm.isEmpty && backgroundError == nil && !shuttingDown && !family.dropped { monitor.wait() }
            if let backgroundError { throw backgroundError }
            if family.dropped { throw StrataError.invalidArgument("column family \(family.name) was dropped") }
        }
    }

    /// Waits until background work is idle: no memtable waiting to be
    /// flushed, no flush or compaction running, and none the picker would
    /// start now (every level's score below 1); obsolete files are deleted
    /// before it returns. Mirrors RocksDB's
    /// `DB::WaitForCompact` (added there after 7.8). Writes made by other
    /// threads meanwhile can prolong the wait. Throws the background error,
    /// if one stopped the work.
    public func waitForBackgroundWork() throws {
        try checkOpen()
        try monitor.withLock {
            while backgroundError == nil && !shuttingDown {
                let idle = purgesRunning == 0 && familyList.allSatisfy { family in
                    guard family.imm.isEmpty && !family.flushRunning && !family.compactionRunning
                        && family.manualCompactionPending == 0 else { return false }
                    guard let version = versions.current(columnFamily: family.id) else { return true }
                    return CompactionPicker(options: family.options).pick(version: version, busy: family.filesBeingCompacted,
                                                                          running: family.runningCompactions) == nil
                }
                if idle { break }
                maybeScheduleWork()
                monitor.wait()
            }
            if let backgroundError { throw backgroundError }
        }
        // Files that became unreferenced since the last job (a released
        // iterator or snapshot's version) go now, so disk usage is settled.
        deleteObsoleteFiles()
    }

    /// Compacts every key in [begin, end] (nil = unbounded) down to the last
    /// level that holds data, waiting until done: afterwards deleted and
    /// overwritten entries in the range that no snapshot needs are gone.
    /// Flushes the memtable first. Works on the default column family (see
    /// `ColumnFamily.compactRange`).
    public func compactRange(from begin: [UInt8]? = nil, to end: [UInt8]? = nil) throws {
        try compactRange(from: begin, to: end, family: defaultFamily)
    }

    /// `compactRange` for one family. Waits for the family's running
    /// background compactions and holds new ones back meanwhile.
    ///
    /// Under universal compaction the range is ignored and every file is
    /// merged into one sorted run in the last level, as RocksDB's universal
    /// `CompactRange` does (a partial merge would break the runs' order).
    func compactRange(from begin: [UInt8]?, to end: [UInt8]?, family: ColumnFamilyData) throws {
        try flush(family: family)
        // Stop automatic compactions while this runs and wait for running ones.
        try monitor.withLock {
            family.manualCompactionPending += 1
            while family.compactionRunning && !family.dropped { monitor.wait() }
            if family.dropped {
                family.manualCompactionPending -= 1
                throw StrataError.invalidArgument("column family \(family.name) was dropped")
            }
            family.manualCompactionRunning = true
        }
        defer {
            monitor.withLock {
                family.manualCompactionRunning = false
                family.manualCompactionPending -= 1
                maybeScheduleWork()
                monitor.broadcast()
            }
        }
        if family.options.compactionStyle == .universal {
            if let version = versions.current(columnFamily: family.id),
               let plan = UniversalCompactionPicker(options: family.options).manual(version: version) {
                try runManual(plan, family: family)
            }
        } else {
            try compactRangeLeveled(from: begin, to: end, family: family)
        }
        monitor.withLock {
            installSuperVersion(family)
            backgroundWorkDone += 1
            monitor.broadcast()
        }
        deleteObsoleteFiles()
    }

    private func compactRangeLeveled(from begin: [UInt8]?, to end: [UInt8]?, family: ColumnFamilyData) throws {
        let options = family.options
        let picker = CompactionPicker(options: options)
        let id = family.id
        guard let initial = versions.current(columnFamily: id) else { return }
        var lastLevel = 0
        for (level, files) in initial.levels.enumerated() where !files.isEmpty { lastLevel = level }
        if lastLevel == 0 { lastLevel = LevelTargets(version: initial, options: options).baseLevel }
        for level in 0..<lastLevel {
            guard let version = versions.current(columnFamily: id) else { return }
            var outputLevel = level + 1
            if level == 0 { outputLevel = max(1, min(LevelTargets(version: version, options: options).baseLevel, lastLevel)) }
            if version.levels[level].isEmpty { continue }
            if let plan = picker.manual(version: version, level: level, outputLevel: outputLevel, begin: begin, end: end) {
                try runManual(plan, family: family)
            }
        }
        // Finally rewrite the last level itself so its deletions and old versions are dropped.
        if let version = versions.current(columnFamily: id),
           let plan = picker.manual(version: version, level: lastLevel, outputLevel: lastLevel, begin: begin, end: end) {
            try runManual(plan, family: family)
        }
    }

    /// Runs a manual compaction step, always rewriting (a manual compaction
    /// exists to drop garbage, which a trivial move would keep).
    private func runManual(_ plan: CompactionPlan, family: ColumnFamilyData) throws {
        try runCompaction(plan, family: family, snapshots: snapshots.sequences, forceRewrite: true)
        monitor.withLock { installSuperVersion(family) }
    }
}
