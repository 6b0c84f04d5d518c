import Strata
import ToolSupport

/// ldb's column-family commands, with its output and messages.
extension StrataTool {
    /// `list_column_families`: reads the MANIFEST (without opening the
    /// database, as RocksDB's `DB::ListColumnFamilies`) and prints
    /// `Column families in DIR: ` then `{default, NAME, ...}` in id order.
    func listColumnFamilies() throws {
        let path = try databasePath()
        let fs = PosixFileSystem.shared
        let currentPath = Path.join(path, "CURRENT")
        guard fs.exists(currentPath) else {
            throw ToolError("Error in processing db \(path) IO error: No such file or directory: \(currentPath)")
        }
        let current = try fs.openRandomAccess(currentPath)
        let name = String(decoding: try current.read(at: 0, count: Int(current.size)), as: UTF8.self)
            .trimmingCharacters(in: "\n")
        current.close()
        let file = try fs.openRandomAccess(Path.join(path, name))
        defer { file.close() }
        let reader = LogReader(file: file)
        var families: [UInt32: String] = [0: "default"]
        while let record = try reader.next() {
            let edit = try VersionEdit.decode(record)
            if let added = edit.columnFamilyAdd { families[edit.columnFamily] = added }
            if edit.columnFamilyDrop { families[edit.columnFamily] = nil }
        }
        print("Column families in \(path): ")
        print("{" + families.sorted { $0.key < $1.key }.map(\.value).joined(separator: ", ") + "}")
    }

    /// `create_column_family NAME`: prints OK.
    func createColumnFamily(_ name: String) throws -> Int32 {
        let db = try openDatabase()
        defer { try? db.close() }
        if db.columnFamily(named: name) != nil {
            throw ToolError("Fail to create new column family: Invalid argument: Column family already exists")
        }
        do {
            try db.createColumnFamily(named: name)
        } catch {
            throw ToolError("Fail to create new column family: \(error)")
        }
        try db.close()
        print("OK")
        return 0
    }

    /// `drop_column_family NAME`: prints OK.
    func dropColumnFamily(_ name: String) throws -> Int32 {
        let db = try openDatabase()
        defer { try? db.close() }
        if name == "default" {
            throw ToolError("Fail to drop column family: Invalid argument: Can't drop default column family")
        }
        guard db.columnFamily(named: name) != nil else {
            throw ToolError("Column family: \(name) doesn't exist in db.")
        }
        do {
            try db.dropColumnFamily(named: name)
        } catch {
            throw ToolError("Fail to drop column family: \(error)")
        }
        try db.close()
        print("OK")
        return 0
    }
}
