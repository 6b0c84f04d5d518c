/// Running compactions (background and manual) and manual flushes.
extension Database {
    /// Runs `plan`: merges the inputs through a `CompactionIterator`, writes
    /// outputs of `targetFileSizeBase` to the output level, and installs one
    /// VersionEdit that swaps inputs for outputs. A trivial move only edits
    /// the MANIFEST. Runs without the monitor.
    func runCompaction(_ plan: CompactionPlan, snapshots: [UInt64], forceRewrite: Bool = false) throws {
        let start = MonotonicClock.now()
        defer { stats.compactionNanoseconds.add(MonotonicClock.now() - start, ordering: .relaxed) }
        var edit = VersionEdit()
        for f in plan.inputs { edit.deletedFiles.append((plan.level, f.number)) }
        for f in plan.outputLevelInputs { edit.deletedFiles.append((plan.outputLevel, f.number)) }
        if plan.isTrivialMove && !forceRewrite {
            edit.newFiles.append((plan.outputLevel, plan.inputs[0].meta))
            try versions.logAndApply([edit])
            stats.trivialMoves.add(1, ordering: .relaxed)
            return
        }
        var children: [any InternalIterator] = []
        var readBytes: UInt64 = 0
        var tombstones: [(begin: [UInt8], end: [UInt8])] = []
        for f in plan.allInputs {
            let table = try tableCache.table(f.number)
            children.append(table.makeIterator())
            tombstones += table.rangeTombstones
            readBytes += f.fileSize
        }
        let merged = MergingIterator(children: children)
        let filtered = CompactionIterator(input: merged, snapshots: snapshots, bottommost: plan.bottommost)
        let output = TableOutput(directory: path, fileSystem: fileSystem, versions: versions, options: tableOptions,
                                 level: plan.outputLevel, targetFileSize: options.targetFileSizeBase, columnFamilyID: 0)
        do {
            filtered.seekToFirst()
            while filtered.isValid {
                if shuttingDownFlag() { throw StrataError(.closed, "compaction stopped: database is closing") }
                try output.add(key: filtered.key, value: filtered.value)
                filtered.next()
            }
            if let error = filtered.error { throw error }
            // Range tombstones stay until the bottom, where nothing older remains for them to hide.
            if !plan.bottommost {
                for t in tombstones { try output.addRangeTombstone(begin: t.begin, end: t.end) }
            }
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
            stopWrites(after: error)
            throw error
        }
    }

    func shuttingDownFlag() -> Bool { monitor.withLock { shuttingDown } }

    /// Flushes the active memtable to an L0 table and waits until every
    /// memtable that existed at the call is on disk. A no-op when the
    /// memtable is empty.
    public func flush() throws {
        try checkOpen()
        // Enter the write queue so no write interleaves with the switch.
        var target = 0
        try monitor.withLock {
            if let backgroundError { throw backgroundError }
            // Wait for our turn as a writer: the leader protocol owns the memtable.
            let me = PendingWrite(batch: WriteBatch(), options: WriteOptions(), isFlushBarrier: true)
            writers.append(me)
            while writers.first !== me { monitor.wait() }
            defer {
                writers.removeFirst()
                monitor.broadcast()
            }
            if !mem.isEmpty { try makeRoomForWrite(force: true, noSlowdown: false) }
            target = imm.count
        }
        guard target > 0 else { return }
        try monitor.withLock {
            maybeScheduleWork()
            while !imm.isEmpty && backgroundError == nil && !shuttingDown { monitor.wait() }
            if let backgroundError { throw backgroundError }
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
                if imm.isEmpty && !flushRunning && !compactionRunning && manualCompactionPending == 0 && purgesRunning == 0,
                   let version = versions.current(),
                   CompactionPicker(options: options).pick(version: version, busy: filesBeingCompacted) == nil {
                    break
                }
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
    /// Flushes the memtable first.
    public func compactRange(from begin: [UInt8]? = nil, to end: [UInt8]? = nil) throws {
        try flush()
        // Stop automatic compactions while this runs and wait for a running one.
        monitor.withLock {
            manualCompactionPending += 1
            while compactionRunning { monitor.wait() }
            compactionRunning = true
        }
        defer {
            monitor.withLock {
                compactionRunning = false
                manualCompactionPending -= 1
                maybeScheduleWork()
                monitor.broadcast()
            }
        }
        let picker = CompactionPicker(options: options)
        guard let initial = versions.current() else { return }
        var lastLevel = 0
        for (level, files) in initial.levels.enumerated() where !files.isEmpty { lastLevel = level }
        if lastLevel == 0 { lastLevel = LevelTargets(version: initial, options: options).baseLevel }
        for level in 0..<lastLevel {
            guard let version = versions.current() else { return }
            var outputLevel = level + 1
            if level == 0 { outputLevel = max(1, min(LevelTargets(version: version, options: options).baseLevel, lastLevel)) }
            if version.levels[level].isEmpty { continue }
            if let plan = picker.manual(version: version, level: level, outputLevel: outputLevel, begin: begin, end: end) {
                try runManual(plan)
            }
        }
        // Finally rewrite the last level itself so its deletions and old versions are dropped.
        if let version = versions.current(),
           let plan = picker.manual(version: version, level: lastLevel, outputLevel: lastLevel, begin: begin, end: end) {
            try runManual(plan)
        }
        monitor.withLock {
            installSuperVersion()
            backgroundWorkDone += 1
            monitor.broadcast()
        }
        deleteObsoleteFiles()
    }

    /// Runs a manual compaction step, always rewriting (a manual compaction
    /// exists to drop garbage, which a trivial move would keep).
    private func runManual(_ plan: CompactionPlan) throws {
        try runCompaction(plan, snapshots: snapshots.sequences, forceRewrite: true)
        monitor.withLock { installSuperVersion() }
    }
}
