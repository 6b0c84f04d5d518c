import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Strata
import StrataStreams

/// A PostgreSQL sink for a `Pipeline`: exactly-once output tables
/// (docs/postgres-sink.md).
///
/// Each epoch is one transaction that locks this sink's row of
/// `strata_progress(sink text PRIMARY KEY, epoch bigint)`, and — only if
/// the new epoch is the next one — writes the epoch's rows into their
/// streams' tables (upserts for keyed streams, inserts for append streams)
/// and sets the row to the new epoch, then commits. An epoch already
/// committed (a replay after a crash of the job, or a retry whose COMMIT
/// reply was lost) is skipped; an epoch that does not follow the stored
/// one writes nothing and fails the call (the database lost committed
/// epochs, or another job shares the sink name).
///
/// Tables are created (`CREATE TABLE IF NOT EXISTS`) from
/// `options.tables` at construction; an existing table lacking a needed
/// column is an error there. The constructor connects, authenticates and
/// runs `SELECT 1`, so a missing server, wrong credentials or an unknown
/// database fail it at once (no retries), with the server's words.
/// Later, a lost connection (or a server shutting down or starting up) is
/// retried `reconnectAttempts` times on new connections with growing
/// delays; retrying an epoch is safe because the transaction re-reads the
/// progress row. A call returns only after the server confirmed COMMIT.
///
/// Durability is the server's: with `synchronous_commit = on` (its default)
/// a committed epoch survives a crash of PostgreSQL.
///
/// Thread safety: every call takes an internal lock. Calls block the
/// calling thread until the server answers (the committer runs its own
/// one-thread NIO event loop and waits on its futures), so make them from a
/// thread you own — the pipeline makes them on its source thread — never
/// from an event-loop thread or the Swift concurrency pool.
public final class PostgresEpochCommitter: EpochCommitter, @unchecked Sendable {
    // @unchecked: the mutable state below is only touched with `lock` held.
    /// The options this committer was built with.
    public let options: PostgresSinkOptions
    private let group: MultiThreadedEventLoopGroup
    private let configuration: PostgresConnection.Configuration
    private let logger = Logger(label: "strata.postgres-sink", factory: { _ in SwiftLogNoOpLogHandler() })
    private let lock = NSLock()
    private var connection: BlockingPostgresConnection?
    private var connections = 0
    private let tablesByStream: [String: PostgresTableSchema]

    /// Checks `options`, connects, runs `SELECT 1`, creates the progress
    /// table and the output tables if missing and this sink's progress row.
    /// Throws `.invalidArgument` for bad options, refused credentials, an
    /// unknown database or an existing table of another shape, `.ioError`
    /// when the server cannot be reached. Blocks up to about
    /// `connectTimeout` to connect (no retries: configuration errors show at once).
    public init(options: PostgresSinkOptions) throws {
        try options.validate()
        self.options = options
        var config = PostgresConnection.Configuration(host: options.host, port: options.port, username: options.username,
                                                      password: options.password, database: options.database, tls: .disable)
        config.options.connectTimeout = .nanoseconds(Self.nanoseconds(options.connectTimeout))
        configuration = config
        tablesByStream = Dictionary(uniqueKeysWithValues: options.tables.map { ($0.stream, $0) })
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // A throw here runs deinit (every property is set), which closes
        // the connection and shuts the event loop down.
        try locked {
            let c = try connectFirst()
            connection = c
            try createTables(c)
        }
    }

    deinit { closeEverything() }

    /// The server's address as `host:port/database`, for messages.
    private var endpoint: String { "\(options.host):\(options.port)/\(options.database)" }

    /// The last epoch committed for `sinkName` (0: none). Throws `.ioError`
    /// when the server stays unreachable through the retries.
    public func lastCommittedEpoch() throws -> UInt64 {
        try locked {
            try withRetries("reading the progress of sink \"\(options.sinkName)\"") { c in
                var binds = PostgresBindings()
                binds.append(options.sinkName)
                let rows = try c.query("SELECT epoch FROM strata_progress WHERE sink = $1", binds)
                guard let row = rows.first else { return 0 }
                return UInt64(max(0, try row.decode(Int64.self)))
            }
        }
    }

