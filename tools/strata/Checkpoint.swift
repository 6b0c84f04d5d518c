import Foundation
import Strata
import ToolSupport

/// `strata --db=DIR checkpoint DEST` and `strata checkpoint_store --store=S …`
/// (docs/checkpoints.md). Each prints what it did; `--json` prints JSON.
extension StrataTool {
    static let checkpointUsage = """
          checkpoint DEST [--wal] [--json]          write a checkpoint of --db into the new directory DEST
                                                    (--wal: copy the WAL instead of flushing)
          checkpoint_store --store=S create --db=DIR [--wal] [--keep_last=N] [--json]
          checkpoint_store --store=S list [--json]
          checkpoint_store --store=S verify [ID] [--json]
          checkpoint_store --store=S restore ID DEST [--link]
          checkpoint_store --store=S delta FROM_ID TO_ID [--json]   (FROM_ID "-" = none)
          checkpoint_store --store=S delete ID | keep_last N
        """

    func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    func checkpointOptions() -> CheckpointOptions {
        var options = CheckpointOptions()
        options.flushMemtable = !flags.bool("wal")
        return options
    }

    func describe(_ m: CheckpointManifest) -> String {
        "checkpoint \(m.id): sequence \(m.sequence), \(m.tables.count) tables, \(m.files.count) files, "
            + "\(m.totalBytes) bytes, \(m.newFiles.count) new since \(m.parentID ?? "nothing")"
            + (m.walCopied ? ", WAL copied" : "")
    }

    /// `checkpoint DEST`.
    func checkpoint(args: [String]) throws -> Int32 {
        guard args.count == 1 else { throw ToolError("checkpoint needs DEST") }
        let db = try openDatabase()
        defer { try? db.close() }
        let result = try db.checkpoint(to: args[0], options: checkpointOptions())
        if flags.bool("json") {
            try printJSON(result.manifest)
        } else {
            print("Created \(describe(result.manifest)) in \(result.path) "
                  + "(\(result.tablesLinked) tables linked, \(result.tablesCopied) copied)")
        }
        return 0
    }

    /// `checkpoint_store --store=S SUBCOMMAND …`.
    func checkpointStore(args: [String]) throws -> Int32 {
        guard let path = flags.string("store") else { throw ToolError("--store=<store_path> is required") }
        guard let sub = args.first else { throw ToolError("checkpoint_store needs a subcommand\n" + Self.checkpointUsage) }
        let rest = Array(args.dropFirst())
        var options = CheckpointStoreOptions()
        if let keep = try flags.int("keep_last") { options.keepLast = keep }
        let store = try CheckpointStore.open(at: path, options: options)
        defer { store.close() }
        let json = flags.bool("json")
        switch sub {
        case "create":
            let db = try openDatabase()
            defer { try? db.close() }
            let m = try store.create(from: db, options: checkpointOptions())
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
            restoreOptions.hardLinkTables = flags.bool("link")
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
            throw ToolError("unknown checkpoint_store subcommand '\(sub)'\n" + Self.checkpointUsage)
        }
        return 0
    }
}
