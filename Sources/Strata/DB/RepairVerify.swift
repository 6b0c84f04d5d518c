/// The result of `Database.verify`: one entry per file of the database
/// directory, saying whether it is intact.
///
/// Value type; `Sendable`.
public struct VerifyReport: Sendable, CustomStringConvertible {
    /// The verdict on one file.
    public enum Status: Sendable, Equatable {
        /// Every byte checked and consistent with the MANIFEST.
        case ok
        /// Intact where it matters, with a remark: a torn WAL tail (recovery
        /// keeps every record before it), a table no MANIFEST lists, an
        /// obsolete file the next open deletes.
        case warning(String)
        /// A file a crash or an interrupted operation left behind that the
        /// database does not use (a table or MANIFEST the current MANIFEST
        /// does not list, an obsolete WAL, a temp file), readable or not: not
        /// damage — the next open deletes it — and said so apart from it.
        case leftover(String)
        /// Reading it fails or would not give back what was written; the
        /// error names the file and, where known, the offset.
        case damaged(StrataError)
    }

    /// One file and its verdict.
    public struct File: Sendable {
        /// The file's name in the directory.
        public var name: String
        /// "CURRENT", "MANIFEST", "table", "WAL", "IDENTITY", "OPTIONS" or "temp".
        public var kind: String
        /// The verdict.
        public var status: Status
        /// What was checked, e.g. "L0 of default, 120 entries".
        public var detail: String
    }

    /// The directory verified.
    public var directory: String
    /// Every file of the database, in name order (a file the MANIFEST lists
    /// but that is missing appears too, damaged).
    public var files: [File]

    /// The damaged files.
    public var damaged: [File] {
        files.filter { if case .damaged = $0.status { return true } else { return false } }
    }

    /// The leftover files (see `Status.leftover`).
    public var leftovers: [File] {
        files.filter { if case .leftover = $0.status { return true } else { return false } }
    }

    /// True when no file is damaged (warnings and leftovers allowed).
    public var isHealthy: Bool { damaged.isEmpty }

    /// One line per file (`OK`, `WARNING`, `LEFTOVER` or `DAMAGED`, name, detail or
    /// error), then a summary line.
    public var description: String {
        var lines: [String] = []
        for file in files {
            switch file.status {
            case .ok: lines.append("OK       \(file.name)  \(file.detail)")
            case .warning(let text): lines.append("WARNING  \(file.name)  \(text)")
            case .leftover(let text): lines.append("LEFTOVER \(file.name)  \(text)")
            case .damaged(let error): lines.append("DAMAGED  \(file.name)  \(error)")
            }
        }
        let warnings = files.filter { if case .warning = $0.status { return true } else { return false } }.count
        lines.append("\(files.count) files: \(damaged.count) damaged, \(warnings) warnings, \(leftovers.count) leftovers"
            + (leftovers.isEmpty ? "" : " (left by a crash or an interrupted operation; the next open deletes them)"))
        return lines.joined(separator: "\n")
    }
}

