/// A flush-mode checkpoint cut taken in two steps, so the writer can go on
/// while the memtables holding the cut are flushed (Flink's asynchronous
/// snapshot: a synchronous part that fixes the cut, an asynchronous part
/// that makes it durable).
///
/// `beginCheckpointCut` (in the writer queue: no write in flight) reads
/// the last sequence S, takes a snapshot at S and switches the memtable of
/// every column family that has data. A family whose memtables were
/// already empty is pinned at once: its version holds every write ≤ S and
/// nothing newer. For the others the cut waits for the family's newest
/// memtable holding writes ≤ S (the target). Memtables of a family flush
/// one at a time, oldest first, so the moment the target's flush is
/// installed the family's version holds every write ≤ S and nothing newer
/// (later memtables are not flushed yet; compactions only move what is
/// flushed): the background thread pins that version right then, under the
/// monitor (`pinCheckpointCuts`). `finishCheckpointCut` waits for every
/// family to be pinned. No retry, and no race with later flushes.
///
/// Thread safety: every field is read and written under the database's
/// monitor.
final class CheckpointCut {
    let sequence: UInt64
    let snapshot: Snapshot
    /// The families in the cut, in id order (dropped ones leave).
    var order: [UInt32]
    /// Pinned family states.
    var pinned: [UInt32: ColumnFamilyState] = [:]
    /// Families whose target memtable is not flushed yet.
    var waiting: [(family: ColumnFamilyData, table: MemTable)]

    init(sequence: UInt64, snapshot: Snapshot, order: [UInt32], waiting: [(family: ColumnFamilyData, table: MemTable)]) {
        self.sequence = sequence
        self.snapshot = snapshot
        self.order = order
        self.waiting = waiting
    }
}

extension Database {
    /// The first step of a flush-mode checkpoint: fixes the cut at the last
    /// sequence number and switches memtables; returns at once (the flushes
    /// run in the background). Writes after it are not in the cut. Throws
    /// `.closed` on a closed database and what a memtable switch throws
    /// (background error).
    func beginCheckpointCut() throws -> CheckpointCut {
        try checkOpen()
        return try monitor.withLock { () throws -> CheckpointCut in
            try atWriterQueueHead {
                snapshots.add(versions.lastSequence)
                let snapshot = Snapshot(sequence: versions.lastSequence, list: snapshots)
                var waiting: [(family: ColumnFamilyData, table: MemTable)] = []
                for family in familyList where !family.dropped {
                    if !family.mem.isEmpty { try makeRoomForWrite(force: family, noSlowdown: false) }
                    if let newest = family.imm.last?.table { waiting.append((family, newest)) }
                }
                let families = versions.columnFamilies
                let cut = CheckpointCut(sequence: snapshot.sequence, snapshot: snapshot, order: families.map(\.id),
                                        waiting: waiting)
                for state in families where !waiting.contains(where: { $0.family.id == state.id }) {
                    cut.pinned[state.id] = state
                }
                if !waiting.isEmpty {
                    pendingCuts.append(cut)
                    maybeScheduleWork()
                }
                return cut
            }
        }
    }

    /// The second step: waits until every family of `cut` is pinned and
    /// returns the capture a checkpoint is written from. Throws the
    /// background error if a flush failed, `.closed` if the database closes
    /// meanwhile.
    func finishCheckpointCut(_ cut: CheckpointCut) throws -> CheckpointCapture {
        try monitor.withLock { () throws -> CheckpointCapture in
            while !cut.waiting.isEmpty, backgroundError == nil, !shuttingDown {
                // A family dropped meanwhile leaves the cut.
                for (family, _) in cut.waiting where family.dropped {
                    cut.order.removeAll { $0 == family.id }
                }
                cut.waiting.removeAll { $0.family.dropped }
                if cut.waiting.isEmpty { break }
                monitor.wait()
            }
            pendingCuts.removeAll { $0 === cut }
            if let backgroundError { throw backgroundError }
            if shuttingDown { throw StrataError(.closed, "database \(path) is closing") }
            let live = Set(familyList.filter { !$0.dropped }.map(\.id))
            let families = cut.order.filter { live.contains($0) }.compactMap { cut.pinned[$0] }
            return CheckpointCapture(database: self, sequence: cut.sequence, snapshot: cut.snapshot, families: families,
                                     wals: [], manifestNumber: versions.newFileNumber(),
                                     nextFileNumber: versions.nextFileNumber,
                                     maxColumnFamily: versions.newColumnFamilyID() - 1)
        }
    }

    /// Pins the family in every pending cut whose target is `table`, which
    /// was just flushed and installed. Caller holds the monitor (the flush's
    /// success path, before any later memtable of the family can flush).
    func pinCheckpointCuts(flushed table: MemTable, family: ColumnFamilyData) {
        guard let state = versions.columnFamilies.first(where: { $0.id == family.id }) else { return }
        for cut in pendingCuts where cut.waiting.contains(where: { $0.table === table }) {
            cut.pinned[family.id] = state
            cut.waiting.removeAll { $0.table === table }
        }
        pendingCuts.removeAll { $0.waiting.isEmpty }
    }
}
