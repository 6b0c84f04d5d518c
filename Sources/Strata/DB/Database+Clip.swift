/// Dropping whole table files by key range (RocksDB `DeleteFilesInRanges`,
/// db/db_impl/db_impl.cc) and clipping a column family to a set of key
/// ranges (RocksDB `ClipColumnFamily`, generalized to several ranges;
/// docs/ingestion.md). The building blocks of rescaling a stream job: a
/// new partition's state starts from the old partitions' linked tables,
/// clipped to its key groups without re-inserting a key.
extension Database {
    /// Drops, in one MANIFEST record, every table file of the default
    /// family whose whole key range lies inside one of `ranges` — RocksDB's
    /// `DeleteFilesInRanges`. No file is read or written; the dropped
    /// files are deleted once no iterator or snapshot read pins them.
    ///
    /// `ranges` are [begin, end) (with `includeEnd`, [begin, end]; RocksDB's
    /// `include_end`, which defaults to true there) and must be sorted and
    /// disjoint, each non-empty and only the last unbounded; otherwise
    /// `.invalidArgument` names the offending range, its index and bytes.
    ///
    /// Which files go, as RocksDB decides: in each level ≥ 1, the files
    /// inside a range, less the ones at the range's edges that share a
    /// boundary user key with a neighbour outside it (the cut stays clean:
    /// no key's versions are split between a dropped and a kept file), and
    /// less files a running compaction reads (none during a manual
    /// compaction of the family). RocksDB never drops L0 files here; Strata
    /// drops an L0 file inside a range only when no older file that stays
    /// overlaps its key range, so dropping it cannot bring back an older
    /// version of one of its keys.
    ///
    /// This is not a deletion: keys in the ranges that live in memtables
    /// or in files reaching outside the ranges stay, and where a dropped
    /// file of a level ≥ 1 hid older versions in a deeper level, those
    /// become visible again. Follow it with `deleteRange` (or use
    /// `clip(keeping:)`) for a defined result. Snapshots: like RocksDB's,
    /// it drops data snapshots taken before the call may still read —
    /// such a snapshot no longer sees keys of the ranges consistently.
    ///
    /// Durability: on return the MANIFEST record is synced. Thread-safe;
    /// throws `.closed`, `.invalidArgument`, `.ioError` (a failed MANIFEST
    /// write, which stops the database as any background error does).
    public func deleteFilesInRanges(_ ranges: [KeyRange], includeEnd: Bool = false) throws {
        try deleteFilesInRanges(ranges, includeEnd: includeEnd, family: defaultFamily)
    }

    /// Removes every key of the default family outside `ranges`, so that
    /// afterwards it holds exactly the keys inside them — RocksDB's
    /// `ClipColumnFamily(begin, end)` for a sorted set of disjoint ranges,
    /// each [begin, end) (`end` nil: unbounded). An empty list removes
    /// every key. Keys are never read and re-inserted:
    ///
    /// 1. the memtable is flushed;
    /// 2. the files wholly outside the ranges are dropped without being
    ///    read (`deleteFilesInRanges` on the gaps between the ranges: from
    ///    the empty key to the first range, between ranges that do not
    ///    touch, and from the last range's end on);
    /// 3. each gap that still holds data — a table reaching into it has an
    ///    entry or range tombstone there (one seek per such table) — gets
    ///    a range tombstone (the unbounded last one up to just past the
    ///    largest key of those tables) and is compacted (`compactRange` of the gap; under
    ///    universal compaction, one `compactRange` of everything, which is
    ///    what a universal manual compaction does), so the files
    ///    straddling a range's edge are rewritten and the tombstones and
    ///    the keys they cover are gone from disk.
    ///
    /// Afterwards every table's key range starts and ends inside the kept
    /// ranges (a table may still span several of them) — unless a live
    /// snapshot older than the tombstones needs entries in a gap: then
    /// the compaction keeps those (and the tombstones) until a later
    /// compaction after the snapshot's release (calling `clip` again does
    /// it). Reads of the kept ranges are unaffected, at any snapshot; reads
    /// of the gaps through a snapshot taken before the call may see some of
    /// their keys and miss others (the dropped files, as
    /// `deleteFilesInRanges`). Writes into a gap made while `clip` runs may
    /// survive it. A failure part-way leaves a database in which every
    /// kept key is intact and some gap keys may be gone; calling `clip`
    /// again finishes the job.
    ///
    /// Throws `.invalidArgument` for ranges that are not sorted, disjoint
    /// and non-empty (naming the range: index and bytes in hex), and what
    /// `flush`, `write` and `compactRange` throw. Thread-safe; durable on
    /// return (the compaction's MANIFEST records are synced).
    public func clip(keeping ranges: [KeyRange]) throws {
        try clip(keeping: ranges, family: defaultFamily)
    }

    // MARK: Per family

