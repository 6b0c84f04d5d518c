import Strata

extension FuzzTargets {
    /// MANIFEST replay (`VersionSet.recover`, spec section 13): the input is
    /// a MANIFEST file, its record checksums recomputed so mutations reach
    /// the edits. The harness makes the directory around it — CURRENT naming
    /// it, and a file of the recorded size for every table it lists (up to
    /// 64 KiB), so replay gets past the existence check into building the
    /// versions (levels, overlaps, column families, atomic groups, counters).
    /// Property: a MANIFEST that replays is rewritten (each open starts a
    /// new one) into one that replays to the same state.
    public static func manifest(_ data: UnsafeRawBufferPointer) {
        let bytes = withRepairedChecksums(Array(data))
        let fs = MemoryFileSystem()
        do {
            try fs.createDirectory("/db")
            try write(fs, "/db/CURRENT", Array("MANIFEST-000001\n".utf8))
            try write(fs, "/db/MANIFEST-000001", bytes)
            let reader = LogReader(file: BytesFile(path: "MANIFEST", bytes: bytes))
            var made = Set<UInt64>()
            while let record = try? reader.next() {
                guard let edit = try? VersionEdit.decode(record) else { continue }
                for (_, file) in edit.newFiles where file.fileSize <= 1 << 16 && made.insert(file.number).inserted {
                    try write(fs, Path.join("/db", DBFileName.table(file.number)),
                              [UInt8](repeating: 0, count: Int(file.fileSize)))
                }
            }
        } catch {
            return fuzzCheck(false, "setting up the directory failed: \(error)")
        }
        guard let first = try? VersionSet.recover(directory: "/db", fileSystem: fs) else { return }
        let state = describe(first)
        try? first.close()
        do {
            let second = try VersionSet.recover(directory: "/db", fileSystem: fs)
            let again = describe(second)
            fuzzCheck(again == state, "state changes through a MANIFEST rewrite:\n\(state)\n---\n\(again)")
            try? second.close()
        } catch {
            fuzzCheck(false, "the MANIFEST written at recovery does not replay: \(error)\n\(state)")
        }
    }

    static func write(_ fs: MemoryFileSystem, _ path: String, _ bytes: [UInt8]) throws {
        let file = try fs.createWritable(path)
        try file.append(bytes)
        try file.close()
    }

    /// Everything a replay recovers, as text (file numbers per level and
    /// their key ranges, per family; counters).
    static func describe(_ set: VersionSet) -> String {
        var lines = ["last sequence \(set.lastSequence), min log \(set.minLogNumberToKeep)"]
        for family in set.columnFamilies {
            lines.append("family \(family.id) \(family.name) log \(family.logNumber)")
            for (level, files) in family.version.levels.enumerated() where !files.isEmpty {
                let list = files.map { f in
                    "\(f.number):\(f.fileSize):\(f.meta.smallest):\(f.meta.largest):\(f.meta.smallestSequence)-\(f.meta.largestSequence)"
                }
                lines.append("  L\(level) " + list.joined(separator: " "))
            }
        }
        return lines.joined(separator: "\n")
    }
}
