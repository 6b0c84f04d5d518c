import Foundation
import StrataTestSupport
import StreamsTestSupport
import Strata
@testable import StrataStreamsPostgres

/// A throwaway PostgreSQL cluster for a test, run by tools/postgres-server.sh:
/// its own temp directory, a free loopback port, user `postgres` with the
/// password `password`. `start()` returns once the server accepts
/// connections (pg_ctl -w); `kill()` is a crash (immediate shutdown),
/// `stop()` a clean one; `start()` again restarts it on the same port and
/// data. `remove()` stops it and deletes the directory. Missing PostgreSQL
/// binaries are an error that says to run tools/install-deps.sh.
final class PostgresTestServer: @unchecked Sendable {
    // @unchecked: used by one test thread at a time.
    static let password = "strata-test"
    let directory: String
    private(set) var port = 0
    private var running = false

    /// tools/postgres-server.sh of this checkout.
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/postgres-server.sh").path
    }

    init(_ name: String) throws {
        for binary in ["initdb", "pg_ctl", "postgres"] where !FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/15/bin/\(binary)") {
            throw StrataError(.invalidArgument, "PostgreSQL is not installed (/usr/lib/postgresql/15/bin/\(binary) is missing): "
                              + "run tools/install-deps.sh")
        }
        directory = NSTemporaryDirectory() + "strata-pg-\(name)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            try LoopbackPort.retrying { port in
                self.port = port
                try start()
            }
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// Starts the cluster (initdb on first use).
    func start() throws {
        try run("start")
        running = true
    }

    /// Immediate shutdown: no checkpoint; the next start recovers from WAL.
    func kill() {
        guard running else { return }
        try? run("kill")
        running = false
    }

    /// Fast (clean) shutdown.
    func stop() {
        guard running else { return }
        try? run("stop")
        running = false
    }

    /// Stops the server and deletes its directory.
    func remove() {
        kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { remove() }

    /// Sink options for this server's `postgres` database.
    func options(_ tables: [PostgresTableSchema], sinkName: String = "pipeline") -> PostgresSinkOptions {
        var options = PostgresSinkOptions(username: "postgres", database: "postgres", tables: tables)
        options.port = port
        options.password = Self.password
        options.sinkName = sinkName
        options.reconnectDelay = .milliseconds(50)
        return options
    }

    /// Runs the script to its end (`TestServerProcess.runToEnd`: the
    /// daemonized server must not inherit a pipe).
    private func run(_ action: String) throws {
        var environment = ProcessInfo.processInfo.environment
        environment["STRATA_PG_PASSWORD"] = Self.password
        try TestServerProcess.runToEnd(["/bin/bash", Self.script, action, directory, String(port)],
                                       environment: environment, logPath: directory + ".script.log")
    }
}
