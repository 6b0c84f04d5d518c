/// Range checks for option structs (`Options`, `ColumnFamilyOptions`,
/// `TableOptions`, the stream pipeline's options): each failure is an
/// `.invalidArgument` naming the option (Swift name and RocksDB name), the
/// value given and the range allowed, e.g.
/// `invalid option writeBufferSize (RocksDB write_buffer_size) = 1: allowed 4096...68719476736`.
package enum OptionCheck {
    /// The error for option `name` (RocksDB spelling `rocksDB`, if any)
    /// whose `value` is outside `allowed`; `note` adds the reason.
    package static func error(_ name: String, rocksDB: String? = nil, _ value: Any, allowed: String,
                              note: String? = nil) -> StrataError {
        let mirror = rocksDB.map { " (RocksDB \($0))" } ?? ""
        let tail = note.map { "; \($0)" } ?? ""
        return .invalidArgument("invalid option \(name)\(mirror) = \(value): allowed \(allowed)\(tail)")
    }

    /// Throws unless `range` contains `value`.
    package static func range<T: Comparable>(_ name: String, rocksDB: String? = nil, _ value: T,
                                              _ range: ClosedRange<T>, note: String? = nil) throws(StrataError) {
        guard range.contains(value) else {
            throw error(name, rocksDB: rocksDB, value, allowed: "\(range.lowerBound)...\(range.upperBound)", note: note)
        }
    }

    /// Throws unless `value >= minimum`.
    package static func atLeast<T: Comparable>(_ name: String, rocksDB: String? = nil, _ value: T, _ minimum: T,
                                                note: String? = nil) throws(StrataError) {
        guard value >= minimum else { throw error(name, rocksDB: rocksDB, value, allowed: ">= \(minimum)", note: note) }
    }

    /// Throws unless `value` is a finite number in `range`.
    package static func finite(_ name: String, rocksDB: String? = nil, _ value: Double, _ range: ClosedRange<Double>,
                               note: String? = nil) throws(StrataError) {
        guard value.isFinite, range.contains(value) else {
            throw error(name, rocksDB: rocksDB, value, allowed: "\(range.lowerBound)...\(range.upperBound)", note: note)
        }
    }
}
