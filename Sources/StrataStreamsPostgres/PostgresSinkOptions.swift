import Strata

/// SQL type of a column a `PostgresEpochCommitter` extracts from each row's
/// JSON value. PostgreSQL has no RocksDB counterpart: none of the sink's
/// options mirror a RocksDB option.
public enum PostgresColumnType: String, Sendable, Equatable {
    case text
    case bigint
    case integer
    case doublePrecision = "double precision"
    case numeric
    case boolean
    /// The field's JSON itself (object, array or scalar), not its text.
    case jsonb
}

/// One extra column of an output table: the JSON value's top-level field
/// `field`, converted to `type` by the server when the row is written
/// (`(value ->> 'field')::type`; a missing field or JSON `null` is SQL
/// NULL; a field that does not convert fails the epoch's transaction).
public struct PostgresColumn: Sendable, Equatable {
    /// Column name: lower-case letters, digits and `_`, not starting with a
    /// digit, at most 63 bytes, not `key`, `value`, `epoch` or `seq`.
    public var name: String
    /// Its SQL type.
    public var type: PostgresColumnType
    /// The JSON value's top-level field it is read from. Default: `name`.
    public var field: String

    /// A column `name` of `type` read from the JSON field `field` (default: `name`).
    public init(_ name: String, _ type: PostgresColumnType, field: String? = nil) {
        self.name = name
        self.type = type
        self.field = field ?? name
    }
}

/// Where one output stream's rows go: a table created (if missing) when the
/// committer is constructed.
///
/// Keyed (the default): `key text PRIMARY KEY, value jsonb NOT NULL,
/// epoch bigint NOT NULL` plus the declared columns; each row is an upsert
/// (`ON CONFLICT (key) DO UPDATE`), so the table holds each key's latest
/// value (within an epoch, a key's last row wins). Not keyed (an append
/// stream): `epoch bigint, seq integer, key text, value jsonb` plus the
/// declared columns, primary key `(epoch, seq)` (seq: the row's position
/// in the epoch's rows of that stream); every row is kept.
public struct PostgresTableSchema: Sendable, Equatable {
    /// The `SinkRecord.stream` this table receives.
    public var stream: String
    /// Table name (same rules as a column name). Default: the stream name.
    public var table: String
    /// Upsert by key (true, the default) or append every row.
    public var keyed: Bool
    /// Columns extracted from the JSON value. Default: none.
    public var columns: [PostgresColumn]

    /// Stream `stream` into table `table` (default: the stream's name).
    public init(stream: String, table: String? = nil, keyed: Bool = true, columns: [PostgresColumn] = []) {
        self.stream = stream
        self.table = table ?? stream
        self.keyed = keyed
        self.columns = columns
    }
}

/// Configuration of a `PostgresEpochCommitter`. Checked, and the server
/// reached, when the committer is constructed.
public struct PostgresSinkOptions: Sendable, Equatable {
    /// Server host name or address. Default `127.0.0.1`.
    public var host: String = "127.0.0.1"
    /// Server port. Default 5432 (PostgreSQL's).
    public var port: Int = 5432
    /// Role to log in as. No default.
    public var username: String
    /// Password (cleartext, MD5 or SCRAM-SHA-256, as the server asks); nil
    /// (the default): none (a server that asks for one fails the construction).
    public var password: String? = nil
    /// Database to connect to. No default.
    public var database: String
    /// One table per output stream (at least one; stream and table names
    /// unique). A committed row of another stream fails its epoch.
    public var tables: [PostgresTableSchema]
    /// This sink's row in `strata_progress`: the last epoch committed by the
    /// job writing through this committer. Two jobs sharing a database need
    /// different names; a restarted job must keep its name. Default `pipeline`.
    public var sinkName: String = "pipeline"
    /// Time allowed to open a connection (TCP connect). Default 5 s.
    public var connectTimeout: Duration = .seconds(5)
    /// After a lost connection: how many times to reconnect and retry the
    /// call before failing it. Default 8 (with the default delays about 9 s).
    public var reconnectAttempts: Int = 8
    /// Delay before the first retry; doubles per attempt up to
    /// `maxReconnectDelay`. Default 100 ms.
    public var reconnectDelay: Duration = .milliseconds(100)
    /// The largest delay between retries. Default 2 s.
    public var maxReconnectDelay: Duration = .seconds(2)

    /// Options for `database` as `username`, writing `tables`; the rest defaulted.
    public init(username: String, database: String, tables: [PostgresTableSchema]) {
        self.username = username
        self.database = database
        self.tables = tables
    }

    /// Throws `.invalidArgument` naming the first option out of range.
    package func validate() throws {
        func bad(_ what: String) -> StrataError { StrataError(.invalidArgument, "PostgreSQL sink: \(what)") }
        guard !host.isEmpty else { throw bad("host must not be empty") }
        guard (1...65535).contains(port) else { throw bad("port \(port) must be 1-65535") }
        guard !username.isEmpty else { throw bad("username must not be empty") }
        guard !database.isEmpty else { throw bad("database must not be empty") }
        guard !sinkName.isEmpty else { throw bad("sinkName must not be empty") }
        guard connectTimeout > .zero else { throw bad("connectTimeout must be > 0") }
        guard reconnectAttempts >= 0 else { throw bad("reconnectAttempts \(reconnectAttempts) must be >= 0") }
        guard reconnectDelay >= .zero, maxReconnectDelay >= reconnectDelay else {
            throw bad("reconnectDelay must be >= 0 and <= maxReconnectDelay")
        }
        guard !tables.isEmpty else { throw bad("tables must declare at least one output stream") }
        var streams = Set<String>(), names = Set<String>()
        for t in tables {
            guard streams.insert(t.stream).inserted else { throw bad("stream \"\(t.stream)\" is declared twice") }
            guard Self.isIdentifier(t.table) else {
                throw bad("table name \"\(t.table)\" (stream \"\(t.stream)\") must be lower-case letters, digits and _, "
                          + "not starting with a digit, at most 63 bytes")
            }
            guard t.table != "strata_progress" else { throw bad("table name strata_progress is the sink's progress table") }
            guard names.insert(t.table).inserted else { throw bad("table \"\(t.table)\" is declared twice") }
            var columns = Set<String>()
            for c in t.columns {
                guard Self.isIdentifier(c.name) else {
                    throw bad("column name \"\(c.name)\" of table \(t.table) must be lower-case letters, digits and _, "
                              + "not starting with a digit, at most 63 bytes")
                }
                guard !["key", "value", "epoch", "seq"].contains(c.name) else {
                    throw bad("column name \"\(c.name)\" of table \(t.table) is one of the sink's own (key, value, epoch, seq)")
                }
                guard columns.insert(c.name).inserted else { throw bad("column \"\(c.name)\" of table \(t.table) is declared twice") }
                guard !c.field.isEmpty else { throw bad("column \"\(c.name)\" of table \(t.table) has an empty field") }
            }
        }
    }

    /// A name safe to use unquoted and quoted alike (PostgreSQL folds
    /// unquoted names to lower case; 63 bytes is NAMEDATALEN - 1).
    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return name.utf8.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || $0 == UInt8(ascii: "_")
        }
    }
}
