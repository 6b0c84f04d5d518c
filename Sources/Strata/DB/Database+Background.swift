/// Background work: flushing immutable memtables to L0 and compacting, on
/// the database's own threads (`Options.maxBackgroundJobs`, at least 2).
///
/// Scheduling (all decisions under the monitor): a flush runs whenever an
/// immutable memtable waits and no flush runs; compactions run on the other
/// threads, at most `maxConcurrentCompactions` at once, so one thread is
/// always left for a flush. A new compaction is picked with the files of the
/// running ones of its column family marked busy (`filesBeingCompacted`),
/// and is refused if its output would overlap a running compaction's output
/// in the same level ≥ 1. A manual compaction of a family waits until none
/// of the family's runs and blocks new ones.
extension Database {
    func startBackgroundThreads() {
        let count = max(2, options.maxBackgroundJobs)
        monitor.withLock { runningThreads = count }
        for i in 0..<count {
            startThread(name: "strata-bg-\(i)") { [self] in backgroundLoop() }
        }
    }

    /// Compactions allowed at once: every background thread but one, which
    /// stays free for flushes (RocksDB reserves flush threads the same way).
    var maxConcurrentCompactions: Int { max(1, max(2, options.maxBackgroundJobs) - 1) }

    /// Wakes background threads to look for work. Caller holds the monitor.
    func maybeScheduleWork() {
        monitor.broadcast(workAvailable)
    }

    private enum Work {
        case flush(ColumnFamilyData)
        case compaction(ColumnFamilyData, CompactionPlan)
    }

    /// What a background thread should do next, or nil: flushes first (of
    /// any family with an immutable memtable and no flush running), then,
    /// below the compaction limit, the most urgent compaction of the first
    /// family that has one (not during that family's manual compaction).
    /// Caller holds the monitor.
    private func nextWork() -> Work? {
        if backgroundError != nil || shuttingDown { return nil }
        for family in familyList where !family.dropped && !family.flushRunning && !family.imm.isEmpty {
            return .flush(family)
        }
        var running = 0
        for family in familyList { running += family.runningCompactions.count }
        guard running < maxConcurrentCompactions else { return nil }
        for family in familyList
        where !family.dropped && !family.manualCompactionRunning && family.manualCompactionPending == 0 {
            if let version = versions.current(columnFamily: family.id),
               let plan = CompactionPicker(options: family.options).pick(version: version, busy: family.filesBeingCompacted,
                                                                         running: family.runningCompactions) {
                return .compaction(family, plan)
            }
        }
        return nil
    }

    private func backgroundLoop() {
        monitor.lock()
        while true {
            if shuttingDown { break }
            do {
                guard let work = nextWork() else {
                    monitor.wait(workAvailable)
                    continue
                }
                perform(work)
            }
            // `work` (and the compaction plan's references to its input
            // files) is gone now, so the inputs the new version dropped are
            // unreferenced and queued for deletion: delete them without
            // waiting for the next job.
            purgesRunning += 1
            monitor.unlock()
            deleteObsoleteFiles()
            monitor.lock()
            purgesRunning -= 1
            monitor.broadcast()
        }
        runningThreads -= 1
        monitor.broadcast()
        monitor.unlock()
    }

    /// Runs one background job. Called and returns with the monitor held;
    /// releases it while the job does I/O. A job of a family dropped
    /// meanwhile is abandoned without a background error.
    private func perform(_ work: Work) {
        switch work {
        case .flush(let family):
            family.flushRunning = true
            let (table, nextLog) = family.imm[0]
            let snapshotList = snapshots.sequences
            monitor.unlock()
            let result = Result { try flushMemtable(table, family: family, nextLog: nextLog, snapshots: snapshotList) }
            monitor.lock()
            family.flushRunning = false
            switch result {
            case .success:
                if !family.dropped {
                    family.imm.removeFirst()
                    family.logNumber = max(family.logNumber, nextLog)
                    installSuperVersion(family)
                    if !pendingCuts.isEmpty { pinCheckpointCuts(flushed: table, family: family) }
                }
            case .failure(let error):
                if !family.dropped { recordBackgroundErrorLocked(error, reason: .backgroundWork) }
            }
        case .compaction(let family, let plan):
            family.runningCompactions.append(plan)
            // Another idle thread may find a compaction on other files now.
            maybeScheduleWork()
            let snapshotList = snapshots.sequences
            monitor.unlock()
            let result = Result { try runCompaction(plan, family: family, snapshots: snapshotList) }
            monitor.lock()
            let inputNumbers = Set(plan.allInputs.map(\.number))
            family.runningCompactions.removeAll { $0.allInputs.contains { inputNumbers.contains($0.number) } }
            switch result {
            case .success: installSuperVersion(family)
            case .failure(let error):
                if !family.dropped { recordBackgroundErrorLocked(error, reason: .backgroundWork) }
            }
        }
        backgroundWorkDone += 1
        monitor.broadcast()
        // The job may have made work for another thread (a flush fills L0).
        maybeScheduleWork()
    }

