import Glibc

/// The write path: group commit into the WAL, then the memtable.
///
/// Writers queue under the monitor. The writer at the head of the queue is
/// the leader: it makes room (switching memtables, stalling if flushes or
/// compactions lag), takes the batches queued behind it into one group,
/// assigns their sequence numbers, appends one WAL record for the group and
/// issues at most one fsync (if any member asked for `sync`), inserts the
/// group into the memtable, publishes the new last sequence, and wakes the
/// members. A failed WAL append or fsync is a background error: every later
/// write fails until the database is reopened, so the log never has a hole.
extension Database {
    /// Largest group a leader builds, in bytes of batch encoding (LevelDB's
    /// 1 MiB): bigger groups delay the leader's own write for little gain.
    static let maxGroupBytes = 1 << 20

    /// Applies `batch` atomically. Returns once it is in the WAL and the
    /// memtable (and, with `options.sync`, fsynced). An empty batch is a no-op.
    /// Throws `.invalidArgument` for merges without a merge operator,
    /// `.busy` if it would stall and `options.noSlowdown` is set, the
    /// background error if an earlier write or background job failed, and
    /// `.closed` after `close`.
    public func write(_ batch: WriteBatch, options: WriteOptions = WriteOptions()) throws {
        try checkOpen()
        if batch.isEmpty { return }
        if !hasMergeOperator {
            var hasMerge = false
            try batch.forEach { op in if op.type == .merge { hasMerge = true } }
            if hasMerge {
                throw StrataError.invalidArgument("merge needs a merge operator (Options.mergeOperator is nil)")
            }
        }
        let me = PendingWrite(batch: batch, options: options)
        monitor.lock()
        writers.append(me)
        while !me.done && writers.first !== me { monitor.wait() }
        if me.done {
            monitor.unlock()
            if let error = me.error { throw error }
            return
        }

        // Leader.
        var groupError: Error? = nil
        do {
            try makeRoomForWrite(force: false, noSlowdown: options.noSlowdown)
        } catch {
            groupError = error
        }
        let scratch = writeScratch
        scratch.group.append(me)
        if groupError == nil {
            var bytes = me.batch.byteSize
            writers.forEachAfterFirst { w in
                if w.isFlushBarrier { return false }
                // A sync write must not ride in a group the leader won't sync;
                // WAL-less writes and WAL writes do not mix.
                if w.options.sync && !options.sync { return false }
                if w.options.disableWAL != options.disableWAL { return false }
                bytes += w.batch.byteSize
                if bytes > Database.maxGroupBytes { return false }
                scratch.group.append(w)
                return true
            }
        }
        let memtable = mem
        let log = wal
        let firstSequence = versions.lastSequence + 1
        let syncDirectory = options.sync && !options.disableWAL && walDirectorySyncPending
        if syncDirectory { walDirectorySyncPending = false }
        monitor.unlock()

        if groupError == nil {
            do {
                try commit(group: scratch.group, firstSequence: firstSequence, memtable: memtable, log: log, options: options)
                if syncDirectory { try fileSystem.syncDirectory(path) }
            } catch {
                groupError = error
            }
        }

        monitor.lock()
        if groupError == nil {
            var count: UInt64 = 0
            for w in scratch.group { count += UInt64(w.batch.count) }
            versions.setLastSequence(firstSequence + count - 1)
        } else if backgroundError == nil, let e = groupError as? StrataError, e.kind == .ioError {
            backgroundError = e
        }
        for w in scratch.group {
            w.done = true
            w.error = groupError
        }
        writers.removeFirst(scratch.group.count)
        scratch.group.removeAll(keepingCapacity: true)
        monitor.broadcast()
        monitor.unlock()
        if let groupError { throw groupError }
    }

