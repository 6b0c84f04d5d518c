import Glibc

/// External file ingestion (RocksDB `IngestExternalFile`,
/// db/external_sst_file_ingestion_job.cc; docs/ingestion.md).
extension Database {
    /// Adds the tables at `paths` — written by `SSTFileWriter`, RocksDB's
    /// `SstFileWriter` or `ldb write_extern_sst`: every key at sequence 0,
    /// the `rocksdb.external_sst_file.*` properties — to `columnFamily`
    /// (default: the default family) as RocksDB does:
    ///
    /// 1. Each file is read (key range, properties; every block with
    ///    `verifyChecksumsBeforeIngest`) and given a new file number; the
    ///    files' ranges may overlap each other (then all go to L0 with new
    ///    sequence numbers).
    /// 2. They are hard-linked (`moveFiles`) or copied into the database
    ///    directory and synced.
    /// 3. With writes held back: a memtable overlapping a file is flushed
    ///    (`allowBlockingFlush`), then each file goes to the lowest level it
    ///    fits in (no file of that level, nor a running compaction's output,
    ///    overlaps it) above the first level holding keys in its range. It
    ///    keeps sequence 0 unless it overlaps data in the database, the
    ///    other files, or snapshots exist (`snapshotConsistency`); then it
    ///    gets the next sequence number, its global sequence number
    ///    (`allowGlobalSeqno`), which the MANIFEST records as its smallest
    ///    and largest sequence and every read applies.
    /// 4. One MANIFEST record adds all files atomically and is synced;
    ///    then the files are visible. With `moveFiles` the caller's links
    ///    are removed afterwards.
    ///
    /// Durability: on return the ingestion survives any crash. A failure
    /// before the MANIFEST write removes every file it put into the
    /// database and leaves the database as it was. Throws
    /// `.invalidArgument` (empty list, files for another column family,
    /// a needed flush or global seqno not allowed, `ingestBehind`),
    /// `.corruption` (not an external file, keys at sequence ≠ 0, damaged
    /// blocks), `.busy` (`failIfNotBottommostLevel` not satisfiable),
    /// `.ioError`, `.closed`. Thread-safe; writes wait while it runs.
    public func ingestExternalFiles(paths: [String], options: IngestExternalFileOptions = IngestExternalFileOptions(),
                                    columnFamily: ColumnFamily? = nil) throws {
        try checkOpen()
        let family = try targetFamily(columnFamily)
        guard !paths.isEmpty else { throw StrataError.invalidArgument("The list of files is empty") }
        if options.ingestBehind {
            throw StrataError.invalidArgument(
                "Can't ingest_behind file in DB with allow_ingest_behind=false (Strata has no allow_ingest_behind)")
        }
        var files: [ExternalTableInfo] = []
        for path in paths {
            let info = try ExternalTableInfo.read(path: path, number: versions.newFileNumber(), fileSystem: fileSystem,
                                                  external: true, verifyChecksums: options.verifyChecksumsBeforeIngest)
            if info.columnFamilyID != ExternalTableInfo.unknownColumnFamily && info.columnFamilyID != UInt64(family.id) {
                throw StrataError.invalidArgument(
                    "External file column family id don't match: the file is for column family \(info.columnFamilyID), ingesting into \(family.name) (\(family.id))",
                    file: path)
            }
            if info.externalVersion == 1 && (options.allowBlockingFlush || options.allowGlobalSeqno) {
                throw StrataError.invalidArgument("External SST file V1 does not support global seqno", file: path)
            }
            files.append(info)
        }
        let sorted = files.sorted { InternalKey.compare($0.smallest, $1.smallest) < 0 }
        let filesOverlap = zip(sorted, sorted.dropFirst()).contains { ExternalTableInfo.overlap($0, before: $1) }

        var manifestWritten = false
        do {
            for i in files.indices {
                try files[i].transfer(into: path, fileSystem: fileSystem, link: options.moveFiles,
                                      fallBackToCopy: options.failedMoveFallBackToCopy)
            }
            try fileSystem.syncDirectory(path)
            try monitor.withLock {
                try atWriterQueueHead {
                    try flushIfOverlapping(family, files, options)
                    try assignAndInstall(&files, family: family, options: options, filesOverlap: filesOverlap,
                                         manifestWritten: &manifestWritten)
                }
            }
        } catch {
            // Not yet in the MANIFEST: nothing may stay behind. (After a
            // failed MANIFEST write the record may be there: the files stay,
            // and a reopen deletes them if it is not.)
            if !manifestWritten {
                for f in files { if let p = f.internalPath { try? fileSystem.removeFile(p) } }
            }
            throw error
        }
        if options.moveFiles {
            for f in files { try? fileSystem.removeFile(f.externalPath) }
        }
    }

