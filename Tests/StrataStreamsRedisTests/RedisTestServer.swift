import Foundation
import StrataTestSupport
import Strata

/// A real `redis-server` for a test: a free loopback port, its own temp
/// directory, `--save "" --appendonly yes` (so what it acknowledged
/// survives a kill, and nothing else is written). `start()` returns when the
/// server logged "Ready to accept connections" (read from its stdout, no
/// polling); `kill()`/`stop()` end it and wait; `start()` again reuses the
/// port and directory (a restart). `remove()` ends it and deletes the
/// directory. Missing redis-server is an error that says to run
/// tools/install-deps.sh.
final class RedisTestServer: @unchecked Sendable {
    // @unchecked: used by one test thread at a time.
    let directory: String
    private(set) var port: Int
    private let extraArguments: [String]
    private var pid: pid_t?
    private var log: LogReader?

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
        // Another process may take the port between LoopbackPort.unused() and the
        // server's bind: then try another one.
        var lastError: (any Error)? = nil
        for _ in 0..<5 {
            port = try LoopbackPort.unused()
            do {
                try start()
                return
            } catch let error as StrataError where error.message.contains("Address already in use") {
                lastError = error
            }
        }
        throw lastError!
    }

    /// Starts redis-server on `port` with `directory` (again, after `kill`/`stop`).
    func start() throws {
        precondition(pid == nil, "the server is running")
        let arguments = [try Self.executable(), "--port", String(port), "--bind", "127.0.0.1", "--save", "",
                         "--appendonly", "yes", "--dir", directory, "--daemonize", "no"] + extraArguments
        let (child, output) = try spawnWithOutputPipe(arguments)
        let reader = LogReader(output)
        guard reader.waitUntilReady() else {
            Glibc.kill(child, SIGKILL)
            var status: Int32 = 0
            waitpid(child, &status, 0)
            reader.waitForEnd()
            throw StrataError(.ioError, "redis-server on port \(port) did not start: \(reader.text)")
        }
        pid = child
        log = reader
    }

    /// SIGKILL (a crash: only what reached the append-only file survives).
    func kill() { end(SIGKILL) }

    /// SIGTERM (a clean shutdown: Redis fsyncs its append-only file and exits).
    func stop() { end(SIGTERM) }

    private func end(_ signal: Int32) {
        guard let child = pid else { return }
        Glibc.kill(child, signal)
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        log?.waitForEnd()
        pid = nil
        log = nil
    }

    /// Ends the server and deletes its directory.
    func remove() {
        kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { remove() }
}

/// Starts `arguments[0]` with `arguments` and its stdout and stderr on a
/// pipe; returns its pid and the pipe's read end. posix_spawn rather than
/// Foundation's Process: a child inherits the spawning thread's blocked
/// signals, and the test threads (libdispatch workers) block SIGTERM, so
/// the server would ignore `stop()`; here the child starts with no signal
/// blocked and every signal at its default action.
private func spawnWithOutputPipe(_ arguments: [String]) throws -> (pid_t, FileHandle) {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { throw StrataError(.ioError, "pipe() failed (errno \(errno))") }
    // Close-on-exec, so no other child started meanwhile keeps the write
    // end open (the reader would not see the end); dup2 in the child clears it.
    _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
    posix_spawn_file_actions_addclose(&actions, fds[0])
    posix_spawn_file_actions_addclose(&actions, fds[1])
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
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var child: pid_t = 0
    let status = posix_spawn(&child, arguments[0], &actions, &attributes, argv, environ)
    close(fds[1])
    guard status == 0 else {
        close(fds[0])
        throw StrataError(.ioError, "cannot start \(arguments[0]): posix_spawn failed (error \(status))")
    }
    return (child, FileHandle(fileDescriptor: fds[0], closeOnDealloc: true))
}

/// Reads a server's output on its own thread (so the pipe never fills) and
/// signals when the server is ready or its output ended.
private final class LogReader: @unchecked Sendable {
    // @unchecked: `buffer` and `ready` are only touched with `lock` held.
    private let lock = NSLock()
    private var buffer = ""
    private var ready = false
    private let readyOrEnded = DispatchSemaphore(value: 0)
    private let ended = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            var signalled = false
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                let seen = lock.withLock { () -> Bool in
                    buffer += String(decoding: data, as: UTF8.self)
                    if !ready && buffer.contains("Ready to accept connections") { ready = true }
                    return ready
                }
                if seen && !signalled { signalled = true; readyOrEnded.signal() }
            }
            if !signalled { readyOrEnded.signal() }
            ended.signal()
        }
        thread.start()
    }

    /// True once the server logged that it accepts connections; false if
    /// its output ended first (it exited) or 60 s passed.
    func waitUntilReady() -> Bool {
        _ = readyOrEnded.wait(timeout: .now() + 60)
        return lock.withLock { ready }
    }

    func waitForEnd() { _ = ended.wait(timeout: .now() + 60) }

    var text: String { lock.withLock { buffer } }
}
