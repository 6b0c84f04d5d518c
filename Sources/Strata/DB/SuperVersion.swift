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

    init(mem: MemTable, imm: [MemTable], version: Version) {
        self.mem = mem
        self.imm = imm
        self.version = version
    }
}