extension Database {
    /// Checks every file of the database in directory `path` without
    /// opening it (so it works on a database that no longer opens) and
    /// without changing anything (no lock taken: run it on a closed
    /// database, or accept that files may change while it reads):
    ///
    /// * CURRENT names a MANIFEST, which replays (every record's checksum,
    ///   every edit, the resulting levels);
    /// * every table: footer, every block's checksum, every key in order,
    ///   the entry count of its properties; a table the MANIFEST lists must
    ///   exist, have the recorded size, keep its keys within the recorded
    ///   range, and (for tables Strata wrote) match the whole-file XXH3
    ///   checksum the MANIFEST recorded — which catches a changed byte
    ///   anywhere in the file;
    /// * every WAL: every record's checksum and write-batch encoding (a
    ///   torn tail is a warning: recovery stops there as after a crash);
    /// * IDENTITY is non-empty text; an OPTIONS file has its sections.
    ///
    /// Throws only if the directory cannot be listed; everything else is a
    /// verdict in the report. Uses `options.fileSystem`.
    public static func verify(at path: String, options: Options = Options()) throws -> VerifyReport {
        let fs = options.fileSystem
        let names = try fs.listDirectory(path).sorted()
        var files: [VerifyReport.File] = []
        func add(_ name: String, _ kind: String, _ status: VerifyReport.Status, _ detail: String = "") {
            files.append(VerifyReport.File(name: name, kind: kind, status: status, detail: detail))
        }
        func located(_ error: any Error, _ name: String) -> StrataError {
            (error as? StrataError)?.located(file: Path.join(path, name))
                ?? StrataError.ioError("\(error)", file: Path.join(path, name))
        }

        // CURRENT and the MANIFEST it names.
        var live: [UInt64: (level: Int, family: String, meta: FileMetaData)] = [:]
        var currentManifest: String? = nil
        var minLog: UInt64 = 0
        var manifestReadable = false
        if names.contains(DBFileName.current) {
            do {
                let manifest = try VersionSet.currentManifest(directory: path, fileSystem: fs)
                currentManifest = manifest
                guard names.contains(manifest) else {
                    throw StrataError.corruption("CURRENT names \(manifest), which does not exist",
                                                 file: Path.join(path, DBFileName.current))
                }
                add(DBFileName.current, "CURRENT", .ok, "names \(manifest)")
            } catch {
                add(DBFileName.current, "CURRENT", .damaged(located(error, DBFileName.current)))
            }
        } else {
            add(DBFileName.current, "CURRENT", .damaged(.corruption("CURRENT is missing: the database cannot be opened",
                                                                     file: Path.join(path, DBFileName.current))))
        }
        if let manifest = currentManifest, names.contains(manifest) {
            do {
                let set = try VersionSet.replayOnly(directory: path, fileSystem: fs)
                var count = 0
                for family in set.columnFamilies {
                    for (level, tables) in family.version.levels.enumerated() {
                        for table in tables { live[table.number] = (level, family.name, table.meta) }
                        count += tables.count
                    }
                }
                minLog = set.minLogNumberToKeep
                manifestReadable = true
                let torn = try Database.logHasTornTail(Path.join(path, manifest), fs)
                let detail = "\(set.columnFamilies.count) column families, \(count) tables, last sequence \(set.lastSequence)"
                add(manifest, "MANIFEST", torn.map { .warning("\(detail); ends in a torn record at offset \($0) (ignored, as after a crash)") } ?? .ok,
                    detail)
            } catch {
                add(manifest, "MANIFEST", .damaged(located(error, manifest)))
            }
        }

        for name in names {
            switch DBFileName.parse(name) {
            case .manifest where name != currentManifest:
                add(name, "MANIFEST", .leftover("not named by CURRENT (obsolete; the next open deletes it)"))
            case .table(let number):
                let entry = live.removeValue(forKey: number)
                add(name, "table", verifyTable(name, path: path, fs: fs, recorded: entry, manifestReadable: manifestReadable))
                files[files.count - 1].detail = entry.map { "L\($0.level) of \($0.family)" } ?? ""
            case .wal(let number):
                add(name, "WAL", verifyWAL(name, path: path, fs: fs, obsolete: manifestReadable && number < minLog))
            case .identity:
                let text = (try? fs.openRandomAccess(Path.join(path, name))).flatMap { file -> [UInt8]? in
                    defer { file.close() }
                    return try? file.read(at: 0, count: Int(file.size))
                }
                if let text, !text.isEmpty, String(validating: text, as: UTF8.self) != nil {
                    add(name, "IDENTITY", .ok)
                } else {
                    add(name, "IDENTITY", .damaged(.corruption("IDENTITY is unreadable, empty or not UTF-8 text",
                                                                 file: Path.join(path, name))))
                }
            case .options:
                add(name, "OPTIONS", verifyOptions(name, path: path, fs: fs))
            case .temp:
                add(name, "temp", .leftover("temporary file of an interrupted write (the next open deletes it)"))
            default:
                continue
            }
        }
        for (number, entry) in live.sorted(by: { $0.key < $1.key }) {
            let name = DBFileName.table(number)
            add(name, "table", .damaged(.corruption("table file listed in the MANIFEST (L\(entry.level) of \(entry.family)) is missing",
                                                     file: Path.join(path, name))))
        }
        files.sort { $0.name < $1.name }
        return VerifyReport(directory: path, files: files)
    }

