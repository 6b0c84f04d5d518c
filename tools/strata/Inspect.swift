import Glibc
import Strata
import ToolCommands
import ToolSupport

extension StrataTool {
    /// `manifest_dump`: the MANIFEST named by CURRENT (or `--path=MANIFEST`),
    /// as ldb prints it: per column family its log number, comparator and the
    /// files of each level, then the counters.
    func manifestDump(_ c: StrataCommand.ManifestDump) throws {
        let fs = PosixFileSystem.shared
        let manifestPath: String
        if let p = c.path {
            manifestPath = p
        } else {
            guard let db = global.db else { throw ToolError("--db=<database_path> or --path=<manifest> is required") }
            let current = try fs.openRandomAccess(Path.join(db, "CURRENT"))
            let name = String(decoding: try current.read(at: 0, count: Int(current.size)), as: UTF8.self)
                .trimmingCharacters(in: "\n")
            manifestPath = Path.join(db, name)
        }
        let reader = LogReader(file: try fs.openRandomAccess(manifestPath))
        struct Family {
            var name: String
            var logNumber: UInt64 = 0
            var comparator: String = ""
            var levels: [[FileMetaData]] = Array(repeating: [], count: Version.levelCount)
        }
        var families: [UInt32: Family] = [0: Family(name: "default")]
        var comparator = ""
        var nextFile: UInt64 = 0
        var lastSequence: UInt64 = 0
        var prevLog: UInt64 = 0
        var maxCF: UInt32 = 0
        var minLogToKeep: UInt64 = 0
        let verbose = c.verbose.or(false)
        while let record = try reader.next() {
            let edit = try VersionEdit.decode(record)
            if verbose { print(describe(edit)) }
            let cf = edit.columnFamily
            if let name = edit.columnFamilyAdd { families[cf] = Family(name: name) }
            if edit.columnFamilyDrop { families[cf] = nil; continue }
            guard families[cf] != nil else { continue }
            if let c = edit.comparator { comparator = c; families[cf]!.comparator = c }
            if let n = edit.logNumber { families[cf]!.logNumber = n }
            for (level, number) in edit.deletedFiles where level < Version.levelCount {
                families[cf]!.levels[level].removeAll { $0.number == number }
            }
            for (level, file) in edit.newFiles where level < Version.levelCount {
                families[cf]!.levels[level].append(file)
            }
            if let n = edit.nextFileNumber { nextFile = n }
            if let n = edit.lastSequence { lastSequence = n }
            if let n = edit.prevLogNumber { prevLog = n }
            if let n = edit.maxColumnFamily { maxCF = n }
            if let n = edit.minLogNumberToKeep { minLogToKeep = n }
        }
        for (id, family) in families.sorted(by: { $0.key < $1.key }) {
            print("--------------- Column family \"\(family.name)\"  (ID \(id)) --------------")
            print("log number: \(family.logNumber)")
            print("comparator: \(family.comparator.isEmpty ? comparator : family.comparator)")
            for (level, files) in family.levels.enumerated() {
                print("--- level \(level) --- version# 1 ---")
                for f in files.sorted(by: { InternalKey.compare($0.smallest, $1.smallest) < 0 }) {
                    print(" \(f.number):\(f.fileSize)[\(f.smallestSequence) .. \(f.largestSequence)][\(describeInternalKey(f.smallest)) .. \(describeInternalKey(f.largest))]")
                }
            }
        }
        print("next_file_number \(nextFile) last_sequence \(lastSequence)  prev_log_number \(prevLog) max_column_family \(maxCF) min_log_number_to_keep \(minLogToKeep)")
    }

    func describeInternalKey(_ key: [UInt8]) -> String {
        key.withUnsafeBytes { raw in
            guard let p = ParsedInternalKey(raw) else { return "(bad key)" }
            return "'\(showKey(Array(p.userKey)))' seq:\(p.sequence), type:\(p.typeCode)"
        }
    }

    func describe(_ edit: VersionEdit) -> String {
        var parts: [String] = ["VersionEdit {"]
        if let c = edit.comparator { parts.append("  Comparator: \(c)") }
        if let n = edit.logNumber { parts.append("  LogNumber: \(n)") }
        if let n = edit.prevLogNumber { parts.append("  PrevLogNumber: \(n)") }
        if let n = edit.nextFileNumber { parts.append("  NextFileNumber: \(n)") }
        if let n = edit.lastSequence { parts.append("  LastSeq: \(n)") }
        if let n = edit.minLogNumberToKeep { parts.append("  MinLogNumberToKeep: \(n)") }
        for (level, number) in edit.deletedFiles { parts.append("  DeleteFile: \(level) \(number)") }
        for (level, f) in edit.newFiles {
            parts.append("  AddFile: \(level) \(f.number) \(f.fileSize) \(describeInternalKey(f.smallest)) .. \(describeInternalKey(f.largest))")
        }
        parts.append("  ColumnFamily: \(edit.columnFamily)")
        if let name = edit.columnFamilyAdd { parts.append("  ColumnFamilyAdd: \(name)") }
        if edit.columnFamilyDrop { parts.append("  ColumnFamilyDrop") }
        parts.append("}")
        return parts.joined(separator: "\n")
    }

    /// `dump_wal --walfile=F [--header] [--print_value]`: one line per write
    /// batch: sequence, count, byte size, physical offset, then the operations.
    func dumpWAL(_ c: StrataCommand.DumpWAL) throws {
        let path = c.walfile
        let reader = LogReader(file: try PosixFileSystem.shared.openRandomAccess(path))
        let printValue = c.printValue.or(false)
        if c.header.or(false) { print("Sequence,Count,ByteSize,Physical Offset,Key(s)\(printValue ? " : value " : "")") }
        while let record = try reader.next() {
            let batch = try WriteBatch(encoded: record)
            var line = "\(batch.sequence),\(batch.count),\(record.count),\(reader.lastRecordOffset),"
            try batch.forEach { op in
                let name: String
                switch op.type {
                case .value: name = "PUT"
                case .deletion: name = "DELETE"
                case .singleDeletion: name = "SINGLE_DELETE"
                case .merge: name = "MERGE"
                case .rangeDeletion: name = "DELETE_RANGE"
                }
                line += "\(name)(\(op.columnFamily)) : 0x\(HexCodec.encode(op.key, uppercase: true)) "
                if printValue && (op.type == .value || op.type == .merge || op.type == .rangeDeletion) {
                    line.removeLast()
                    line += " : 0x\(HexCodec.encode(op.value, uppercase: true)) "
                }
            }
            print(line)
        }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let last = s.last, set.contains(last) { s = s.dropLast() }
        while let first = s.first, set.contains(first) { s = s.dropFirst() }
        return String(s)
    }
}