    /// Commits epoch `epoch`'s rows and the epoch number in one
    /// transaction; returns once the server confirmed it. An epoch ≤ the
    /// stored one is skipped (returns normally). Throws, having written
    /// nothing of the epoch: `.invalidArgument` for epoch 0 or above 2^63,
    /// a row of an undeclared stream, or a row the server refuses (a value
    /// that is not JSON, a field that does not convert to its column's
    /// type); `.ioError` for a gap (the stored epoch is below `epoch - 1`)
    /// or a server that stays unreachable.
    public func commit(epoch: UInt64, records: [SinkRecord]) throws {
        guard epoch >= 1, epoch <= UInt64(Int64.max) else {
            throw StrataError(.invalidArgument, "PostgreSQL sink: epoch \(epoch) is outside 1…2^63-1")
        }
        var byStream: [String: [SinkRecord]] = [:]
        for record in records {
            guard tablesByStream[record.stream] != nil else {
                throw StrataError(.invalidArgument, "PostgreSQL sink: epoch \(epoch) has rows of stream \"\(record.stream)\", "
                                  + "which PostgresSinkOptions.tables does not declare (declared: "
                                  + options.tables.map(\.stream).sorted().joined(separator: ", ") + ")")
            }
            byStream[record.stream, default: []].append(record)
        }
        let what = "epoch \(epoch) (\(records.count) rows)"
        try locked {
            try withRetries("committing \(what)") { c in
                try c.query("BEGIN")
                do {
                    var binds = PostgresBindings()
                    binds.append(options.sinkName)
                    let rows = try c.query("SELECT epoch FROM strata_progress WHERE sink = $1 FOR UPDATE", binds)
                    let stored = UInt64(max(0, try rows.first?.decode(Int64.self) ?? 0))
                    if epoch <= stored {
                        try c.query("ROLLBACK")
                        return
                    }
                    guard epoch == stored + 1 else {
                        try c.query("ROLLBACK")
                        throw StrataError(.ioError, "PostgreSQL sink: \(what) was not committed: strata_progress says sink "
                                          + "\"\(options.sinkName)\" committed epoch \(stored), so the epochs between are missing "
                                          + "from \(endpoint) (restored from an older backup, or another job uses this sink name); "
                                          + "restart the job: its recovery commits them again")
                    }
                    for table in options.tables {
                        guard let rows = byStream[table.stream], !rows.isEmpty else { continue }
                        try insert(rows, into: table, epoch: epoch, on: c)
                    }
                    var update = PostgresBindings()
                    update.append(options.sinkName)
                    update.append(Int64(epoch))
                    try c.query("UPDATE strata_progress SET epoch = $2 WHERE sink = $1", update)
                    try c.query("COMMIT")
                } catch let error as StrataError {
                    throw error
                } catch {
                    let failure = PostgresFailure(error)
                    if !failure.connectionLost {
                        // A refused row: end the transaction, keep the connection.
                        _ = try? c.query("ROLLBACK")
                        throw StrataError(.invalidArgument, "PostgreSQL sink: \(what) was not committed (nothing of it was "
                                          + "written): \(failure.message)")
                    }
                    throw error
                }
            }
        }
    }

    /// Every row of `stream`'s table as `SinkRecord`s (value: the stored
    /// jsonb as text, which PostgreSQL normalizes), keyed tables by key,
    /// append tables by (epoch, seq). For checks and tools.
    package func rows(ofStream stream: String) throws -> [SinkRecord] {
        guard let table = tablesByStream[stream] else {
            throw StrataError(.invalidArgument, "PostgreSQL sink: stream \"\(stream)\" is not declared")
        }
        let order = table.keyed ? "key" : "epoch, seq"
        return try query("SELECT key, value::text FROM \"\(table.table)\" ORDER BY \(order)").map {
            SinkRecord(stream: stream, key: $0[0] ?? "", value: $0[1] ?? "")
        }
    }

    /// Runs one SQL statement (with retries) and returns its rows with every
    /// cell decoded as text (cast columns to `text` in the SQL); nil for NULL.
    /// For checks and tools.
    package func query(_ sql: String) throws -> [[String?]] {
        try locked {
            try withRetries("running \(sql)") { c in
                try c.query(sql).map { row in try row.map { cell in try cell.decode(String?.self) } }
            }
        }
    }

    /// Connections opened after the first (for tests).
    package var reconnectCount: Int { locked { max(0, connections - 1) } }