    /// The live family a handle names (the default family for nil).
    func targetFamily(_ handle: ColumnFamily?) throws -> ColumnFamilyData {
        guard let handle else { return defaultFamily }
        guard handle.database === self else {
            throw StrataError.invalidArgument("column family \(handle.name) belongs to another database")
        }
        return handle.data
    }

    /// RocksDB `NeedsFlush` + `FlushMemTable`: if a memtable of `family`
    /// holds a key (or range tombstone) in a file's range, switch and flush
    /// it and wait. Caller holds the monitor at the writer queue head.
    private func flushIfOverlapping(_ family: ColumnFamilyData, _ files: [ExternalTableInfo],
                                    _ options: IngestExternalFileOptions) throws {
        if family.dropped { throw StrataError.invalidArgument("column family \(family.name) was dropped") }
        let memtables = [family.mem] + family.imm.map(\.table)
        let overlapping = memtables.contains { table in
            files.contains { Self.memtable(table, hasKeysFrom: $0.smallestUserKey, to: $0.largestUserKey) }
        }
        guard overlapping else { return }
        guard options.allowBlockingFlush else {
            throw StrataError.invalidArgument("External file requires flush (allowBlockingFlush is false)")
        }
        if !family.mem.isEmpty { try makeRoomForWrite(force: family, noSlowdown: false) }
        maybeScheduleWork()
        while !family.imm.isEmpty && backgroundError == nil && !shuttingDown && !family.dropped { monitor.wait() }
        if let backgroundError { throw backgroundError }
        if shuttingDown { throw StrataError(.closed, "database \(path) is closing") }
        if family.dropped { throw StrataError.invalidArgument("column family \(family.name) was dropped") }
    }

    /// True if `table` has an entry or range tombstone with a user key in [lo, hi].
    static func memtable(_ table: MemTable, hasKeysFrom lo: [UInt8], to hi: [UInt8]) -> Bool {
        if table.isEmpty { return false }
        for t in table.rangeTombstones() {
            // [begin, end) meets [lo, hi] unless it ends at/before lo or begins after hi.
            if Bytewise.compare(t.end, lo) > 0 && Bytewise.compare(Array(t.begin.dropLast(8)), hi) <= 0 { return true }
        }
        let it = table.makeIterator()
        let target = InternalKey.make(lo, sequence: maxSequenceNumber, type: ValueType.forSeekCode)
        target.withUnsafeBytes { it.seek($0) }
        guard it.isValid else { return false }
        return hi.withUnsafeBytes { Bytewise.compare(InternalKey.userKey(it.key), $0) } <= 0
    }

    /// RocksDB `Run` for every file, then the MANIFEST record and the new
    /// super version. Caller holds the monitor at the writer queue head.
    private func assignAndInstall(_ files: inout [ExternalTableInfo], family: ColumnFamilyData,
                                  options: IngestExternalFileOptions, filesOverlap: Bool,
                                  manifestWritten: inout Bool) throws {
        let version = versions.current(columnFamily: family.id) ?? .empty
        let forceGlobalSeqno = options.snapshotConsistency && snapshots.oldest != nil
        var last = versions.lastSequence
        let now = UInt64(max(0, time(nil)))
        var edit = VersionEdit()
        edit.columnFamily = family.id
        for i in files.indices {
            let sequence = try assignLevelAndSequence(&files[i], version: version, family: family, options: options,
                                                      force: forceGlobalSeqno, last: last, filesOverlap: filesOverlap)
            if sequence != files[i].originalSequence {
                guard options.allowGlobalSeqno else {
                    throw StrataError.invalidArgument("Global seqno is required, but disabled (allowGlobalSeqno is false)",
                                                      file: files[i].externalPath)
                }
                guard files[i].externalVersion == 2 else {
                    throw StrataError.invalidArgument(
                        "Trying to set global seqno for a file that don't have a global seqno field",
                        file: files[i].externalPath)
                }
                if options.writeGlobalSeqno { try writeGlobalSeqno(sequence, into: &files[i]) }
            }
            files[i].assignedSequence = sequence
            // Only sequence 0 is replaced: a tombstone's exclusive end keeps its max sequence.
            for key in [\ExternalTableInfo.smallest, \ExternalTableInfo.largest] {
                let bytes = files[i][keyPath: key]
                guard let parsed = bytes.withUnsafeBytes({ ParsedInternalKey($0) }), parsed.sequence == 0 else { continue }
                files[i][keyPath: key] = InternalKey.make(Array(bytes.dropLast(8)), sequence: sequence, type: parsed.typeCode)
            }
            if sequence > last { last = sequence }
            var meta = FileMetaData(number: files[i].number, fileSize: files[i].fileSize, smallest: files[i].smallest,
                                    largest: files[i].largest, smallestSequence: sequence, largestSequence: sequence)
            meta.oldestAncesterTime = now
            meta.fileCreationTime = now
            edit.newFiles.append((files[i].level, meta))
        }
        try installExternalFiles(edit, family: family, lastSequence: last, manifestWritten: &manifestWritten)
    }