    /// The verdict on one table, checked against its MANIFEST record.
    static func verifyTable(_ name: String, path: String, fs: any FileSystem,
                            recorded: (level: Int, family: String, meta: FileMetaData)?,
                            manifestReadable: Bool) -> VerifyReport.Status {
        let full = Path.join(path, name)
        let scan: TableScan
        do {
            scan = try TableScan.scan(path: full, fileSystem: fs, largestSequence: recorded?.meta.largestSequence)
        } catch {
            let located = (error as? StrataError)?.located(file: full) ?? .ioError("\(error)", file: full)
            // A table no MANIFEST lists is one a flush or compaction was
            // writing when the process died: unfinished, not damaged.
            if recorded == nil && manifestReadable {
                return .leftover("not in the MANIFEST: an unfinished table a crash left behind (the next open deletes it); unreadable: \(located)")
            }
            return .damaged(located)
        }
        guard let (_, _, meta) = recorded else {
            return manifestReadable
                ? .leftover("not in the MANIFEST (left by a crash; the next open deletes it), \(scan.entries) entries intact")
                : .ok
        }
        if scan.fileSize != meta.fileSize {
            return .damaged(.corruption("table size \(scan.fileSize) differs from the MANIFEST's \(meta.fileSize)", file: full))
        }
        if meta.fileChecksumFunctionName == HashingWritableFile.functionName, meta.fileChecksum.count == 8,
           meta.fileChecksum != scan.fileChecksum {
            return .damaged(.corruption(
                "whole-file checksum differs from the MANIFEST's: recorded \(hexBytes(meta.fileChecksum)), computed \(hexBytes(scan.fileChecksum)) (\(HashingWritableFile.functionName))",
                file: full))
        }
        if let smallest = scan.smallest, InternalKey.compare(smallest, meta.smallest) < 0 {
            return .damaged(.corruption("table holds keys before the smallest key the MANIFEST records", file: full))
        }
        if let largest = scan.largest, InternalKey.compare(largest, meta.largest) > 0 {
            return .damaged(.corruption("table holds keys after the largest key the MANIFEST records", file: full))
        }
        return .ok
    }

    /// The verdict on one WAL: every record intact and a write batch.
    static func verifyWAL(_ name: String, path: String, fs: any FileSystem, obsolete: Bool) -> VerifyReport.Status {
        let full = Path.join(path, name)
        do {
            let file = try fs.openRandomAccess(full)
            defer { file.close() }
            let reader = LogReader(file: file)
            var records = 0
            while let record = try reader.next() {
                if let error = batchError(record) { throw error.located(file: full, offset: reader.lastRecordOffset) }
                records += 1
            }
            if obsolete { return .leftover("obsolete WAL (older than every column family's log number; the next open deletes it), \(records) records intact") }
            if reader.isTruncatedTail {
                return .warning("\(records) records, then a torn tail after offset \(reader.lastRecordOffset) (recovery keeps the records before it, as after a crash)")
            }
            return .ok
        } catch {
            let located = (error as? StrataError)?.located(file: full) ?? .ioError("\(error)", file: full)
            return obsolete ? .leftover("obsolete WAL (recovery does not read it; the next open deletes it), damaged: \(located)") : .damaged(located)
        }
    }

    /// Why `record` is not a write batch, or nil if it is one.
    static func batchError(_ record: [UInt8]) -> StrataError? {
        do throws(StrataError) {
            _ = try WriteBatch(encoded: record)
            return nil
        } catch {
            return error
        }
    }

    /// The verdict on an OPTIONS file: UTF-8 text with RocksDB's sections.
    static func verifyOptions(_ name: String, path: String, fs: any FileSystem) -> VerifyReport.Status {
        let full = Path.join(path, name)
        guard let file = try? fs.openRandomAccess(full), let bytes = try? file.read(at: 0, count: Int(file.size)) else {
            return .damaged(.ioError("cannot read the OPTIONS file", file: full))
        }
        file.close()
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .damaged(.corruption("OPTIONS file is not UTF-8 text", file: full))
        }
        do {
            let parsed = try OptionsFile.parse(text, file: full)
            guard parsed.rocksDBVersion != nil else {
                return .damaged(.corruption("OPTIONS file has no [Version] section", file: full))
            }
        } catch let error as StrataError {
            return .damaged(error)
        } catch {
            return .damaged(.corruption("\(error)", file: full))
        }
        return .ok
    }

    /// The offset where a log's torn tail begins, or nil if it ends cleanly.
    static func logHasTornTail(_ path: String, _ fs: any FileSystem) throws -> UInt64? {
        let file = try fs.openRandomAccess(path)
        defer { file.close() }
        let reader = LogReader(file: file, badChecksumAtEndIsTorn: false)
        var end: UInt64 = 0
        while try reader.next() != nil { end = reader.lastRecordOffset }
        return reader.isTruncatedTail ? end : nil
    }
}

/// Lowercase hex of bytes, for messages.
func hexBytes(_ bytes: [UInt8]) -> String {
    bytes.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined()
}
