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

    /// Applies `batch` atomically — across column families too: one WAL
    /// record holds it. Returns once it is in the WAL and the memtables
    /// (and, with `options.sync`, fsynced). An empty batch is a no-op.
    /// Throws `.invalidArgument` for merges without a merge operator or
    /// updates naming a column family that is dropped or does not exist,
    /// `.busy` if it would stall and `options.noSlowdown` is set, the
    /// background error if an earlier write or background job failed, and
    /// `.closed` after `close`.
    public func write(_ batch: WriteBatch, options: WriteOptions = WriteOptions()) throws {
        try checkOpen()
        if batch.isEmpty { return }
        try checkFamilies(of: batch)
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
            try makeRoomForWrite(force: nil, noSlowdown: options.noSlowdown)
        } catch {
            groupError = error
        }
        let scratch = writeScratch
        scratch.group.append(me)
        var bytes = me.batch.byteSize
        if groupError == nil {
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
        let memtables = MemTableTargets(defaultMem: defaultFamily.mem,
                                        others: familyList.count > 1 ? activeMemtables() : [:])
        let log = wal
        let firstSequence = versions.lastSequence + 1
        let syncDirectory = options.sync && !options.disableWAL && walDirectorySyncPending
        if syncDirectory { walDirectorySyncPending = false }
        monitor.unlock()

        if groupError == nil {
            do {
                try commit(group: scratch.group, firstSequence: firstSequence, memtables: memtables, log: log, options: options)
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
        } else if let groupError {
            recordBackgroundErrorLocked(groupError, reason: .walWrite)
        }
        for w in scratch.group {
            w.done = true
            w.error = groupError
        }
        lastGroupBytes = bytes
        writers.removeFirst(scratch.group.count)
        scratch.group.removeAll(keepingCapacity: true)
        monitor.broadcast()
        monitor.unlock()
        if let groupError { throw groupError }
    }

    /// WAL append (+ fsync) and memtable insert for a group. Called by the
    /// leader without the monitor; nobody else touches the WAL or inserts
    /// into the memtable meanwhile.
    private func commit(group: [PendingWrite], firstSequence: UInt64, memtables: MemTableTargets, log: LogWriter?,
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
            let walSizeBefore = log.file.size
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
            // Every byte the log appended: fragment headers and block padding included.
            stats.walBytes.add(log.file.size &- walSizeBefore, ordering: .relaxed)
            stats.walBatchBytes.add(UInt64(scratch.record.count), ordering: .relaxed)
        }
        stats.batchBytes.add(UInt64(scratch.record.count), ordering: .relaxed)
        var sequence = firstSequence
        var userBytes: UInt64 = 0
        for w in group {
            try w.batch.forEach { op in
                // A family dropped after the batch was checked: its updates
                // stay in the WAL (recovery skips them) but go nowhere.
                memtables.table(for: op.columnFamily)?.add(sequence: sequence, type: op.type, key: op.key, value: op.value)
                userBytes += UInt64(op.key.count + op.value.count)
                sequence += 1
            }
        }
        stats.userBytes.add(userBytes, ordering: .relaxed)
        stats.userWrites.add(UInt64(total), ordering: .relaxed)
        stats.commitGroups.add(1, ordering: .relaxed)
        stats.writeCalls.add(UInt64(group.count), ordering: .relaxed)
    }

    /// Enters the writer queue as a barrier (a leader never takes it into
    /// its group), runs `body` at the head of the queue — no write in
    /// flight, `versions.lastSequence` is the last write, the memtables are
    /// the caller's to switch — then leaves. Used by `flush` and checkpoints.
    /// Caller holds the monitor; throws the background error or `.closed`.
    func atWriterQueueHead<T>(_ body: () throws -> T) throws -> T {
        if let backgroundError { throw backgroundError }
        let me = PendingWrite(batch: WriteBatch(), options: WriteOptions(), isFlushBarrier: true)
        writers.append(me)
        while writers.first !== me { monitor.wait() }
        defer {
            writers.removeFirst()
            monitor.broadcast()
        }
        if closed || shuttingDown { throw StrataError(.closed, "database \(path) is closing") }
        return try body()
    }

    /// Ensures every family's active memtable has room, switching a full
    /// one (or `force`'s, if not empty) to a new memtable and a new WAL, and
    /// stalling while a family has too many memtables waiting for flush or
    /// too many L0 files. The WAL is shared, so one lagging family slows
    /// or stops writes to all of them, as in RocksDB. Caller holds the monitor.
    func makeRoomForWrite(force: ColumnFamilyData?, noSlowdown: Bool) throws {
        var force = force
        var delayed = false
        while true {
            if let backgroundError { throw backgroundError }
            if closed || shuttingDown { throw StrataError(.closed, "database \(path) is closing") }
            let (condition, debt) = writeCondition()
            writeController.update(condition, debt: debt)
            switch condition {
            case .stopped(let cause):
                if noSlowdown { throw StrataError(.busy, "write would stall: \(cause)") }
                try stall()
                continue
            case .delayed(let cause) where !delayed:
                // Once per write group: wait so the group keeps to the
                // controller's rate, giving compaction time to catch up.
                delayed = true
                let wait = writeController.delay(bytes: lastGroupBytes, now: MonotonicClock.now())
                if noSlowdown { throw StrataError(.busy, "write would be delayed: \(cause)") }
                monitor.unlock()
                let start = MonotonicClock.now()
                var remaining = wait
                while remaining > 0 {
                    // usleep takes at most a second at a time.
                    let chunk = min(remaining, 500_000_000)
                    usleep(UInt32(chunk / 1000))
                    remaining -= chunk
                }
                stats.stallNanoseconds.add(MonotonicClock.now() - start, ordering: .relaxed)
                stats.stalls.add(1, ordering: .relaxed)
                monitor.lock()
                continue
            default:
                break
            }
            if let f = force, f.dropped || f.mem.isEmpty { force = nil }
            // A family being dropped takes no writes and gets no flushes.
            guard let family = force ?? familyList.first(where: { $0.memtableIsFull && !$0.droppedUnderMonitor })
                ?? memoryBudgetFlushCandidate() else { return }
            if family.imm.count >= max(1, family.maxWriteBufferNumber - 1) {
                // Switching now would exceed maxWriteBufferNumber memtables.
                if noSlowdown {
                    throw StrataError(.busy, "write would stall: \(family.imm.count) memtables of column family \(family.name) waiting for flush")
                }
                try stall()
                continue
            }
            try switchMemtable(family)
            if family === force { force = nil }
        }
    }

    /// What backpressure applies to the next write group, and the debt
    /// measure the controller adapts its rate to (L0 files and pending
    /// compaction bytes, summed over families). Caller holds the monitor.
    func writeCondition() -> (WriteController.Condition, UInt64) {
        var condition = WriteController.Condition.normal
        var debt: UInt64 = 0
        for family in familyList where !family.droppedUnderMonitor {
            let l0Files = family.l0StallCount
            let pending = family.pendingCompactionBytes
            debt += UInt64(l0Files) << 40 &+ pending
            if case .stopped = condition { continue }
            let name = family.name
            let l0What = family.isUniversal ? "sorted runs" : "L0 files"
            if l0Files >= family.level0StopWritesTrigger {
                condition = .stopped("\(l0Files) \(l0What) in column family \(name) (level0_stop_writes_trigger)")
            } else if family.imm.count >= family.maxWriteBufferNumber {
                condition = .stopped("\(family.imm.count) memtables of column family \(name) waiting for flush (max_write_buffer_number)")
            } else if pending >= family.options.hardPendingCompactionBytesLimit {
                condition = .stopped("\(pending) bytes of compaction pending in column family \(name) (hard_pending_compaction_bytes_limit)")
            } else if case .normal = condition {
                if l0Files >= family.level0SlowdownWritesTrigger {
                    condition = .delayed("\(l0Files) \(l0What) in column family \(name) (level0_slowdown_writes_trigger)")
                } else if family.maxWriteBufferNumber > 3 && family.imm.count >= family.maxWriteBufferNumber - 1 {
                    condition = .delayed("\(family.imm.count) memtables of column family \(name) waiting for flush")
                } else if pending >= family.options.softPendingCompactionBytesLimit {
                    condition = .delayed("\(pending) bytes of compaction pending in column family \(name) (soft_pending_compaction_bytes_limit)")
                }
            }
        }
        return (condition, debt)
    }

    /// The active memtables of the families other than the default one.
    /// Caller holds the monitor.
    private func activeMemtables() -> [UInt32: MemTable] {
        var result: [UInt32: MemTable] = [:]
        for family in familyList.dropFirst() { result[family.id] = family.mem }
        return result
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

    /// Makes `family`'s active memtable immutable and starts a new WAL and
    /// memtable. Families with nothing unflushed move their log number to
    /// the new WAL (RocksDB's shortcut: the older WALs hold nothing they
    /// need, so they do not keep them alive). Caller holds the monitor.
    func switchMemtable(_ family: ColumnFamilyData) throws {
        let number = versions.newFileNumber()
        let file: any WritableFile
        do {
            file = try fileSystem.createWritable(Path.join(path, DBFileName.wal(number)))
        } catch {
            recordBackgroundErrorLocked(error, reason: .walSwitch)
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
            } catch {
                recordBackgroundErrorLocked(error, reason: .walSwitch)
                throw error
            }
        }
        wal = LogWriter(file: file)
        walNumber = number
        walDirectorySyncPending = true
        family.mem.markImmutable()
        family.imm.append((family.mem, number))
        family.mem = family.makeMemTable()
        for other in familyList where other !== family && other.imm.isEmpty && other.mem.isEmpty {
            other.logNumber = max(other.logNumber, number)
        }
        installSuperVersion(family)
        maybeScheduleWork()
    }
}

/// The memtables a write group inserts into, captured with the group: the
/// default family's, and (only when other families exist) the others' by id.
struct MemTableTargets {
    let defaultMem: MemTable
    let others: [UInt32: MemTable]

    /// The memtable of family `id`; nil for a family that is gone.
    @inline(__always)
    func table(for id: UInt32) -> MemTable? {
        id == 0 ? defaultMem : others[id]
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