    // MARK: - Statements

    private func insert(_ rows: [SinkRecord], into table: PostgresTableSchema, epoch: UInt64,
                        on c: BlockingPostgresConnection) throws {
        var keys: [String] = []
        var values: [String] = []
        if table.keyed {
            // ON CONFLICT DO UPDATE may not touch a row twice in one
            // statement: keep each key's last row, in first-seen order.
            var index: [String: Int] = [:]
            for row in rows {
                if let i = index[row.key] {
                    values[i] = row.value
                } else {
                    index[row.key] = keys.count
                    keys.append(row.key)
                    values.append(row.value)
                }
            }
        } else {
            keys = rows.map(\.key)
            values = rows.map(\.value)
        }
        var binds = PostgresBindings()
        binds.append(keys)
        binds.append(values)
        binds.append(Int64(epoch))
        try c.query(Self.insertSQL(table), binds)
    }

    /// The statement writing one table's rows: `$1` keys, `$2` values
    /// (JSON text), `$3` the epoch; unnest turns the two arrays into rows.
    static func insertSQL(_ table: PostgresTableSchema) -> String {
        let extra = table.columns.map { ", \"\($0.name)\"" }.joined()
        let extracted = table.columns.map { column -> String in
            let field = "'" + column.field.replacingOccurrences(of: "'", with: "''") + "'"
            return column.type == .jsonb ? ", (r.j -> \(field))" : ", (r.j ->> \(field))::\(column.type.rawValue)"
        }.joined()
        let source = "FROM (SELECT u.k, u.v::jsonb AS j, u.n FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(k, v, n)) AS r"
        if table.keyed {
            let updates = (["value", "epoch"] + table.columns.map { "\"\($0.name)\"" }).map { "\($0) = excluded.\($0)" }
            return "INSERT INTO \"\(table.table)\" (key, value, epoch\(extra)) SELECT r.k, r.j, $3\(extracted) \(source) "
                + "ON CONFLICT (key) DO UPDATE SET " + updates.joined(separator: ", ")
        }
        return "INSERT INTO \"\(table.table)\" (epoch, seq, key, value\(extra)) SELECT $3, r.n - 1, r.k, r.j\(extracted) \(source)"
    }

    /// The `CREATE TABLE IF NOT EXISTS` of one output table.
    static func createSQL(_ table: PostgresTableSchema) -> String {
        let extra = table.columns.map { ", \"\($0.name)\" \($0.type.rawValue)" }.joined()
        if table.keyed {
            return "CREATE TABLE IF NOT EXISTS \"\(table.table)\" (key text PRIMARY KEY, value jsonb NOT NULL, "
                + "epoch bigint NOT NULL\(extra))"
        }
        return "CREATE TABLE IF NOT EXISTS \"\(table.table)\" (epoch bigint NOT NULL, seq integer NOT NULL, key text NOT NULL, "
            + "value jsonb NOT NULL\(extra), PRIMARY KEY (epoch, seq))"
    }

    /// Creates the progress table, this sink's row and the output tables;
    /// checks that existing tables have the columns the sink writes. Lock held.
    private func createTables(_ c: BlockingPostgresConnection) throws {
        do {
            try c.query("CREATE TABLE IF NOT EXISTS strata_progress (sink text PRIMARY KEY, epoch bigint NOT NULL)")
            var binds = PostgresBindings()
            binds.append(options.sinkName)
            try c.query("INSERT INTO strata_progress (sink, epoch) VALUES ($1, 0) ON CONFLICT (sink) DO NOTHING", binds)
            for table in options.tables { try c.query(Self.createSQL(table)) }
        } catch {
            throw StrataError(.invalidArgument, "PostgreSQL sink: cannot create its tables in \(endpoint): \(PostgresFailure(error).message)")
        }
        for table in options.tables {
            var binds = PostgresBindings()
            binds.append(table.table)
            let present: Set<String>
            do {
                present = Set(try c.query("SELECT column_name::text FROM information_schema.columns "
                                          + "WHERE table_schema = current_schema() AND table_name = $1", binds)
                    .map { try $0.decode(String.self) })
            } catch {
                throw StrataError(.ioError, "PostgreSQL sink: cannot read the columns of \(table.table): \(PostgresFailure(error).message)")
            }
            let needed = (table.keyed ? ["key", "value", "epoch"] : ["epoch", "seq", "key", "value"]) + table.columns.map(\.name)
            if let missing = needed.first(where: { !present.contains($0) }) {
                throw StrataError(.invalidArgument, "PostgreSQL sink: table \(table.table) (stream \"\(table.stream)\") in "
                                  + "\(endpoint) exists without column \(missing): drop it or declare another table name")
            }
        }
    }

