import Foundation
import Strata

/// A server binary run as a child of the test process (redis-server for the
/// Redis sink's tests), listening on 127.0.0.1:`port`.
///
/// `init` starts it and returns once its output (stdout and stderr, read on
/// a thread of its own so the pipe never fills) contains the server's
/// ready line — no polling. If the server exits first, or the timeout
/// passes, it is killed and reaped and `init` throws an `.ioError` naming
/// the binary and the port, with the server's output (so a caller can
/// retry on "Address already in use"). `stop(signal:)` signals it and
/// reaps it; `deinit` kills it if it still runs.
///
/// The child starts with no signal blocked and every signal at its default
/// action: a child inherits the spawning thread's blocked signals, and the
/// test threads (libdispatch workers) block SIGTERM, so with Foundation's
/// `Process` the server would ignore a clean stop. Its stdin is /dev/null.
///
/// Not thread-safe: one test thread starts and stops it.
package final class TestServerProcess: @unchecked Sendable {
    // @unchecked: `pid` is only touched by the one thread that owns the server.
    /// The binary's path (the spawned program).
    package let binary: String
    /// The loopback port the server was told to listen on.
    package let port: Int
    private var pid: pid_t?
    private let output: OutputReader

    /// Starts `binary` with `arguments` (which must make it listen on
    /// 127.0.0.1:`port`; `port` is for messages) and waits until its output
    /// contains `readyLine`, at most `timeout`.
    package init(binary: String, arguments: [String], port: Int, readyLine: String,
                 timeout: Duration = .seconds(60)) throws {
        self.binary = binary
        self.port = port
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw StrataError(.ioError, "pipe() failed (errno \(errno))") }
        // Close-on-exec, so no other child started meanwhile keeps the write
        // end open (the reader would not see the end); dup2 in the child clears it.
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let child: pid_t
        do {
            child = try spawn([binary] + arguments, environment: ProcessInfo.processInfo.environment) { actions in
                posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
                posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
                posix_spawn_file_actions_addclose(&actions, fds[0])
                posix_spawn_file_actions_addclose(&actions, fds[1])
            }
        } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
        close(fds[1])
        output = OutputReader(FileHandle(fileDescriptor: fds[0], closeOnDealloc: true), readyLine: readyLine)
        let readiness = output.waitUntilReady(timeout: timeout)
        guard readiness == .ready else {
            Glibc.kill(child, SIGKILL)
            _ = reap(child)
            output.waitForEnd(timeout: timeout)
            throw StrataError(.ioError, "\(binary) on 127.0.0.1:\(port) did not start: "
                              + (readiness == .exited ? "it exited before logging \"\(readyLine)\""
                                                      : "no \"\(readyLine)\" in its output within \(timeout)")
                              + "; its output: \(output.text)")
        }
        pid = child
    }

    /// Sends `signal` (SIGKILL: a crash; SIGTERM or the server's own clean
    /// shutdown signal) and waits until the server has exited (reaped) and
    /// its output ended. Does nothing once the server was stopped.
    package func stop(signal: Int32) {
        guard let child = pid else { return }
        Glibc.kill(child, signal)
        _ = reap(child)
        output.waitForEnd(timeout: .seconds(60))
        pid = nil
    }

    deinit { stop(signal: SIGKILL) }

    /// Runs `arguments` (`arguments[0]` a path) to its end with
    /// `environment`: for a helper script that starts or stops a daemonized
    /// server (tools/postgres-server.sh). Its stdout and stderr go to
    /// `logPath` (deleted afterwards), not a pipe: the daemon it starts
    /// would keep a pipe open. Throws an `.ioError` with the command line,
    /// the wait status and the output unless it exits with status 0.
    package static func runToEnd(_ arguments: [String], environment: [String: String], logPath: String) throws {
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        let child = try spawn(arguments, environment: environment) { actions in
            posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        let status = reap(child)
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw StrataError(.ioError, "\(arguments.joined(separator: " ")) failed (wait status \(status)): \(text)")
        }
    }
}

/// posix_spawn of `arguments[0]` with `arguments` and `environment`: stdin
/// /dev/null, no signal blocked, every signal at its default action (see
/// `TestServerProcess`); `redirect` adds the file actions for stdout and
/// stderr. Returns the child's pid.
private func spawn(_ arguments: [String], environment: [String: String],
                   redirect: (inout posix_spawn_file_actions_t) -> Void) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    redirect(&actions)
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
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for e in envp { free(e) } }
    var child: pid_t = 0
    let status = posix_spawn(&child, arguments[0], &actions, &attributes, argv, envp)
    guard status == 0 else {
        throw StrataError(.ioError, "cannot start \(arguments[0]): posix_spawn failed (error \(status))")
    }
    return child
}

/// Waits for `child` to exit and returns its wait status (waitpid, not
/// Foundation's `Process.waitUntilExit`, which can miss the exit on test threads).
private func reap(_ child: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(child, &status, 0) < 0 && errno == EINTR {}
    return status
}

/// Reads a server's output on its own thread (so the pipe never fills) and
/// signals when the output shows the ready line or ends.
private final class OutputReader: @unchecked Sendable {
    // @unchecked: `buffer` and `ready` are only touched with `lock` held.
    enum Readiness { case ready, exited, timedOut }

    private let lock = NSLock()
    private var buffer = ""
    private var ready = false
    private var ended = false
    private let readyOrEnded = DispatchSemaphore(value: 0)
    private let endSignal = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle, readyLine: String) {
        let thread = Thread { [self] in
            var signalled = false
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                let seen = lock.withLock { () -> Bool in
                    buffer += String(decoding: data, as: UTF8.self)
                    if !ready && buffer.contains(readyLine) { ready = true }
                    return ready
                }
                if seen && !signalled { signalled = true; readyOrEnded.signal() }
            }
            lock.withLock { ended = true }
            if !signalled { readyOrEnded.signal() }
            endSignal.signal()
        }
        thread.start()
    }

    /// Whether the ready line came, the output ended first (the server
    /// exited), or neither within `timeout`. Called once.
    func waitUntilReady(timeout: Duration) -> Readiness {
        _ = readyOrEnded.wait(timeout: .now() + .nanoseconds(Int(timeout / .nanoseconds(1))))
        return lock.withLock { ready ? .ready : ended ? .exited : .timedOut }
    }

    /// Waits until the output ended (the server and every process holding
    /// the pipe exited), at most `timeout`.
    func waitForEnd(timeout: Duration) {
        if endSignal.wait(timeout: .now() + .nanoseconds(Int(timeout / .nanoseconds(1)))) == .success {
            endSignal.signal()
        }
    }

    var text: String { lock.withLock { buffer } }
}
