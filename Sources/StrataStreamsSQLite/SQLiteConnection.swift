import CSQLite
import Strata

/// One connection to a SQLite database file, over the system library's C
/// API: just what the epoch sink needs (run a script, prepared statements
/// with text and integer parameters, single-column and row reads, one
/// transaction at a time).
///
/// Errors are `StrataError(.ioError)` carrying SQLite's own message and the
/// file. Not thread-safe: its owner serializes calls (the connection is
/// opened in SQLite's serialized mode as well). Closed on deinit.
final class SQLiteConnection {
    let path: String
    private let handle: OpaquePointer

    /// How long a statement waits for another connection's lock before
    /// failing with SQLITE_BUSY: a second process reading the results file
    /// (a checker, `sqlite3` by hand) must not fail a checkpoint's commit.
    static let busyTimeoutMilliseconds: Int32 = 10_000

    /// Opens `path`, creating the file if it is missing.
    init(path: String) throws {
        self.path = path
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            if let db { sqlite3_close_v2(db) }
            throw StrataError(.ioError, "SQLite: cannot open: \(message) (code \(rc))", file: path)
        }
        handle = db
        sqlite3_busy_timeout(db, Self.busyTimeoutMilliseconds)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs `sql` (one or more statements without parameters).
    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? errorMessage
            sqlite3_free(message)
            throw StrataError(.ioError, "SQLite: \(text) (code \(rc)) in: \(sql.prefix(80))", file: path)
        }
    }

    /// Runs `body` inside one transaction: committed if it returns,
    /// rolled back if it throws (the error is rethrown).
    func transaction<R>(_ body: () throws -> R) throws -> R {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Compiles `sql` (one statement).
    func prepare(_ sql: String) throws -> Statement {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw StrataError(.ioError, "SQLite: \(errorMessage) (code \(rc)) preparing: \(sql.prefix(80))", file: path)
        }
        return Statement(connection: self, handle: statement)
    }

    var errorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    /// A value a statement binds to a parameter.
    enum Value {
        case text(String)
        case integer(Int64)
    }

    /// A compiled statement; finalized on deinit. Used by one thread.
    final class Statement {
        let connection: SQLiteConnection
        let handle: OpaquePointer

        init(connection: SQLiteConnection, handle: OpaquePointer) {
            self.connection = connection
            self.handle = handle
        }

        deinit { sqlite3_finalize(handle) }

        /// Binds `values` to parameters 1... and runs the statement to
        /// completion, discarding any rows.
        func run(_ values: [Value]) throws {
            try bind(values)
            defer { sqlite3_reset(handle) }
            while true {
                let rc = sqlite3_step(handle)
                if rc == SQLITE_DONE { return }
                if rc != SQLITE_ROW { throw failure(rc) }
            }
        }

        /// Binds `values` and returns each result row as its columns' text
        /// (NULL as nil).
        func rows(_ values: [Value] = []) throws -> [[String?]] {
            try bind(values)
            defer { sqlite3_reset(handle) }
            var rows: [[String?]] = []
            let columns = sqlite3_column_count(handle)
            while true {
                let rc = sqlite3_step(handle)
                if rc == SQLITE_DONE { return rows }
                guard rc == SQLITE_ROW else { throw failure(rc) }
                rows.append((0..<columns).map { column in
                    // By length, not up to a NUL: text may hold U+0000.
                    guard let text = sqlite3_column_text(handle, column) else { return nil }
                    let count = Int(sqlite3_column_bytes(handle, column))
                    return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
                })
            }
        }

        private func bind(_ values: [Value]) throws {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
            for (i, value) in values.enumerated() {
                let index = Int32(i + 1)
                let rc: Int32
                switch value {
                case .integer(let n):
                    rc = sqlite3_bind_int64(handle, index, n)
                case .text(let s):
                    // SQLITE_TRANSIENT: SQLite copies the bytes before returning.
                    rc = sqlite3_bind_text(handle, index, s, Int32(s.utf8.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
                }
                if rc != SQLITE_OK { throw failure(rc) }
            }
        }

        private func failure(_ rc: Int32) -> StrataError {
            let sql = sqlite3_sql(handle).map { String(cString: $0) } ?? ""
            return StrataError(.ioError, "SQLite: \(connection.errorMessage) (code \(rc)) in: \(sql.prefix(80))",
                               file: connection.path)
        }
    }
}
