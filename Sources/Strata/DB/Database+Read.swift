/// Point lookups and iterator construction.
extension Database {
    /// The value of `key`, or nil if it is absent or deleted, as of
    /// `options.snapshot` (or now). Merge operands are combined with the
    /// merge operator. Throws `.corruption` (naming the file and offset) if a
    /// block read on the way fails its checksum.
    /// Reads the default column family (see `ColumnFamily.get`).
    public func get(_ key: [UInt8], options: ReadOptions = ReadOptions()) throws -> [UInt8]? {
        try get(key, options: options, family: defaultFamily)
    }

    /// `get` in one family.
    func get(_ key: [UInt8], options: ReadOptions, family: ColumnFamilyData) throws -> [UInt8]? {
        try checkOpen()
        let sv = try superVersion(family)
        let snapshot = options.snapshot?.sequence ?? versions.lastSequence
        var state = LookupState(snapshot: snapshot)
        // R-Amp counters: gathered per level in locals, added once per
        // level touched, and one histogram bucket per lookup.
        var probed: UInt64 = 0
        defer { stats.countGet(filesProbed: Int(probed)) }
        try key.withUnsafeBytes { userKey in
            // The mutable memtable, then the immutable ones newest first (no
            // array built per lookup).
            if probe(sv.mem, userKey, snapshot: snapshot, state: &state) { return }
            for table in sv.imm where probe(table, userKey, snapshot: snapshot, state: &state) { return }
            // L0 files overlapping the key, newest first, then at most one
            // file per deeper level.
            let version = sv.version
            for level in 0..<version.levels.count {
                var counts = LevelProbeCounts()
                defer {
                    if counts.probes > 0 {
                        stats.levelReads[level].add(counts)
                        probed += counts.probes
                    }
                }
                if level == 0 {
                    for file in version.levels[0] where version.overlaps(file, userKey) {
                        if try probe(file, userKey, snapshot: snapshot, fillCache: options.fillCache, state: &state,
                                     counts: &counts) { return }
                    }
                } else if let file = version.findFile(level: level, userKey: userKey) {
                    if try probe(file, userKey, snapshot: snapshot, fillCache: options.fillCache, state: &state,
                                 counts: &counts) { return }
                }
            }
            state.finish()
        }
        return try state.result(userKey: key, mergeOperator: family.options.mergeOperator)
    }

    /// Looks for `userKey` in one memtable; true once the key is resolved.
    @inline(__always)
    private func probe(_ table: MemTable, _ userKey: UnsafeRawBufferPointer, snapshot: UInt64,
                       state: inout LookupState) -> Bool {
        state.coveringTombstone = max(state.coveringTombstone,
                                      table.rangeTombstoneList.maxCoveringSequence(userKey, snapshot: snapshot))
        table.get(userKey: userKey, sequence: snapshot) { k, v in state.add(k, v) }
        return state.isDone
    }

    /// Looks for `userKey` in one table, counting the probe, the filter's
    /// verdict and the blocks read in `counts`; true once the key is
    /// resolved. (A method with `inout` parameters, not a nested function
    /// capturing `state`: a capture would cost dynamic exclusivity checks
    /// on every access.)
    @inline(__always)
    private func probe(_ file: TableFile, _ userKey: UnsafeRawBufferPointer, snapshot: UInt64, fillCache: Bool,
                       state: inout LookupState, counts: inout LevelProbeCounts) throws -> Bool {
        let table = try file.reader(tableCache)
        if !table.rangeTombstones.isEmpty {
            state.coveringTombstone = max(state.coveringTombstone,
                                          table.rangeTombstoneList.maxCoveringSequence(userKey, snapshot: snapshot))
        }
        counts.probes += 1
        var matched = false
        if try !table.get(userKey: userKey, sequence: snapshot, fillCache: fillCache, reads: &counts.reads, { k, v in
            matched = true
            return state.add(k, v)
        }) {
            counts.bloomUseful += 1
        } else if matched {
            counts.bloomTruePositives += 1
        }
        return state.isDone
    }

    /// An iterator over the database as of `options.snapshot` (or now),
    /// within `options.lowerBound` / `upperBound`. It pins the memtables and
    /// files it reads; it does not see writes made after it was created.
    /// Iterates the default column family (see `ColumnFamily.makeIterator`).
    public func makeIterator(options: ReadOptions = ReadOptions()) throws -> DBIterator {
        try makeIterator(options: options, family: defaultFamily)
    }

    /// `makeIterator` over one family.
    func makeIterator(options: ReadOptions, family: ColumnFamilyData) throws -> DBIterator {
        try checkOpen()
        let sv = try superVersion(family)
        let snapshot = options.snapshot?.sequence ?? versions.lastSequence
        var children: [any InternalIterator] = []
        children.append(sv.mem.makeIterator())
        for table in sv.imm { children.append(table.makeIterator()) }
        for file in sv.version.levels[0] {
            children.append(try file.reader(tableCache).makeIterator(fillCache: options.fillCache))
        }
        for level in 1..<sv.version.levels.count where !sv.version.levels[level].isEmpty {
            children.append(LevelIterator(files: sv.version.levels[level], tables: tableCache, fillCache: options.fillCache))
        }
        // Range tombstones: the mutable memtable's (cached until it gets a
        // new one) and those of the immutable memtables and every table
        // (fragmented once per super version, not per iterator).
        let tombstones = [sv.mem.fragmentedRangeTombstones, try sv.fixedRangeTombstones(tableCache)].filter { !$0.isEmpty }
        return DBIterator(
            input: MergingIterator(children: children), snapshot: snapshot,
            tombstones: tombstones,
            lowerBound: options.lowerBound, upperBound: options.upperBound,
            mergeOperator: family.options.mergeOperator, pin: sv, snapshotHandle: options.snapshot)
    }
}

extension TableReader {
    /// The table's range tombstones, fragmented for lookups (made at open).
    var rangeTombstoneList: RangeTombstoneList { fragmentedRangeTombstones }
}

extension MemTable {
    /// The memtable's range tombstones, fragmented for lookups (cached).
    var rangeTombstoneList: RangeTombstoneList { fragmentedRangeTombstones }
}