    /// Writes one immutable memtable of `family` to an L0 table and records
    /// it in the MANIFEST with `nextLog` as the family's new log number (older
    /// WALs then hold nothing unflushed of this family). Runs without the
    /// monitor. Throws `.invalidArgument` if the family was dropped meanwhile
    /// (the table is removed).
    func flushMemtable(_ table: MemTable, family: ColumnFamilyData, nextLog: UInt64, snapshots: [UInt64]) throws {
        var edit = VersionEdit()
        edit.columnFamily = family.id
        if let meta = try writeLevel0Table(table, family: family, snapshots: snapshots, reason: "flush") {
            edit.newFiles.append((0, meta))
        }
        edit.logNumber = nextLog
        do {
            try versions.logAndApply([edit])
        } catch let error as StrataError where error.kind != .ioError {
            // The edit never reached the MANIFEST (the family was dropped):
            // the table is garbage. After an I/O error it may be there and be
            // replayed on reopen, so the table stays (an unlisted one is
            // deleted at the next open).
            for (_, meta) in edit.newFiles { try? fileSystem.removeFile(Path.join(path, DBFileName.table(meta.number))) }
            throw error
        }
        stats.flushes.add(1, ordering: .relaxed)
    }

    /// Builds an L0 table from a memtable (dropping versions no snapshot
    /// needs), syncs it, and returns its metadata; nil if nothing remained.
    func writeLevel0Table(_ table: MemTable, family: ColumnFamilyData, snapshots: [UInt64], reason: String) throws
        -> FileMetaData?
    {
        let start = MonotonicClock.now()
        let input = table.makeIterator()
        // Flushes merge operands (partially, or fully onto a value in the
        // same memtable) but never run the compaction filter (RocksDB's
        // default for `compaction_filter`).
        let tombstones = table.rangeTombstones()
        let filtered = CompactionIterator(input: input, snapshots: snapshots, bottommost: false,
                                          mergeOperator: family.options.mergeOperator,
                                          tombstones: RangeTombstoneList(internalTombstones: tombstones))
        let output = TableOutput(directory: path, fileSystem: fileSystem, versions: versions, options: family.tableOptions,
                                 level: 0, targetFileSize: .max, columnFamilyID: family.id,
                                 compactOnDeletion: family.options.compactOnDeletion)
        for tombstone in tombstones {
            try output.addRangeTombstone(begin: tombstone.begin, end: tombstone.end)
        }
        filtered.seekToFirst()
        while filtered.isValid {
            try output.add(key: filtered.key, value: filtered.value)
            filtered.next()
        }
        if let error = filtered.error {
            output.abandon()
            throw error
        }
        let files = try output.finish()
        let elapsed = MonotonicClock.now() - start
        stats.compactionNanoseconds.add(elapsed, ordering: .relaxed)
        stats.levels[0].nanoseconds.add(elapsed, ordering: .relaxed)
        for f in files { stats.flushBytes.add(f.fileSize, ordering: .relaxed) }
        return files.first
    }

    /// Deletes files no longer needed: tables no version references, WALs
    /// below the MANIFEST's log number, old MANIFESTs and temp files. With
    /// `orphans` (only at open, when no flush or compaction is writing) also
    /// tables that no version lists, left behind by a crash.
    func deleteObsoleteFiles(orphans: Bool = false) {
        for number in versions.takeObsoleteFiles() {
            tableCache.evict(number)
            try? fileSystem.removeFile(Path.join(path, DBFileName.table(number)))
        }
        // The smallest log number of any live family (in memory: it runs
        // ahead of the MANIFEST for families that had nothing to flush).
        let (minLog, activeWAL) = monitor.withLock { (familyList.map(\.logNumber).min() ?? 0, walNumber) }
        let manifest = versions.manifestNumber
        var liveTables = Set<UInt64>()
        if orphans {
            for family in versions.columnFamilies {
                for f in family.version.allFiles { liveTables.insert(f.number) }
            }
        }
        guard let names = try? fileSystem.listDirectory(path) else { return }
        for name in names {
            switch DBFileName.parse(name) {
            case .wal(let n) where n < minLog && n != activeWAL:
                try? fileSystem.removeFile(Path.join(path, name))
            case .manifest(let n) where n < manifest:
                try? fileSystem.removeFile(Path.join(path, name))
            case .temp:
                try? fileSystem.removeFile(Path.join(path, name))
            case .table(let n) where orphans && !liveTables.contains(n):
                try? fileSystem.removeFile(Path.join(path, name))
            case nil where orphans && name.hasSuffix(".sst" + Self.ingestTempSuffix):
                // An ingestion's table copy left by a crash.
                try? fileSystem.removeFile(Path.join(path, name))
            default:
                break
            }
        }
    }
}
