import Foundation
import StrataTestSupport
import StrataNATS
#if canImport(Glibc)
import Glibc
#endif

/// Why a test could not get a NATS server.
struct NATSTestServerError: Error, CustomStringConvertible {
    let description: String
}

/// A real `nats-server -js` for one test: on a free loopback port, with
/// its JetStream store in a fresh temp directory. `stop()`/`start()` keep
/// the port and the store (a restart); `shutdown()` stops it and removes
/// the directory. Fails (never skips) when nats-server is not installed.
final class NATSTestServer {
    let port: Int
    let storeDirectory: String
    private let executable: String
    private var process: Process?

    /// Finds nats-server on PATH (or /usr/sbin, where Debian puts it).
    static func executablePath() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = path.split(separator: ":").map { "\($0)/nats-server" } + ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw NATSTestServerError(description: "nats-server is not installed (not on PATH nor in /usr/sbin): run tools/install-deps.sh")
        }
        return found
    }

    /// Starts a server on a free port with a new store directory.
    init() throws {
        executable = try Self.executablePath()
        port = try LoopbackPort.unused()
        storeDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("strata-nats-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: storeDirectory, withIntermediateDirectories: true)
        try start()
    }

    deinit { shutdown() }

    var options: NATSConnectionOptions { NATSConnectionOptions(host: "127.0.0.1", port: port) }

    /// Starts the server process and waits until it accepts a NATS connection.
    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-a", "127.0.0.1", "-p", "\(port)", "-js", "-sd", storeDirectory,
                             "-l", "\(storeDirectory)/nats-server.log"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        // Poll until the server answers a full CONNECT/PING (bounded: 20 s).
        let deadline = Date(timeIntervalSinceNow: 20)
        while true {
            if let connection = try? NATSConnection.connect(options) {
                defer { connection.close() }
                // JetStream answers its account info once its store is recovered.
                if let reply = try? connection.request("$JS.API.INFO", payload: [], timeout: 2), reply.status == nil { return }
            }
            guard process.isRunning else {
                let log = (try? String(contentsOfFile: "\(storeDirectory)/nats-server.log", encoding: .utf8)) ?? ""
                throw NATSTestServerError(description: "nats-server exited at start (status \(process.terminationStatus)); log:\n\(log.suffix(2000))")
            }
            guard Date() < deadline else {
                process.terminate()
                throw NATSTestServerError(description: "nats-server did not accept connections on 127.0.0.1:\(port) within 20 s")
            }
            usleep(50_000)
        }
    }

    /// Stops the server (SIGTERM, then waits for it to exit); the store stays.
    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
    }

    /// Stops the server and removes its store directory.
    func shutdown() {
        stop()
        try? FileManager.default.removeItem(atPath: storeDirectory)
    }

    func connect() throws -> NATSConnection { try NATSConnection.connect(options) }

}
