import Strata
import ToolSupport

/// `verify` and `repair`: checking every file of a database that may not
/// open any more, and rebuilding its MANIFEST (RocksDB's `RepairDB`, which
/// `ldb repair` runs).
extension StrataTool {
    func verify() throws -> Int32 {
        let path = try databasePath()
        let report = try Database.verify(at: path)
        print(report)
        return report.isHealthy ? 0 : 1
    }

    func repair() throws -> Int32 {
        let path = try databasePath()
        var options = Options()
        // The merge operator the compaction after a repair may need, as
        // the other commands open with (ldb's ':' string append by default).
        switch global.mergeOperator {
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
