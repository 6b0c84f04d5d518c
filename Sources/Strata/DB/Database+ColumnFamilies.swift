/// Creating, finding and dropping column families (RocksDB
/// `CreateColumnFamily` / `DropColumnFamily`; MANIFEST records
/// kColumnFamilyAdd 201 and kColumnFamilyDrop 202, see docs/column-families.md).
extension Database {
    /// The default column family ("default", id 0): the one the `Database`
    /// methods read and write.
    public var defaultColumnFamily: ColumnFamily { ColumnFamily(database: self, data: defaultFamily) }

    /// The names of the live column families, "default" first, then in
    /// creation (id) order. Thread-safe.
    public var columnFamilyNames: [String] {
        monitor.withLock { familyList.map(\.name) }
    }

    /// The live column family called `name`, or nil if there is none (never
    /// created, or dropped). Thread-safe; each call returns a new handle to
    /// the same family.
    public func columnFamily(named name: String) -> ColumnFamily? {
        monitor.withLock { familyList.first { $0.name == name } }.map { ColumnFamily(database: self, data: $0) }
    }

    /// Creates a column family called `name` and returns it. With `options`
    /// nil, the family's options come from `Options.columnFamilyOptions[name]`,
    /// else from the default family's settings. The creation is durable on
    /// return (a synced MANIFEST record); the family is then reopened with
    /// the database.
    ///
    /// Throws `.invalidArgument` if a live family has that name, the name
    /// is empty or an option is out of range (`ColumnFamilyOptions.validate`), `.closed` after `close`, `.ioError` if the MANIFEST write
    /// fails (later writes then fail too). Thread-safe; creations and drops
    /// are serialized.
    @discardableResult
    public func createColumnFamily(named name: String, options familyOptions: ColumnFamilyOptions? = nil) throws
        -> ColumnFamily
    {
        try checkOpen()
        guard !name.isEmpty else { throw StrataError.invalidArgument("column family name must not be empty") }
        if let familyOptions { try ColumnFamilyOptions.checkWritable(formatVersion: familyOptions.formatVersion, family: name) }
        try familyOptions?.validate(family: name)
        guard !name.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") }) else {
            throw StrataError.invalidArgument(
                "column family name \(name.debugDescription) holds a control character or a quote")
        }
        let data: ColumnFamilyData = try familyChanges.withLock { _ in
            let logNumber: UInt64 = try monitor.withLock {
                if let backgroundError { throw backgroundError }
                if familyList.contains(where: { $0.name == name }) {
                    throw StrataError.invalidArgument("column family \(name) already exists")
                }
                return walNumber
            }
            let id = versions.newColumnFamilyID()
            var edit = VersionEdit()
            edit.columnFamily = id
            edit.columnFamilyAdd = name
            edit.comparator = Bytewise.name
            edit.logNumber = logNumber
            try logFamilyEdit(edit)
            let effective = options.applying(familyOptions ?? options.familyOptions(named: name))
            let data = ColumnFamilyData(
                id: id, name: name, options: effective,
                tableOptions: Database.tableOptions(effective, base: defaultFamily.tableOptions),
                logNumber: logNumber, version: versions.current(columnFamily: id) ?? .empty, memory: memory)
            monitor.withLock {
                families[id] = data
                familyList.append(data)
                familyList.sort { $0.id < $1.id }
            }
            writeOptionsFile()
            return data
        }
        return ColumnFamily(database: self, data: data)
    }

    /// Drops the column family called `name`: a synced MANIFEST record
    /// (kColumnFamilyDrop) removes it, its memtables are discarded, and its
    /// table files are deleted once no reader (iterator, get in progress)
    /// still uses them. Running flushes and compactions of the family finish
    /// or stop first. Afterwards writes naming the family (also batches built
    /// earlier) and reads through its handles throw `.invalidArgument`.
    ///
    /// Throws `.invalidArgument` for "default" or a name with no live
    /// family, `.ioError` if the MANIFEST write fails. Thread-safe.
    public func dropColumnFamily(named name: String) throws {
        try checkOpen()
        guard name != "default" else { throw StrataError.invalidArgument("can't drop the default column family") }
        try familyChanges.withLock { _ in
            let family: ColumnFamilyData = try monitor.withLock {
                if let backgroundError { throw backgroundError }
                guard let family = familyList.first(where: { $0.name == name }) else {
                    throw StrataError.invalidArgument("column family \(name) does not exist")
                }
                family.dropped = true
                backgroundWorkDone += 1
                monitor.broadcast()
                while family.flushRunning || family.compactionRunning { monitor.wait() }
                return family
            }
            var edit = VersionEdit()
            edit.columnFamily = family.id
            edit.columnFamilyDrop = true
            do {
                try logFamilyEdit(edit)
            } catch {
                monitor.withLock {
                    family.dropped = false
                    monitor.broadcast()
                }
                throw error
            }
            monitor.withLock {
                families[family.id] = nil
                familyList.removeAll { $0 === family }
                family.imm.removeAll()
                family.mem = family.makeMemTable()
                family.current = SuperVersion(mem: family.mem, imm: [], version: .empty)
                // Writers stalled on this family's memtables or L0 look again.
                backgroundWorkDone += 1
                monitor.broadcast()
            }
            writeOptionsFile()
        }
        deleteObsoleteFiles()
    }

    /// Appends a family's add or drop record to the MANIFEST. A failed
    /// MANIFEST write becomes the background error (the MANIFEST may end in
    /// a torn record, so nothing more may be appended until a reopen).
    private func logFamilyEdit(_ edit: VersionEdit) throws {
        do {
            try versions.logAndApply([edit])
        } catch {
            recordBackgroundError(error, reason: .manifestWrite)
            throw error
        }
    }

    /// The live family with this id, or nil. Caller holds `monitor`.
    func family(id: UInt32) -> ColumnFamilyData? { families[id] }

    /// Throws `.invalidArgument` unless every column family `batch` names is
    /// live and, for merges, has a merge operator.
    func checkFamilies(of batch: WriteBatch) throws {
        guard batch.usesColumnFamilies else {
            if !defaultFamily.hasMergeOperator {
                var hasMerge = false
                try batch.forEach { op in if op.type == .merge { hasMerge = true } }
                if hasMerge {
                    throw StrataError.invalidArgument("merge needs a merge operator (Options.mergeOperator is nil)")
                }
            }
            return
        }
        var merges = Set<UInt32>()
        var named = Set<UInt32>()
        try batch.forEach { op in
            named.insert(op.columnFamily)
            if op.type == .merge { merges.insert(op.columnFamily) }
        }
        try monitor.withLock {
            for id in named.sorted() {
                guard let family = families[id], !family.dropped else {
                    throw StrataError.invalidArgument(
                        "write batch names column family id \(id), which does not exist (dropped or never created)")
                }
                if merges.contains(id) && !family.hasMergeOperator {
                    throw StrataError.invalidArgument(
                        "merge needs a merge operator (column family \(family.name) has none)")
                }
            }
        }
    }
}