    /// Logs `edit` (external tables of `family`, ingested or imported) to the
    /// MANIFEST, installs the new version and publishes `lastSequence`.
    /// `manifestWritten` says afterwards whether the edit may be in the
    /// MANIFEST (then the files must stay). An I/O error becomes the
    /// background error. Caller holds the monitor at the writer queue's head.
    func installExternalFiles(_ edit: VersionEdit, family: ColumnFamilyData, lastSequence: UInt64,
                              manifestWritten: inout Bool) throws {
        do {
            manifestWritten = true
            try versions.logAndApply([edit], recordingLastSequence: lastSequence)
        } catch let error as StrataError where error.kind == .ioError {
            recordBackgroundErrorLocked(error, reason: .manifestWrite)
            throw error
        } catch {
            // Refused before anything was written (the edit did not apply).
            manifestWritten = false
            throw error
        }
        // Published only now: a snapshot taken meanwhile (snapshot() reads
        // the last sequence without the monitor) has an older number, so it
        // never sees the files — neither before nor after they appear.
        installSuperVersion(family)
        if lastSequence > versions.lastSequence { versions.setLastSequence(lastSequence) }
        backgroundWorkDone += 1
        maybeScheduleWork()
    }

    /// RocksDB `AssignLevelAndSeqnoForIngestedFile`: sets `file.level` and
    /// returns its sequence number (0 or `last + 1`; under universal
    /// compaction possibly the largest sequence of the level it joins).
    private func assignLevelAndSequence(_ file: inout ExternalTableInfo, version: Version, family: ColumnFamilyData,
                                        options: IngestExternalFileOptions, force: Bool, last: UInt64,
                                        filesOverlap: Bool) throws -> UInt64 {
        let universal = family.options.compactionStyle == .universal
        let bottom = Version.levelCount - 1
        var assigned: UInt64 = 0
        if force {
            assigned = last + 1
            if universal || filesOverlap {
                if options.failIfNotBottommostLevel { throw Self.notBottommost() }
                file.level = 0
                return assigned
            }
        }
        let lo = file.smallestUserKey
        let hi = file.largestUserKey
        // Levels between L0 and the base level stay empty under leveled
        // compaction with dynamic level bytes; they are skipped.
        let baseLevel = universal ? 1 : LevelTargets(version: version, options: family.options).baseLevel
        var overlapWithDB = false
        var target = 0
        for level in 0..<Version.levelCount {
            if level > 0 && level < baseLevel { continue }
            if !version.levels[level].isEmpty {
                if try levelHasKeys(version, level: level, from: lo, to: hi) {
                    // Must go above this level, newer than its keys.
                    overlapWithDB = true
                    break
                }
                if universal && level != 0 {
                    let levelLargest = version.levels[level].map(\.meta.largestSequence).max() ?? 0
                    guard levelLargest != 0 && fits(lo, hi, level: level, version: version, family: family) else {
                        continue
                    }
                    assigned = levelLargest
                }
            } else if universal {
                continue
            }
            if fits(lo, hi, level: level, version: version, family: family) { target = level }
        }
        if filesOverlap {
            target = 0
            assigned = last + 1
        }
        if options.failIfNotBottommostLevel && target < bottom { throw Self.notBottommost() }
        file.level = target
        if overlapWithDB && assigned == 0 { assigned = last + 1 }
        return assigned
    }

