/// Applies version edits to a base version to produce the next one
/// (LevelDB/RocksDB `VersionBuilder`).
///
/// A file deleted and re-added by the same edit sequence (a trivial move to
/// another level) keeps its `TableFile`, so it is not deleted from disk.
/// Files that leave the LSM are returned by `removedFiles` for the caller to
/// mark obsolete once the new version is installed.
struct VersionBuilder {
    private var levels: [[UInt64: TableFile]]
    private var known: [UInt64: TableFile] = [:]
    private let makeFile: (FileMetaData) -> TableFile

    init(base: Version, makeFile: @escaping (FileMetaData) -> TableFile) {
        levels = base.levels.map { files in Dictionary(uniqueKeysWithValues: files.map { ($0.number, $0) }) }
        while levels.count < Version.levelCount { levels.append([:]) }
        for file in base.allFiles { known[file.number] = file }
        self.makeFile = makeFile
    }

    /// Applies one edit. Throws `.corruption` if it names a level out of range.
    mutating func apply(_ edit: VersionEdit) throws(StrataError) {
        for (level, number) in edit.deletedFiles {
            guard level < levels.count else { throw .corruption("VersionEdit deletes a file from level \(level)") }
            levels[level][number] = nil
        }
        for (level, meta) in edit.newFiles {
            guard level < levels.count else { throw .corruption("VersionEdit adds file \(meta.number) to level \(level)") }
            let file = known[meta.number].flatMap { $0.meta == meta || $0.meta.fileSize == meta.fileSize ? $0 : nil }
                ?? makeFile(meta)
            known[meta.number] = file
            levels[level][meta.number] = file
        }
    }

    /// The resulting version. Checks that no file's smallest user key is
    /// after its largest and that levels ≥ 1 do not overlap.
    func build() throws(StrataError) -> Version {
        let version = Version(levels: levels.map { Array($0.values) })
        for (level, files) in version.levels.enumerated() {
            for file in files where Bytewise.compare(file.meta.smallestUserKey, file.meta.largestUserKey) > 0 {
                throw .corruption("L\(level) file \(file.number): smallest key is after its largest key")
            }
        }
        for level in 1..<version.levels.count {
            let files = version.levels[level]
            for i in files.indices.dropFirst() {
                let previous = files[i - 1].meta.largestUserKey
                let next = files[i].meta.smallestUserKey
                // A file may end exactly where the next begins when its end
                // is an exclusive range-tombstone bound.
                let c = Bytewise.compare(previous, next)
                if c > 0 || (c == 0 && !files[i - 1].meta.largestIsExclusive) {
                    throw .corruption(
                        "L\(level) has overlapping ranges: file \(files[i - 1].number) ends at or after file \(files[i].number) begins")
                }
            }
        }
        return version
    }

    /// Files of `base` that are in no level of the result.
    func removedFiles(from base: Version) -> [TableFile] {
        var live = Set<UInt64>()
        for level in levels { for number in level.keys { live.insert(number) } }
        return base.allFiles.filter { !live.contains($0.number) }
    }
}
