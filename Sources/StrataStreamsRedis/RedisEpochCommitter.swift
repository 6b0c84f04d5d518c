import Foundation
import Strata
import StrataStreams

/// A Redis cache sink for a `Pipeline`: the latest value of every result
/// key, exactly once in effect (docs/redis-sink.md).
///
/// Each epoch is one Lua script run (`EVALSHA`) that reads this sink's last
/// applied epoch from the hash `PREFIX:progress` (field `sinkName`) and, only
/// if the new epoch is the next one, writes the epoch's rows — with the
/// strings layout `SET PREFIX:STREAM:KEY VALUE`, with the hashes layout
/// `HSET PREFIX:STREAM KEY VALUE` — and the new epoch number, atomically.
/// An epoch already applied (a replay after a crash of the job, or a retry
/// whose first reply was lost) is skipped; an epoch that does not follow
/// the last one (Redis lost acknowledged epochs) writes nothing and fails
/// the call, so a restarted job's recovery commits the missing epochs.
/// Within an epoch only a key's last row is written.
///
/// Connections: the constructor connects, authenticates, selects the
/// database and checks the server with `PING`, so a wrong address, a
/// missing server or a wrong password fails there. Later, a lost
/// connection (or `LOADING`/`BUSY` from a restarting or busy server) is
/// retried `reconnectAttempts` times with growing delays, each retry on a
/// new connection; when they are used up the call throws `.ioError`. A
/// call returns only after Redis confirmed the epoch (the script's reply):
/// an error never leaves an epoch reported as committed.
///
/// Durability is Redis': with `appendonly yes` an applied epoch survives a
/// kill of redis-server; with `appendfsync everysec` (Redis' default) an
/// operating-system crash can lose the last second, which the next
/// `commit` reports as a gap (see above) instead of hiding it.
///
/// Thread safety: every call takes an internal lock; calls block the
/// calling thread on the network (hiredis is synchronous), so make them
/// from a thread you own — the pipeline makes them on its source thread —
/// never from the Swift concurrency pool. The constructor sets SIGPIPE to
/// "ignore" if it still has its default action (writing to a connection
/// Redis closed must be an error, not the end of the process).
public final class RedisEpochCommitter: EpochCommitter, @unchecked Sendable {
    // @unchecked: the mutable state below is only touched with `lock` held.
    /// The options this committer was built with.
    public let options: RedisSinkOptions
    private let endpoint: RedisEndpoint
    private let lock = NSLock()
    private var connection: RedisConnection?
    private var scriptSHA = ""
    private var reconnects = 0

    /// Checks `options`, connects to the server and checks that this sink's
    /// progress can be read. Throws `.invalidArgument` for bad options, an
    /// unparsable address, a failed `AUTH`/`SELECT` or a progress key that
    /// is not a hash, `.ioError` when the server cannot be reached. Blocks
    /// up to `connectTimeout` (no retries: configuration errors show at once).
    public init(options: RedisSinkOptions) throws {
        try options.validate()
        self.options = options
        endpoint = try RedisEndpoint(parsing: options.address)
        Self.ignoreSIGPIPE()
        do {
            connection = try openConnection()
        } catch let lost as RedisConnectionLost {
            throw StrataError(.ioError, "Redis sink: \(lost.message) (is redis-server running at \(endpoint)?)")
        } catch let transient as RedisTransientReply {
            throw StrataError(.ioError, "Redis sink: the server at \(endpoint) is not ready: \(transient.message)")
        }
        _ = try lastCommittedEpoch()
    }

    /// The last epoch applied for `sinkName` (0: none). Throws `.ioError`
    /// when Redis stays unreachable through the retries, `.corruption` when
    /// the progress field is not a decimal number.
    public func lastCommittedEpoch() throws -> UInt64 {
        try locked {
            let key = RedisKeys.progress(prefix: options.keyPrefix)
            let reply = try withRetries("reading the progress of \"\(options.sinkName)\" in \(key)") { connection in
                try connection.command(RedisArguments("HGET", key, options.sinkName))
            }
            switch reply {
            case .null: return 0
            case .string(let bytes):
                let text = String(decoding: bytes, as: UTF8.self)
                guard let epoch = UInt64(text) else {
                    throw StrataError(.corruption, "Redis sink: field \"\(options.sinkName)\" of \(key) is \"\(text)\", expected an epoch number")
                }
                return epoch
            case .error(let message):
                throw StrataError(.invalidArgument, "Redis sink: cannot read \(key) (the sink's progress hash): \(message)"
                                  + "; choose a keyPrefix whose PREFIX:progress is free")
            default:
                throw StrataError(.ioError, "Redis sink: unexpected reply to HGET \(key): \(reply)")
            }
        }
    }

