import Strata

/// How a `RedisEpochCommitter` lays results out in Redis (docs/redis-sink.md).
/// Redis has no RocksDB counterpart: none of the sink's options mirror a
/// RocksDB option.
public enum RedisKeyLayout: String, Sendable, Equatable {
    /// One string key per result row: `SET PREFIX:STREAM:KEY VALUE`.
    /// Readers `GET` one key; keys can be expired or evicted one by one.
    case strings
    /// One hash per output stream: `HSET PREFIX:STREAM KEY VALUE`. Readers
    /// `HGET` a key or `HGETALL` a whole output; fewer top-level keys.
    case hashes
}

/// Configuration of a `RedisEpochCommitter`. Checked, and the server
/// reached, when the committer is constructed.
public struct RedisSinkOptions: Sendable, Equatable {
    /// The server: `HOST:PORT`, `[IPv6]:PORT` or `unix:/path/to/socket`.
    /// No default (the caller names the server).
    public var address: String
    /// `AUTH` user name (Redis 6 ACLs); nil (the default): the password
    /// alone, i.e. the `default` user.
    public var username: String? = nil
    /// `AUTH` password; nil (the default): no `AUTH` (a server that needs one
    /// fails the construction with its `NOAUTH` error).
    public var password: String? = nil
    /// Database number for `SELECT`. Default 0 (Redis' own default).
    public var database: Int = 0
    /// Prefix of every key the sink writes: results under `PREFIX:STREAM…`,
    /// progress in the hash `PREFIX:progress`. Default `strata`. Not empty,
    /// no spaces.
    public var keyPrefix: String = "strata"
    /// Strings (one key per row, the default) or one hash per output stream.
    public var layout: RedisKeyLayout = .strings
    /// This sink's field in the progress hash `PREFIX:progress`: the last
    /// epoch applied by the job writing through this committer. Two jobs
    /// sharing a Redis server and prefix need different names; a job that
    /// restarts must keep its name (it is how replayed epochs are
    /// recognized). Default `pipeline`.
    public var sinkName: String = "pipeline"
    /// Time allowed to open a connection (TCP connect). Default 2 s.
    public var connectTimeout: Duration = .seconds(2)
    /// Time allowed for one command's reply, including the script that
    /// applies a whole epoch: size it for the largest epoch. A timeout counts
    /// as a lost connection (reconnect, then the idempotent retry). Default 30 s.
    public var commandTimeout: Duration = .seconds(30)
    /// After a lost connection (or `LOADING`/`BUSY` from a restarting or
    /// busy server): how many times to reconnect and retry before failing
    /// the call. Default 8 (with the default delays, about 9 s in all).
    public var reconnectAttempts: Int = 8
    /// Delay before the first retry; it doubles per attempt up to
    /// `maxReconnectDelay`. Default 100 ms.
    public var reconnectDelay: Duration = .milliseconds(100)
    /// The largest delay between retries. Default 2 s.
    public var maxReconnectDelay: Duration = .seconds(2)

    /// Options for the server at `address`, everything else defaulted.
    public init(address: String) { self.address = address }

    /// Throws `.invalidArgument` naming the first option out of range.
    package func validate() throws {
        func bad(_ what: String) -> StrataError { StrataError(.invalidArgument, "Redis sink: \(what)") }
        guard !keyPrefix.isEmpty, !keyPrefix.contains(where: { $0.isWhitespace }) else {
            throw bad("keyPrefix \"\(keyPrefix)\" must be non-empty without spaces")
        }
        guard !sinkName.isEmpty else { throw bad("sinkName must not be empty") }
        guard database >= 0 else { throw bad("database \(database) must be >= 0") }
        guard connectTimeout > .zero else { throw bad("connectTimeout must be > 0") }
        guard commandTimeout > .zero else { throw bad("commandTimeout must be > 0") }
        guard reconnectAttempts >= 0 else { throw bad("reconnectAttempts \(reconnectAttempts) must be >= 0") }
        guard reconnectDelay >= .zero, maxReconnectDelay >= reconnectDelay else {
            throw bad("reconnectDelay must be >= 0 and <= maxReconnectDelay")
        }
    }
}