    /// `deleteFilesInRanges` for one family.
    func deleteFilesInRanges(_ ranges: [KeyRange], includeEnd: Bool, family: ColumnFamilyData) throws {
        try checkOpen()
        try KeyRange.validate(ranges, includeEnd: includeEnd, what: "range")
        _ = try dropFiles(in: ranges, includeEnd: includeEnd, family: family)
    }

    /// Drops the files `deleteFilesInRanges` describes; returns their
    /// numbers (empty: nothing qualified, nothing was written).
    @discardableResult
    func dropFiles(in ranges: [KeyRange], includeEnd: Bool, family: ColumnFamilyData) throws -> [UInt64] {
        guard !ranges.isEmpty else { return [] }
        let dropped: [UInt64] = try monitor.withLock {
            if family.dropped { throw StrataError.invalidArgument("column family \(family.name) was dropped") }
            if shuttingDown { throw StrataError(.closed, "database \(path) is closing") }
            // A manual compaction does not list its inputs: while one runs,
            // every file may be one of them.
            if family.manualCompactionRunning { return [] }
            guard let version = versions.current(columnFamily: family.id) else { return [] }
            let busy = family.filesBeingCompacted
            var edit = VersionEdit()
            edit.columnFamily = family.id
            var gone = Set<UInt64>()
            for level in 1..<version.levels.count where !version.levels[level].isEmpty {
                for range in ranges {
                    for f in Self.cleanFilesWithin(range, includeEnd: includeEnd, files: version.levels[level])
                    where !busy.contains(f.number) && !gone.contains(f.number) {
                        edit.deletedFiles.append((level, f.number))
                        gone.insert(f.number)
                    }
                }
            }
            // L0, oldest first: a file goes only if no older file that
            // stays overlaps it (the deeper levels are all older than L0).
            let l0 = version.levels[0]
            for (i, f) in l0.enumerated().reversed() where !busy.contains(f.number) {
                guard ranges.contains(where: { Self.range($0, holds: f.meta, includeEnd: includeEnd) }) else { continue }
                let olderStays = l0[(i + 1)...].contains { !gone.contains($0.number) && Self.overlap($0.meta, f.meta) }
                    || version.levels.dropFirst().joined().contains {
                        !gone.contains($0.number) && Self.overlap($0.meta, f.meta)
                    }
                if olderStays { continue }
                edit.deletedFiles.append((0, f.number))
                gone.insert(f.number)
            }
            if edit.deletedFiles.isEmpty { return [] }
            do {
                try versions.logAndApply([edit])
            } catch let error as StrataError where error.kind == .ioError {
                recordBackgroundErrorLocked(error, reason: .manifestWrite)
                throw error
            }
            installSuperVersion(family)
            backgroundWorkDone += 1
            maybeScheduleWork()
            monitor.broadcast()
            return edit.deletedFiles.map(\.1)
        }
        if !dropped.isEmpty { deleteObsoleteFiles() }
        return dropped
    }

    /// `clip(keeping:)` for one family.
    func clip(keeping ranges: [KeyRange], family: ColumnFamilyData) throws {
        try checkOpen()
        try KeyRange.validate(ranges, includeEnd: false, what: "kept range")
        let gaps = KeyRange.complement(of: ranges)
        try flush(family: family)
        try dropFiles(in: gaps, includeEnd: false, family: family)
        if family.isUniversal {
            // One batch and one compaction: a universal manual compaction
            // merges every file anyway.
            var batch = WriteBatch()
            for gap in gaps {
                if let end = try tombstoneEnd(gap, family: family) {
                    batch.append(.rangeDeletion, columnFamily: family.id, key: gap.begin, value: end)
                }
            }
            guard !batch.isEmpty else { return }
            try write(batch)
            try compactRange(from: nil, to: nil, family: family)
            return
        }
        // Leveled: one gap at a time, so the flushed tombstone's L0 file
        // spans one gap, not the hull of all of them (which would pull
        // every file in between into the compaction).
        for gap in gaps {
            guard let end = try tombstoneEnd(gap, family: family) else { continue }
            var batch = WriteBatch()
            batch.append(.rangeDeletion, columnFamily: family.id, key: gap.begin, value: end)
            try write(batch)
            // compactRange's end is inclusive: the kept range's first key
            // is compacted too, which only costs a rewrite of a file that
            // starts exactly there.
            try compactRange(from: gap.begin.isEmpty ? nil : gap.begin, to: gap.end, family: family)
        }
    }

    /// The end of the range tombstone that clears `gap`, or nil if no
    /// table of `family` holds an entry or range tombstone in it: the gap's
    /// end, or for the unbounded last gap, the largest user key of those
    /// tables plus a zero byte (the first key after it).
    private func tombstoneEnd(_ gap: KeyRange, family: ColumnFamilyData) throws -> [UInt8]? {
        guard let version = versions.current(columnFamily: family.id) else { return nil }
        var largest: [UInt8]? = nil
        for f in version.allFiles where Self.reaches(f.meta, into: gap) {
            // A table spanning a gap (two kept ranges around it) may have
            // nothing in it — then it needs no rewrite. Its index says so.
            guard try tableHasData(f, in: gap) else { continue }
            if gap.end != nil { return gap.end }
            let key = f.meta.largestUserKey
            if largest.map({ Bytewise.compare(key, $0) > 0 }) ?? true { largest = key }
        }
        return largest.map { $0 + [0] }
    }

