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
        // R-Amp counters, added once per lookup.
        var probed: UInt64 = 0
        var useful: UInt64 = 0
        defer {
            stats.gets.add(1, ordering: .relaxed)
            if probed > 0 {
                stats.filesProbed.add(probed, ordering: .relaxed)
                stats.bloomUseful.add(useful, ordering: .relaxed)
            }
        }
        try key.withUnsafeBytes { userKey in
            // The mutable memtable, then the immutable ones newest first (no
            // array built per lookup).
            func probe(_ table: MemTable) -> Bool {
                state.coveringTombstone = max(state.coveringTombstone,
                                              table.rangeTombstoneList.maxCoveringSequence(userKey, snapshot: snapshot))
                table.get(userKey: userKey, sequence: snapshot) { k, v in state.add(k, v) }
                return state.isDone
            }
            if probe(sv.mem) { return }
            for table in sv.imm where probe(table) { return }
            try sv.version.forEachFileForLookup(userKey) { file in
                let table = try tableCache.table(file.number)
                if !table.rangeTombstones.isEmpty {
                    state.coveringTombstone = max(state.coveringTombstone,
                                                  table.rangeTombstoneList.maxCoveringSequence(userKey, snapshot: snapshot))
                }
                probed += 1
                if try !table.get(userKey: userKey, sequence: snapshot, { k, v in state.add(k, v) }) { useful += 1 }
                return !state.isDone
            }
            if !state.isDone { state.finish() }
        }
        return try state.result(userKey: key, mergeOperator: family.options.mergeOperator)
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
            children.append(try tableCache.table(file.number).makeIterator())
        }
        for level in 1..<sv.version.levels.count where !sv.version.levels[level].isEmpty {
            children.append(LevelIterator(files: sv.version.levels[level], tables: tableCache))
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