    // MARK: - Connections

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// The first connection: connect, authenticate, `SELECT 1`; every
    /// failure is a configuration error, reported at once. Lock held.
    private func connectFirst() throws -> BlockingPostgresConnection {
        let c: BlockingPostgresConnection
        do {
            c = try openConnection()
        } catch {
            let failure = PostgresFailure(error)
            switch failure.sqlState {
            case "28P01", "28000":
                throw StrataError(.invalidArgument, "PostgreSQL sink: \(endpoint) refused user \"\(options.username)\": "
                                  + "\(failure.message) (check PostgresSinkOptions.username and password)")
            case "3D000":
                throw StrataError(.invalidArgument, "PostgreSQL sink: database \"\(options.database)\" does not exist at "
                                  + "\(options.host):\(options.port): \(failure.message)")
            case nil:
                throw StrataError(.ioError, "PostgreSQL sink: cannot connect to \(options.host):\(options.port) "
                                  + "(is PostgreSQL running there?): \(failure.message)")
            default:
                throw StrataError(.invalidArgument, "PostgreSQL sink: \(endpoint) refused the connection: \(failure.message)")
            }
        }
        do {
            let rows = try c.query("SELECT 1")
            guard rows.count == 1, try rows[0].decode(Int32.self) == 1 else {
                throw StrataError(.ioError, "PostgreSQL sink: \(endpoint) answered SELECT 1 with \(rows.count) rows")
            }
        } catch let error as StrataError {
            c.close()
            throw error
        } catch {
            c.close()
            throw StrataError(.ioError, "PostgreSQL sink: SELECT 1 at \(endpoint) failed: \(PostgresFailure(error).message)")
        }
        return c
    }

    private func openConnection() throws -> BlockingPostgresConnection {
        connections += 1
        return try BlockingPostgresConnection.connect(on: group.next(), configuration: configuration, id: connections, logger: logger)
    }

    /// Runs `body` on a connection, reconnecting and retrying after a lost
    /// connection up to `reconnectAttempts` times. `body` must be safe to
    /// repeat. `StrataError`s and server errors other than a lost
    /// connection pass through at once. Lock held.
    private func withRetries<T>(_ what: String, _ body: (BlockingPostgresConnection) throws -> T) throws -> T {
        var delay = options.reconnectDelay
        var lastProblem = ""
        for attempt in 0...options.reconnectAttempts {
            if attempt > 0 {
                Thread.sleep(forTimeInterval: Double(Self.nanoseconds(delay)) / 1e9)
                delay = min(delay * 2, options.maxReconnectDelay)
            }
            let c: BlockingPostgresConnection
            do {
                if let existing = connection, !existing.connection.isClosed {
                    c = existing
                } else {
                    connection?.close()
                    connection = nil
                    c = try openConnection()
                    connection = c
                }
            } catch {
                let failure = PostgresFailure(error)
                lastProblem = failure.message
                if failure.sqlState != nil && !failure.connectionLost {
                    throw StrataError(.ioError, "PostgreSQL sink: \(what): reconnecting to \(endpoint) failed: \(failure.message)")
                }
                continue
            }
            do {
                return try body(c)
            } catch let error as StrataError {
                throw error
            } catch {
                let failure = PostgresFailure(error)
                guard failure.connectionLost else {
                    throw StrataError(.ioError, "PostgreSQL sink: \(what) failed: \(failure.message)")
                }
                c.close()
                connection = nil
                lastProblem = failure.message
            }
        }
        throw StrataError(.ioError, "PostgreSQL sink: \(what) failed after \(options.reconnectAttempts) reconnect attempts "
                          + "to \(endpoint) (last: \(lastProblem)); nothing was reported committed")
    }

    private func closeEverything() {
        connection?.close()
        connection = nil
        try? group.syncShutdownGracefully()
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        let (seconds, attoseconds) = d.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
