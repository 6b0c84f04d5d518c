import Strata
import ToolSupport

/// `verify` and `repair`: checking every file of a database that may not
/// open any more, and rebuilding its MANIFEST (RocksDB's `RepairDB`, which
/// `ldb repair` runs).
extension StrataTool {
    static let repairUsage = """
          verify                   check every file (CURRENT, MANIFEST, tables, WALs, IDENTITY, OPTIONS)
                                   without opening the database; one line per file (OK, WARNING, LEFTOVER,
                                   DAMAGED); exit 1 if any is damaged (leftovers of a crash are not damage)
          repair                   rebuild the MANIFEST from the tables and WALs that survive (RepairDB);
                                   unusable files move to DIR/lost/; prints what was kept and lost
        """

    func verify() throws -> Int32 {
        guard let path = flags.string("db") else { throw ToolError("--db=<database_path> is required") }
        let report = try Database.verify(at: path)
        print(report)
        return report.isHealthy ? 0 : 1
    }

    func repair() throws -> Int32 {
        guard let path = flags.string("db") else { throw ToolError("--db=<database_path> is required") }
        var options = Options()
        // The merge operator the compaction after a repair may need, as
        // the other commands open with (ldb's ':' string append by default).
        switch flags.string("merge_operator") {
        case nil, "stringappend", "StringAppendOperator": options.mergeOperator = StringAppendOperator(separator: ":")
        case "int64add", "uint64add", "UInt64AddOperator": options.mergeOperator = Int64AddOperator()
        case "none": options.mergeOperator = nil
        case let other?: throw ToolError("unsupported --merge_operator=\(other) (stringappend, int64add or none)")
        }
        let report = try Database.repair(at: path, options: options)
        print(report)
        return 0
    }
}