    /// Applies epoch `epoch`'s rows (the last row of each (stream, key)
    /// wins) and records the epoch, atomically; returns once Redis
    /// confirmed it. An epoch ≤ the last applied one is skipped (returns
    /// normally). Throws — having written nothing of the epoch — `.ioError`
    /// when Redis stays unreachable, refuses the script (out of memory, a
    /// target key of the wrong type) or lacks the epochs before this one,
    /// and `.invalidArgument` for epoch 0 or above 2^53, or (hashes layout)
    /// a stream named `progress`.
    public func commit(epoch: UInt64, records: [SinkRecord]) throws {
        guard epoch >= 1, epoch <= RedisCommitScript.maxEpoch else {
            throw StrataError(.invalidArgument, "Redis sink: epoch \(epoch) is outside 1…2^53")
        }
        if options.layout == .hashes, records.contains(where: { $0.stream == "progress" }) {
            throw StrataError(.invalidArgument, "Redis sink: a stream named \"progress\" would be the hash "
                              + "\(RedisKeys.progress(prefix: options.keyPrefix)) that holds the sink's progress (hashes layout)")
        }
        let rows = RedisCommitScript.latestPerKey(records)
        try locked {
            var args = RedisArguments("EVALSHA", scriptSHA)
            RedisCommitScript.arguments(into: &args, epoch: epoch, rows: rows, prefix: options.keyPrefix,
                                        sinkName: options.sinkName, layout: options.layout)
            let what = "epoch \(epoch) (\(rows.count) keys)"
            let reply = try withRetries("applying \(what)") { connection in
                var reply = try connection.command(args)
                if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
                    // The server's script cache was flushed: load it again (same SHA-1) and retry.
                    _ = try loadScript(connection)
                    reply = try connection.command(args)
                }
                return reply
            }
            guard case .array(let items) = reply, items.count == 2, let status = items[0].text, let lastText = items[1].text else {
                if case .error(let message) = reply {
                    throw StrataError(.ioError, "Redis sink: \(what) was not applied (nothing of it was written): Redis replied \(message)")
                }
                throw StrataError(.ioError, "Redis sink: unexpected reply to the commit script for \(what): \(reply)")
            }
            switch status {
            case "applied", "skipped":
                return
            case "gap":
                let key = RedisKeys.progress(prefix: options.keyPrefix)
                throw StrataError(.ioError, "Redis sink: \(what) was not applied: \(key) says sink \"\(options.sinkName)\" "
                                  + "applied epoch \(lastText), so the epochs between are missing from Redis (it lost acknowledged "
                                  + "writes: restarted without its append-only file, flushed, or failed over); restart the job: "
                                  + "its recovery commits them again")
            default:
                throw StrataError(.ioError, "Redis sink: unexpected status \"\(status)\" from the commit script for \(what)")
            }
        }
    }

    /// Every result the sink's keys hold, sorted by (stream, key) — what a
    /// reader of the cache sees. Scans `PREFIX:*` (SCAN, so the server is
    /// not blocked); with the strings layout a stream name is read up to
    /// its first ':' (stream names with ':' read back wrongly). For checks
    /// and tools, not for the hot path.
    package func contents() throws -> [SinkRecord] {
        try locked {
            let prefix = options.keyPrefix
            let progressKey = RedisKeys.progress(prefix: prefix)
            let pattern = Self.globEscaped(prefix) + ":*"
            var keys: [String] = []
            var cursor = "0"
            repeat {
                let reply = try withRetries("scanning \(pattern)") { c in
                    try c.command(RedisArguments("SCAN", cursor, "MATCH", pattern, "COUNT", "1000"))
                }
                guard case .array(let parts) = reply, parts.count == 2, let next = parts[0].text,
                      case .array(let found) = parts[1] else {
                    throw StrataError(.ioError, "Redis sink: unexpected reply to SCAN: \(reply)")
                }
                keys += found.compactMap(\.text).filter { $0 != progressKey }
                cursor = next
            } while cursor != "0"
            var rows: [SinkRecord] = []
            let skip = prefix.count + 1
            for key in Set(keys) {
                let rest = String(key.dropFirst(skip))
                switch options.layout {
                case .strings:
                    guard let colon = rest.firstIndex(of: ":") else { continue }
                    let reply = try withRetries("reading \(key)") { c in try c.command(RedisArguments("GET", key)) }
                    guard let value = reply.text, case .string = reply else { continue }   // another type: not ours
                    rows.append(SinkRecord(stream: String(rest[..<colon]), key: String(rest[rest.index(after: colon)...]), value: value))
                case .hashes:
                    let reply = try withRetries("reading \(key)") { c in try c.command(RedisArguments("HGETALL", key)) }
                    guard case .array(let items) = reply else { continue }
                    var i = 0
                    while i + 1 < items.count {
                        if let field = items[i].text, let value = items[i + 1].text {
                            rows.append(SinkRecord(stream: rest, key: field, value: value))
                        }
                        i += 2
                    }
                }
            }
            return rows.sorted { ($0.stream, $0.key) < ($1.stream, $1.key) }
        }
    }

    /// New connections made after the first (for tests).
    package var reconnectCount: Int { locked { reconnects } }

    // MARK: - Connections

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Connect, AUTH, SELECT, PING, SCRIPT LOAD. Throws
    /// `RedisConnectionLost`/`RedisTransientReply` (worth retrying) or a
    /// `StrataError` (configuration: retrying will not help).
    private func openConnection() throws -> RedisConnection {
        let c = try RedisConnection(endpoint: endpoint, connectTimeout: options.connectTimeout,
                                    commandTimeout: options.commandTimeout)
        if let password = options.password {
            var auth = RedisArguments("AUTH")
            if let user = options.username { auth.append(user) }
            auth.append(password)
            if case .error(let message) = try c.command(auth) {
                try Self.throwUnlessTransient(message)
                throw StrataError(.invalidArgument, "Redis sink: AUTH at \(endpoint) failed: \(message)")
            }
        }
        if options.database != 0, case .error(let message) = try c.command(RedisArguments("SELECT", String(options.database))) {
            try Self.throwUnlessTransient(message)
            throw StrataError(.invalidArgument, "Redis sink: SELECT \(options.database) at \(endpoint) failed: \(message)")
        }
        let pong = try c.command(RedisArguments("PING"))
        if case .error(let message) = pong {
            try Self.throwUnlessTransient(message)
            throw StrataError(.invalidArgument, "Redis sink: PING at \(endpoint) failed: \(message)"
                              + (message.hasPrefix("NOAUTH") ? " (set RedisSinkOptions.password)" : ""))
        }
        guard pong.text == "PONG" else {
            throw StrataError(.invalidArgument, "Redis sink: \(endpoint) answered PING with \(pong), not PONG: is it a Redis server?")
        }
        scriptSHA = try loadScript(c)
        return c
    }

    /// `SCRIPT LOAD`: caches the commit script on the server, returns its SHA-1.
    private func loadScript(_ c: RedisConnection) throws -> String {
        let reply = try c.command(RedisArguments("SCRIPT", "LOAD", RedisCommitScript.source))
        if case .error(let message) = reply {
            try Self.throwUnlessTransient(message)
            throw StrataError(.ioError, "Redis sink: SCRIPT LOAD at \(endpoint) failed: \(message) (the sink needs Lua scripting)")
        }
        guard let sha = reply.text, sha.count == 40 else {
            throw StrataError(.ioError, "Redis sink: unexpected reply to SCRIPT LOAD at \(endpoint): \(reply)")
        }
        return sha
    }

    /// Runs `body` on a connection, reconnecting and retrying after a lost
    /// connection or a transient reply (`LOADING`, `BUSY`), up to
    /// `reconnectAttempts` times. `body` must be safe to repeat (every
    /// command the sink sends is: reads, and the epoch script that skips
    /// an applied epoch). Lock held.
    private func withRetries(_ what: String, _ body: (RedisConnection) throws -> RedisReply) throws -> RedisReply {
        var delay = options.reconnectDelay
        var lastProblem = ""
        for attempt in 0...options.reconnectAttempts {
            if attempt > 0 {
                Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
                delay = min(delay * 2, options.maxReconnectDelay)
            }
            do {
                let c: RedisConnection
                if let existing = connection {
                    c = existing
                } else {
                    c = try openConnection()
                    connection = c
                    reconnects += 1
                }
                let reply = try body(c)
                if case .error(let message) = reply { try Self.throwUnlessTransient(message) }
                return reply
            } catch let lost as RedisConnectionLost {
                connection = nil
                lastProblem = lost.message
            } catch let transient as RedisTransientReply {
                lastProblem = "Redis replied \(transient.message)"
            }
        }
        throw StrataError(.ioError, "Redis sink: \(what) failed after \(options.reconnectAttempts) reconnect attempts "
                          + "to \(endpoint) (last: \(lastProblem)); nothing was reported committed")
    }

    /// Replies that mean "not now" rather than "no": the server is loading
    /// its data after a restart, or running a (possibly our own) script.
    private static func throwUnlessTransient(_ message: String) throws {
        if message.hasPrefix("LOADING") || message.hasPrefix("BUSY") {
            throw RedisTransientReply(message: message)
        }
    }

    /// A glob pattern matching `text` literally (for SCAN MATCH).
    private static func globEscaped(_ text: String) -> String {
        var out = ""
        for ch in text {
            if "*?[]\\".contains(ch) { out.append("\\") }
            out.append(ch)
        }
        return out
    }

    private static func ignoreSIGPIPE() {
        var current = sigaction()
        if sigaction(SIGPIPE, nil, &current) == 0, current.__sigaction_handler.sa_handler == nil {
            signal(SIGPIPE, SIG_IGN)
        }
    }
}

/// A reply that means "try again shortly" (`LOADING`, `BUSY`).
struct RedisTransientReply: Error {
    let message: String
}