    /// True if `file` has an entry (of any kind) or a range tombstone
    /// reaching into `gap`: one seek, which reads an index and a data block.
    private func tableHasData(_ file: TableFile, in gap: KeyRange) throws -> Bool {
        let table = try file.reader(tableCache)
        for t in table.rangeTombstones {
            let begin = Array(t.begin.dropLast(8))
            if Bytewise.compare(t.end, gap.begin) > 0 && gap.end.map({ Bytewise.compare(begin, $0) < 0 }) ?? true {
                return true
            }
        }
        let it = table.makeIterator(fillCache: false)
        InternalKey.seekKey(gap.begin).withUnsafeBytes { it.seek($0) }
        if let error = it.error { throw error }
        guard it.isValid else { return false }
        guard let end = gap.end else { return true }
        return end.withUnsafeBytes { Bytewise.compare(InternalKey.userKey(it.key), $0) < 0 }
    }

    // MARK: Key-range tests on file metadata

    /// RocksDB `GetCleanInputsWithinInterval` + the `include_end` check:
    /// the files of one sorted level ≥ 1 inside `range`, less those at its
    /// edges whose boundary user key a neighbouring file outside shares.
    static func cleanFilesWithin(_ range: KeyRange, includeEnd: Bool, files: [TableFile]) -> ArraySlice<TableFile> {
        // Sorted and disjoint: the files starting at or after `begin` are a
        // suffix, those ending at or before `end` a prefix.
        var start = files.firstIndex { Bytewise.compare($0.meta.smallestUserKey, range.begin) >= 0 } ?? files.count
        var stop = files.count
        if let end = range.end {
            stop = files.firstIndex { Bytewise.compare($0.meta.largestUserKey, end) > 0 } ?? files.count
        }
        if start >= stop { return [] }
        while start > 0 && start < stop && sharesBoundary(files[start - 1].meta.largest, files[start].meta.smallest) {
            start += 1
        }
        while stop < files.count && stop > start && sharesBoundary(files[stop - 1].meta.largest, files[stop].meta.smallest) {
            stop -= 1
        }
        var within = files[start..<stop]
        // RocksDB skips a file ending at `end` unless `include_end` (also
        // when that end is a tombstone's exclusive bound).
        if !includeEnd, let end = range.end, let last = within.last, Bytewise.compare(last.meta.largestUserKey, end) == 0 {
            within = within.dropLast()
        }
        return within
    }

    /// RocksDB `sstableKeyCompare(a, b) == 0` for a file's largest key and
    /// the next file's smallest: the same user key, and not one of them an
    /// exclusive range-tombstone end (which does not hold the key).
    static func sharesBoundary(_ largest: [UInt8], _ smallest: [UInt8]) -> Bool {
        guard Bytewise.compare(Array(largest.dropLast(8)), Array(smallest.dropLast(8))) == 0 else { return false }
        let a = largest.withUnsafeBytes { FileMetaData.isExclusiveEnd($0) }
        let b = smallest.withUnsafeBytes { FileMetaData.isExclusiveEnd($0) }
        return a == b
    }

    /// True if the whole key range of `file` lies in `range` (a file
    /// ending at `end` only with `includeEnd`, as `cleanFilesWithin`).
    static func range(_ range: KeyRange, holds file: FileMetaData, includeEnd: Bool) -> Bool {
        guard Bytewise.compare(file.smallestUserKey, range.begin) >= 0 else { return false }
        guard let end = range.end else { return true }
        let c = Bytewise.compare(file.largestUserKey, end)
        return c < 0 || (includeEnd && c == 0)
    }

    /// True if the user-key ranges of two files meet (ends inclusive).
    static func overlap(_ a: FileMetaData, _ b: FileMetaData) -> Bool {
        Bytewise.compare(a.smallestUserKey, b.largestUserKey) <= 0 && Bytewise.compare(b.smallestUserKey, a.largestUserKey) <= 0
    }

    /// True if `file` may hold a key of `gap` ([begin, end)): it starts
    /// before the gap's end and ends at or after its begin (an exclusive
    /// tombstone end at `begin` holds nothing of it).
    static func reaches(_ file: FileMetaData, into gap: KeyRange) -> Bool {
        if let end = gap.end, Bytewise.compare(file.smallestUserKey, end) >= 0 { return false }
        let c = Bytewise.compare(file.largestUserKey, gap.begin)
        return c > 0 || (c == 0 && !file.largestIsExclusive)
    }
}
