/// What a read needs, captured at one moment: the active memtable, the
/// immutable memtables (newest first) and the current version. Readers take
/// one under the database lock and then read without locks; holding it pins
/// the memtables and the version's files.
///
/// Thread safety: immutable.
final class SuperVersion: Sendable {
    let mem: MemTable
    let imm: [MemTable]
    let version: Version
    /// The range tombstones of `imm` and of every table of `version`,
    /// fragmented together on first use: they never change for this super
    /// version, so iterators share one list instead of fragmenting per iterator.
    private let fixedTombstones = Locked<RangeTombstoneList?>(nil)

    /// See `fixedTombstones`. Opens (through the cache) every table once.
    func fixedRangeTombstones(_ tables: TableCache) throws -> RangeTombstoneList {
        if let list = fixedTombstones.withLock({ $0 }) { return list }
        var all: [(begin: [UInt8], end: [UInt8])] = []
        for table in imm { all += table.rangeTombstones() }
        for level in version.levels {
            for file in level { all += try tables.table(file).rangeTombstones }
        }
        let list = all.isEmpty ? RangeTombstoneList.empty : RangeTombstoneList(internalTombstones: all)
        fixedTombstones.withLock { $0 = list }
        return list
    }

    init(mem: MemTable, imm: [MemTable], version: Version) {
        self.mem = mem
        self.imm = imm
        self.version = version
    }
}
