import Foundation
import Strata
import ToolCommands
import ToolSupport

/// `strata --db=DIR checkpoint DEST` and `strata checkpoint_store --store=S …`
/// (docs/checkpoints.md). Each prints what it did; `--json` prints JSON.
extension StrataTool {
    func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    func checkpointOptions(wal: Bool) -> CheckpointOptions {
        var options = CheckpointOptions()
        options.flushMemtable = !wal
        return options
    }

    func describe(_ m: CheckpointManifest) -> String {
        "checkpoint \(m.id): sequence \(m.sequence), \(m.tables.count) tables, \(m.files.count) files, "
            + "\(m.totalBytes) bytes, \(m.newFiles.count) new since \(m.parentID ?? "nothing")"
            + (m.walCopied ? ", WAL copied" : "")
    }

    /// `checkpoint DEST`.
    func checkpoint(_ c: StrataCommand.Checkpoint) throws -> Int32 {
        let db = try openDatabase()
        defer { try? db.close() }
        let result = try db.checkpoint(to: c.dest, options: checkpointOptions(wal: c.wal.or(false)))
        if c.json.or(false) {
            try printJSON(result.manifest)
        } else {
            print("Created \(describe(result.manifest)) in \(result.path) "
                  + "(\(result.tablesLinked) tables linked, \(result.tablesCopied) copied)")
        }
        return 0
    }

    /// `checkpoint_store --store=S SUBCOMMAND …`.
    func checkpointStore(_ c: StrataCommand.CheckpointStore) throws -> Int32 {
        // validate() checked the subcommand word and its argument count.
        let path = c.store
        guard let sub = c.words.first else { throw ToolError("checkpoint_store needs a subcommand") }
        let rest = Array(c.words.dropFirst())
        var options = CheckpointStoreOptions()
        if let keep = c.keepLast { options.keepLast = keep }
        let store = try CheckpointStore.open(at: path, options: options)
        defer { store.close() }
        let json = c.json.or(false)
        switch sub {
        case "create":
            let db = try openDatabase()
            defer { try? db.close() }
            let m = try store.create(from: db, options: checkpointOptions(wal: c.wal.or(false)))
            if json { try printJSON(m) } else { print("Created \(describe(m))") }
        case "list":
            let list = store.list()
            if json {
                try printJSON(list)
            } else {
                if list.isEmpty { print("No checkpoints in \(path)") }
                for m in list { print(describe(m)) }
            }
        case "verify":
            guard rest.count <= 1 else { throw ToolError("verify takes at most one ID") }
            let report = try store.verify(id: rest.first)
            if json {
                try printJSON(["checkpoints": report.checkpoints.joined(separator: ","), "files": "\(report.files)",
                               "tables": "\(report.tables)", "bytes": "\(report.bytes)"])
            } else {
                print("Verified checkpoints \(report.checkpoints.joined(separator: ", ")): \(report.files) files "
                      + "(\(report.tables) tables, every block checksum), \(report.bytes) bytes: OK")
            }
        case "restore":
            guard rest.count == 2 else { throw ToolError("restore needs ID DEST") }
            var restoreOptions = RestoreOptions()
            restoreOptions.hardLinkTables = c.link.or(false)
            try store.restore(id: rest[0], to: rest[1], options: restoreOptions)
            print("Restored checkpoint \(rest[0]) into \(rest[1])")
        case "delta":
            guard rest.count == 2 else { throw ToolError("delta needs FROM_ID TO_ID") }
            let files = try store.delta(from: rest[0] == "-" ? nil : rest[0], to: rest[1])
            if json {
                try printJSON(files)
            } else {
                let bytes = files.reduce(UInt64(0)) { $0 + $1.size }
                print("\(files.count) files (\(bytes) bytes) in checkpoint \(rest[1]) not in \(rest[0]):")
                for f in files { print("  \(f.name)  \(f.kind.rawValue)  \(f.size)  \(f.checksum)  \(f.storedAs ?? "")") }
            }
        case "delete":
            guard rest.count == 1 else { throw ToolError("delete needs ID") }
            try store.delete(id: rest[0])
            print("Deleted checkpoint \(rest[0])")
        case "keep_last":
            guard rest.count == 1, let n = Int(rest[0]) else { throw ToolError("keep_last needs N") }
            let deleted = try store.keepLast(n)
            print(deleted.isEmpty ? "Deleted nothing" : "Deleted checkpoints \(deleted.joined(separator: ", "))")
        default:
            throw ToolError("unknown checkpoint_store subcommand '\(sub)'")
        }
        return 0
    }
}
