import Foundation
import StrataTestSupport
import StreamsTestSupport
import Strata

/// A real `redis-server` for a test: a free loopback port, its own temp
/// directory, `--save "" --appendonly yes` (so what it acknowledged
/// survives a kill, and nothing else is written), run by `TestServerProcess`.
/// `start()` returns when the server logged "Ready to accept connections"
/// (read from its stdout, no polling); `kill()`/`stop()` end it and reap it;
/// `start()` again reuses the port and directory (a restart). `remove()`
/// ends it and deletes the directory. Missing redis-server is an error that
/// says to run tools/install-deps.sh.
final class RedisTestServer: @unchecked Sendable {
    // @unchecked: used by one test thread at a time.
    let directory: String
    private(set) var port: Int
    private let extraArguments: [String]
    private var process: TestServerProcess?

    var address: String { "127.0.0.1:\(port)" }

    /// Starts a server; `arguments` are added to the command line (e.g.
    /// `["--requirepass", "secret"]`).
    init(_ name: String, arguments: [String] = []) throws {
        directory = NSTemporaryDirectory() + "strata-redis-\(name)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        extraArguments = arguments
        port = 0
        do {
            try startOnFreePort()
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    static func executable() throws -> String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/redis-server"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server") { return "/usr/bin/redis-server" }
        throw StrataError(.invalidArgument, "redis-server is not installed (not on PATH): run tools/install-deps.sh")
    }

    private func startOnFreePort() throws {
        try LoopbackPort.retrying(when: { ($0 as? StrataError)?.message.contains("Address already in use") == true }) { port in
            self.port = port
            try start()
        }
    }

    /// Starts redis-server on `port` with `directory` (again, after `kill`/`stop`).
    func start() throws {
        precondition(process == nil, "the server is running")
        let arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "",
                         "--appendonly", "yes", "--dir", directory, "--daemonize", "no"] + extraArguments
        process = try TestServerProcess(binary: try Self.executable(), arguments: arguments, port: port,
                                        readyLine: "Ready to accept connections")
    }

    /// SIGKILL (a crash: only what reached the append-only file survives).
    func kill() { end(SIGKILL) }

    /// SIGTERM (a clean shutdown: Redis fsyncs its append-only file and exits).
    func stop() { end(SIGTERM) }

    private func end(_ signal: Int32) {
        process?.stop(signal: signal)
        process = nil
    }

    /// Ends the server and deletes its directory.
    func remove() {
        kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { remove() }
}