    /// Suffix of the table copy `writeGlobalSeqno` writes before renaming
    /// it over the table (`NNNNNN.sst.ingesting`); a crash can leave one,
    /// which the next open deletes.
    static let ingestTempSuffix = ".ingesting"

    private static func notBottommost() -> StrataError {
        StrataError(.busy, "Files cannot be ingested to Lmax. Please make sure key range of Lmax does not overlap with files to ingest.")
    }

    /// RocksDB `IngestedFileFitInLevel`: L0 always; a deeper level if no
    /// file of it and no running compaction writing to it overlaps [lo, hi].
    /// During a manual compaction (whose outputs are not tracked) only L0.
    private func fits(_ lo: [UInt8], _ hi: [UInt8], level: Int, version: Version, family: ColumnFamilyData) -> Bool {
        if level == 0 { return true }
        if !version.overlappingFiles(level: level, begin: lo, end: hi).isEmpty { return false }
        if family.manualCompactionRunning { return false }
        for plan in family.runningCompactions where plan.outputLevel == level {
            let inputs = plan.allInputs
            guard let first = inputs.first else { continue }
            var smallest = first.meta.smallestUserKey
            var largest = first.meta.largestUserKey
            for f in inputs.dropFirst() {
                if Bytewise.compare(f.meta.smallestUserKey, smallest) < 0 { smallest = f.meta.smallestUserKey }
                if Bytewise.compare(f.meta.largestUserKey, largest) > 0 { largest = f.meta.largestUserKey }
            }
            if Bytewise.compare(smallest, hi) <= 0 && Bytewise.compare(lo, largest) <= 0 { return false }
        }
        return true
    }

    /// RocksDB `OverlapWithLevelIterator`: true if a table of `level` holds
    /// a key in [lo, hi] (or a range tombstone meeting it — more cautious
    /// than RocksDB 7.8.3, which looks at point keys only).
    private func levelHasKeys(_ version: Version, level: Int, from lo: [UInt8], to hi: [UInt8]) throws -> Bool {
        let target = InternalKey.make(lo, sequence: maxSequenceNumber, type: ValueType.forSeekCode)
        for file in version.overlappingFiles(level: level, begin: lo, end: hi) {
            let table = try tableCache.table(file)
            for t in table.rangeTombstones
            where Bytewise.compare(t.end, lo) > 0 && Bytewise.compare(Array(t.begin.dropLast(8)), hi) <= 0 {
                return true
            }
            let it = table.makeIterator(fillCache: false)
            target.withUnsafeBytes { it.seek($0) }
            if let error = it.error { throw error }
            if it.isValid && hi.withUnsafeBytes({ Bytewise.compare(InternalKey.userKey(it.key), $0) }) <= 0 { return true }
        }
        return false
    }

    /// `write_global_seqno`: the database's copy of the file gets
    /// `sequence` in its global seqno property. Strata's file systems have
    /// no in-place writes, so the copy is rewritten (temp file, rename),
    /// which also keeps a caller's hard-linked file unchanged.
    private func writeGlobalSeqno(_ sequence: UInt64, into file: inout ExternalTableInfo) throws {
        guard let internalPath = file.internalPath else { return }
        let offset: UInt64? = try {
            let reader = try TableReader.open(path: internalPath, fileSystem: fileSystem)
            return try reader.globalSeqnoFieldOffset()
        }()
        guard let offset else {
            throw StrataError.invalidArgument("Trying to set global seqno for a file that don't have a global seqno field",
                                              file: file.externalPath)
        }
        // Not `NNNNNN.dbtmp`: background purges delete those at any time.
        let temp = internalPath + Self.ingestTempSuffix
        do {
            let input = try fileSystem.openRandomAccess(internalPath)
            defer { input.close() }
            var head = try input.read(at: 0, count: Int(input.size))
            var value: [UInt8] = []
            value.appendFixed64(sequence)
            head.replaceSubrange(Int(offset)..<Int(offset) + 8, with: value)
            try FileTransfer.writeFile(head, to: temp, in: fileSystem)
            try fileSystem.rename(temp, to: internalPath)
            try fileSystem.syncDirectory(path)
            file.copied = true
        } catch {
            try? fileSystem.removeFile(temp)
            throw error
        }
    }
}
