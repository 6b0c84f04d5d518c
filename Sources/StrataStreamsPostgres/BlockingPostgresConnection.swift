import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Strata

/// One PostgreSQL connection used synchronously: every call starts
/// postgres-nio's future-based operation on the committer's own event loop
/// and waits for it on the calling thread (`EventLoopFuture.wait()`), so the
/// caller — the pipeline's source thread — blocks, never an event-loop
/// thread or a thread of the Swift concurrency pool. Not thread safe: the
/// committer serializes calls with its lock. Must not be used from an
/// event-loop thread (NIO traps `wait()` there).
final class BlockingPostgresConnection {
    let connection: PostgresConnection
    private let logger: Logger

    private init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Connects and authenticates; throws postgres-nio's error (`PSQLError`).
    static func connect(on loop: any EventLoop, configuration: PostgresConnection.Configuration, id: Int,
                        logger: Logger) throws -> BlockingPostgresConnection {
        let connection = try PostgresConnection.connect(on: loop, configuration: configuration, id: id, logger: logger).wait()
        return BlockingPostgresConnection(connection: connection, logger: logger)
    }

    /// Runs one statement (extended protocol: one statement, `$n` binds) and
    /// returns its rows.
    @discardableResult
    func query(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) throws -> [PostgresRow] {
        try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).wait().rows
    }

    /// Closes the connection (errors ignored: it may already be gone).
    func close() {
        _ = try? connection.close().wait()
    }
}

/// What went wrong in a call to PostgreSQL, in words, and whether a new
/// connection might help.
struct PostgresFailure {
    let message: String
    /// The server's SQLSTATE, if it sent an error.
    let sqlState: String?
    /// The connection is gone or the server is shutting down / starting:
    /// reconnecting and retrying may succeed.
    let connectionLost: Bool

    init(_ error: any Error) {
        guard let psql = error as? PSQLError else {
            // NIO channel and socket errors: the connection is not usable.
            message = "\(error)"
            sqlState = nil
            connectionLost = true
            return
        }
        if let info = psql.serverInfo {
            let state = info[.sqlState]
            var text = "server error \(state ?? "?"): \(info[.message] ?? "(no message)")"
            if let detail = info[.detail] { text += " (\(detail))" }
            if let hint = info[.hint] { text += " hint: \(hint)" }
            message = text
            sqlState = state
            // 57P01-03: admin/crash shutdown, cannot connect now (starting
            // up); class 08: connection exception.
            connectionLost = state.map { $0.hasPrefix("57P") || $0.hasPrefix("08") } ?? false
            return
        }
        sqlState = nil
        switch psql.code {
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown:
            connectionLost = true
        default:
            connectionLost = false
        }
        var text = "\(psql.code)"
        if let underlying = psql.underlying { text += ": \(underlying)" }
        message = text
    }
}
