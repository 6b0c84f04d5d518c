import Foundation
import StrataTestSupport
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
        // Another process may take the port between LoopbackPort.unused() and the
        // server's bind: then try another one.
        var lastError: (any Error)? = nil
        for _ in 0..<5 {
            port = try LoopbackPort.unused()
            do {
                try start()
                return
            } catch {
                lastError = error
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
        throw lastError!
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

    /// Runs the script and waits for it (posix_spawn + waitpid: Foundation's
    /// Process.waitUntilExit can miss the exit on test threads). Its output
    /// goes to a file next to the directory, not a pipe: the daemonized
    /// server would keep a pipe open.
    private func run(_ action: String) throws {
        let logPath = directory + ".script.log"
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let arguments = ["/bin/bash", Self.script, action, directory, String(port)]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var environment = ProcessInfo.processInfo.environment
        environment["STRATA_PG_PASSWORD"] = Self.password
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for e in envp { free(e) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, "/bin/bash", &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw StrataError(.ioError, "cannot run \(Self.script): posix_spawn failed (error \(spawned))") }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw StrataError(.ioError, "tools/postgres-server.sh \(action) \(directory) \(port) failed "
                              + "(wait status \(status)): \(text)")
        }
    }

}
