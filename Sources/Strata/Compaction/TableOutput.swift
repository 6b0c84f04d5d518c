import Glibc

/// Writes the output of a flush or compaction as one or more tables:
/// a new table is started when the current one reaches `targetFileSize`
/// (or where an `OutputFileCutter` decides, for leveled compactions),
/// but only between two user keys (one user key never spans two files of a
/// level ≥ 1). Each finished table is synced and described by a
/// `FileMetaData` for the MANIFEST. On error the partial files are removed.
///
/// Range tombstones are given before the entries and cut at the file
/// boundaries: the table covering user keys [start, next start) gets each
/// tombstone's part in that range, so the files of a level stay disjoint
/// (a table whose tombstone ends at the next table's first key records
/// that end as an exclusive bound, (key, max sequence, 0x0F), as RocksDB
/// does).
///
/// With `compactOnDeletion`, each table's deletions are counted as it is
/// written and a table dense with them is marked for compaction
/// (`FileMetaData.markedForCompaction`; see `CompactOnDeletionOptions`).
///
/// Ownership: one owner; not thread-safe.
package final class TableOutput {
    let directory: String
    let fileSystem: any FileSystem
    let versions: VersionSet
    let options: TableOptions
    let level: Int
    let targetFileSize: UInt64

    private var builder: TableBuilder?
    private var file: HashingWritableFile?
    private var fileNumber: UInt64 = 0
    private var lastUserKey: [UInt8] = []
    private var tombstones: [(begin: [UInt8], sequence: UInt64, end: [UInt8])] = []
    /// First user key of the table being written; nil for the first table.
    private var fileStart: [UInt8]? = nil
    private(set) var finished: [FileMetaData] = []
    private var created: [String] = []
    private var keepFinished = false
    /// Grandparent-aligned cutting (leveled compactions); nil: cut at
    /// `targetFileSize` only.
    @exclusivity(unchecked)
    private var cutter: OutputFileCutter?
    /// Counts deletions of the table being written, to mark it for
    /// compaction (`CompactOnDeletionOptions`); nil: never marked.
    @exclusivity(unchecked)
    private var deletionDensity: DeletionDensityTracker?

    /// Bytes written so far (finished files).
    package var bytesWritten: UInt64 { finished.reduce(0) { $0 + $1.fileSize } }

    package init(directory: String, fileSystem: any FileSystem, versions: VersionSet, options: TableOptions,
                level: Int, targetFileSize: UInt64, columnFamilyID: UInt32, cutter: OutputFileCutter? = nil,
                compactOnDeletion: CompactOnDeletionOptions? = nil) {
        self.cutter = cutter
        self.deletionDensity = compactOnDeletion.map { DeletionDensityTracker(options: $0) }
        self.directory = directory
        self.fileSystem = fileSystem
        self.versions = versions
        var o = options
        o.columnFamilyID = columnFamilyID
        self.options = o
        self.level = level
        self.targetFileSize = targetFileSize
    }

    /// Adds an entry (internal keys in increasing order).
    package func add(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws {
        let userKey = InternalKey.userKey(key)
        let wantsCut = cutter != nil
            ? cutter!.shouldCut(before: userKey, fileSize: builder?.fileSize ?? 0, hasOpenFile: builder != nil)
            : (builder?.fileSize ?? 0) >= targetFileSize
        // Never between two entries of one user key.
        if wantsCut && builder != nil && lastUserKey.withUnsafeBytes({ Bytewise.compare($0, userKey) != 0 }) {
            let next = Array(userKey)
            try addTombstones(upTo: next)
            try finishFile()
            fileStart = next
            cutter?.startedFile(at: userKey)
        }
        if builder == nil { try startFile() }
        try builder!.add(internalKey: key, value: value)
        if deletionDensity != nil, key.count >= 8 {
            // The trailer is little-endian: its first byte is the type.
            deletionDensity!.add(type: key[key.count - 8])
        }
        lastUserKey.assign(userKey)
    }

    /// Adds a range tombstone (begin internal key, end user key). Call
    /// before adding entries: each table gets the part of every tombstone
    /// within its key range.
    package func addRangeTombstone(begin: [UInt8], end: [UInt8]) throws {
        guard let parsed = begin.withUnsafeBytes({ ParsedInternalKey($0).map { (Array($0.userKey), $0.sequence) } }) else {
            throw StrataError.invalidArgument("range tombstone begin key of \(begin.count) bytes has no 8-byte trailer")
        }
        tombstones.append((parsed.0, parsed.1, end))
    }

    /// Writes into the current table the tombstone parts within
    /// [fileStart, limit) (nil limit = unbounded).
    private func addTombstones(upTo limit: [UInt8]?) throws {
        guard !tombstones.isEmpty else { return }
        if builder == nil { try startFile() }
        for t in tombstones {
            var lo = t.begin
            if let fileStart, Bytewise.compare(fileStart, lo) > 0 { lo = fileStart }
            var hi = t.end
            if let limit, Bytewise.compare(limit, hi) < 0 { hi = limit }
            guard Bytewise.compare(lo, hi) < 0 else { continue }
            let key = InternalKey.make(lo, sequence: t.sequence, type: ValueType.rangeDeletion.rawValue)
            try builder!.add(internalKey: key, value: hi)
            deletionDensity?.addRangeDeletion()
        }
    }

    private func startFile() throws {
        fileNumber = versions.newFileNumber()
        let path = Path.join(directory, DBFileName.table(fileNumber))
        let f = HashingWritableFile(try fileSystem.createWritable(path))
        created.append(path)
        file = f
        deletionDensity?.reset()
        let now = UInt64(currentUnixTime())
        builder = try TableBuilder(file: f, options: options, fileNumber: fileNumber, creationTime: now,
                                   oldestKeyTime: now, fileCreationTime: now)
    }

    private func finishFile() throws {
        guard let b = builder, let f = file else { return }
        builder = nil
        file = nil
        let size = try b.finish()
        killPoint("Table.finish")
        try f.sync()
        killPoint("Table.synced")
        try f.close()
        guard let smallest = b.smallestKeyIncludingRanges, let largest = b.largestKeyIncludingRanges else { return }
        var meta = FileMetaData(number: fileNumber, fileSize: size, smallest: smallest, largest: largest,
                                smallestSequence: b.smallestSequence == .max ? 0 : b.smallestSequence,
                                largestSequence: b.largestSequence)
        let now = UInt64(currentUnixTime())
        meta.oldestAncesterTime = now
        meta.fileCreationTime = now
        meta.fileChecksum = f.digestBytes
        meta.fileChecksumFunctionName = HashingWritableFile.functionName
        if let tracker = deletionDensity { meta.markedForCompaction = tracker.shouldMark }
        finished.append(meta)
    }

    /// Finishes the last table and syncs the directory. Returns every table written.
    package func finish() throws -> [FileMetaData] {
        do {
            try addTombstones(upTo: nil)
            tombstones.removeAll()
            try finishFile()
            if !finished.isEmpty { try fileSystem.syncDirectory(directory) }
            return finished
        } catch {
            abandon()
            throw error
        }
    }

    /// Removes every file this output created — except, after
    /// `keepFilesFromNowOn`, the finished ones.
    package func abandon() {
        try? file?.close()
        builder = nil
        file = nil
        if keepFinished {
            let kept = Set(finished.map { Path.join(directory, DBFileName.table($0.number)) })
            for path in created where !kept.contains(path) { try? fileSystem.removeFile(path) }
        } else {
            for path in created { try? fileSystem.removeFile(path) }
        }
        finished.removeAll()
    }

    /// Call just before the finished tables are recorded in the MANIFEST:
    /// if recording fails, the edit may still be in the MANIFEST (and be
    /// replayed on reopen), so `abandon` must not remove them. Tables no
    /// MANIFEST lists are deleted at the next open.
    package func keepFilesFromNowOn() {
        keepFinished = true
    }
}

/// Seconds since the Unix epoch.
func currentUnixTime() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return ts.tv_sec
}