    /// WAL append (+ fsync) and memtable insert for a group. Called by the
    /// leader without the monitor; nobody else touches the WAL or inserts
    /// into the memtable meanwhile.
    private func commit(group: [PendingWrite], firstSequence: UInt64, memtable: MemTable, log: LogWriter?,
                        options: WriteOptions) throws {
        // One record for the group: the first batch's header (sequence and
        // count patched) and every member's records, built in the leader's
        // reusable buffer (the callers' batches are not copied or mutated).
        let scratch = writeScratch
        var total: UInt32 = 0
        for (i, w) in group.enumerated() {
            w.batch.rep.withUnsafeBytes { raw in
                scratch.record.append(contentsOf: i == 0 ? raw : UnsafeRawBufferPointer(rebasing: raw[WriteBatch.headerSize...]))
            }
            total += w.batch.count
        }
        scratch.record.withUnsafeMutableBytes { raw in
            storeFixed64(raw.baseAddress!, firstSequence)
            storeFixed32(raw.baseAddress! + 8, total)
        }
        defer {
            if scratch.record.capacity > WriteScratch.retainedRecordCapacity {
                scratch.record = []
            } else {
                scratch.record.removeAll(keepingCapacity: true)
            }
        }
        if !options.disableWAL {
            guard let log else { throw StrataError(.closed, "WAL is closed") }
            do {
                try log.addRecord(scratch.record)
                try log.flush()
                if options.sync {
                    try log.sync()
                    stats.walSyncs.add(1, ordering: .relaxed)
                }
            } catch let error as StrataError {
                throw StrataError.ioError("WAL write failed; the database refuses writes until reopened: \(error.message)",
                                          file: error.file, offset: error.offset)
            }
            stats.walBytes.add(UInt64(scratch.record.count + LogFormat.headerSize), ordering: .relaxed)
        }
        var sequence = firstSequence
        var userBytes: UInt64 = 0
        for w in group {
            try w.batch.forEach { op in
                memtable.add(sequence: sequence, type: op.type, key: op.key, value: op.value)
                userBytes += UInt64(op.key.count + op.value.count)
                sequence += 1
            }
        }
        stats.userBytes.add(userBytes, ordering: .relaxed)
        stats.userWrites.add(UInt64(total), ordering: .relaxed)
        stats.commitGroups.add(1, ordering: .relaxed)
        stats.writeCalls.add(UInt64(group.count), ordering: .relaxed)
    }

    /// Ensures the active memtable has room, switching to a new one (and a
    /// new WAL) when it is full, and stalling while too many memtables await
    /// flush or L0 holds too many files. Caller holds the monitor.
    func makeRoomForWrite(force: Bool, noSlowdown: Bool) throws {
        var force = force
        var slowedDown = false
        while true {
            if let backgroundError { throw backgroundError }
            if closed || shuttingDown { throw StrataError(.closed, "database \(path) is closing") }
            // The installed SuperVersion's version (under the monitor, no
            // version-set lock): every version change installs a new one.
            let l0Files = current.version.levels[0].count
            if !slowedDown && l0Files >= options.level0SlowdownWritesTrigger {
                // Slow writes down a little to let compaction catch up,
                // rather than stopping them later for a long time.
                if noSlowdown { throw StrataError(.busy, "write would be slowed down: \(l0Files) L0 files") }
                slowedDown = true
                monitor.unlock()
                let start = MonotonicClock.now()
                usleep(1000)
                stats.stallNanoseconds.add(MonotonicClock.now() - start, ordering: .relaxed)
                stats.stalls.add(1, ordering: .relaxed)
                monitor.lock()
                continue
            }
            if !force && mem.approximateMemoryUsage < options.writeBufferSize { return }
            if imm.count >= max(1, options.maxWriteBufferNumber - 1) {
                if noSlowdown { throw StrataError(.busy, "write would stall: \(imm.count) memtables waiting for flush") }
                try stall()
                continue
            }
            if l0Files >= options.level0StopWritesTrigger {
                if noSlowdown { throw StrataError(.busy, "write would stall: \(l0Files) L0 files") }
                try stall()
                continue
            }
            if mem.isEmpty && force { return }
            try switchMemtable()
            force = false
        }
    }

    private func stall() throws {
        maybeScheduleWork()
        let start = MonotonicClock.now()
        let progress = backgroundWorkDone
        while backgroundWorkDone == progress && backgroundError == nil && !shuttingDown {
            monitor.wait()
        }
        stats.stallNanoseconds.add(MonotonicClock.now() - start, ordering: .relaxed)
        stats.stalls.add(1, ordering: .relaxed)
    }

    /// Makes the active memtable immutable and starts a new WAL and memtable.
    /// Caller holds the monitor.
    func switchMemtable() throws {
        let number = versions.newFileNumber()
        let file: any WritableFile
        do {
            file = try fileSystem.createWritable(Path.join(path, DBFileName.wal(number)))
        } catch let error as StrataError {
            backgroundError = error
            throw error
        }
        if let old = wal {
            do {
                // Sync the WAL being closed (RocksDB syncs closed WALs before
                // a sync write or a flush relies on newer ones): a later
                // synced write in the new WAL must never survive a crash
                // that loses older, unsynced writes, or recovery would not
                // be a prefix of the acknowledged writes. One fsync per
                // memtable switch.
                try old.flush()
                try old.sync()
                try old.close()
            } catch let error as StrataError {
                backgroundError = error
                throw error
            }
        }
        wal = LogWriter(file: file)
        walNumber = number
        walDirectorySyncPending = true
        imm.append((mem, memWAL))
        mem = MemTable()
        memWAL = number
        installSuperVersion()
        maybeScheduleWork()
    }
}

/// Monotonic nanoseconds.
enum MonotonicClock {
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
