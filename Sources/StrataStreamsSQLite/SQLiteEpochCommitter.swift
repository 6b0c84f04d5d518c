import Strata
import StrataStreams

/// A transactional SQLite sink for a `Pipeline`: each checkpoint epoch is
/// one SQLite transaction that upserts the epoch's rows into
/// `results(stream, key, value, epoch)` — primary key (stream, key), so a
/// window's row is replaced by its later updates — and records the epoch
/// in `strata_epoch`. A crash before the transaction commits leaves the
/// previous epoch; the pipeline's recovery commits the missing epochs from
/// their committed JSON lines, so every epoch lands exactly once.
///
/// The file is the system SQLite library's (libsqlite3), in its default
/// rollback-journal mode with `synchronous=FULL`, so a committed epoch
/// survives a crash of the process or the machine.
///
/// Thread safety: the pipeline calls it from its source thread; calls are
/// serialized by a lock, so other threads may read `rows()` meanwhile.
public final class SQLiteEpochCommitter: EpochCommitter {
    private let connection: Locked<SQLiteConnection>
    /// The database file.
    public let path: String

    /// Opens (creating) the SQLite file at `path` and its two tables.
    /// Throws `.ioError` with SQLite's message when that fails.
    public init(path: String) throws {
        self.path = path
        do {
            let db = try SQLiteConnection(path: path)
            try db.execute("""
                PRAGMA synchronous = FULL;
                CREATE TABLE IF NOT EXISTS results (
                    stream TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, epoch INTEGER NOT NULL,
                    PRIMARY KEY (stream, key));
                CREATE TABLE IF NOT EXISTS strata_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), epoch INTEGER NOT NULL);
                INSERT OR IGNORE INTO strata_epoch (id, epoch) VALUES (1, 0);
                """)
            connection = Locked(db)
        } catch {
            throw StrataError(.ioError, "SQLite sink: cannot open: \(error)", file: path)
        }
    }

    public func lastCommittedEpoch() throws -> UInt64 {
        do {
            let rows = try connection.withLock { db in
                try db.prepare("SELECT epoch FROM strata_epoch WHERE id = 1").rows()
            }
            guard let text = rows.first?.first ?? nil else { return 0 }
            guard let epoch = Int64(text) else {
                throw StrataError(.corruption, "SQLite sink: strata_epoch holds '\(text)', expected an integer epoch", file: path)
            }
            return UInt64(max(0, epoch))
        } catch let error as StrataError where error.kind == .corruption {
            throw error
        } catch {
            throw StrataError(.ioError, "SQLite sink: cannot read the committed epoch: \(error)", file: path)
        }
    }

    public func commit(epoch: UInt64, records: [SinkRecord]) throws {
        do {
            try connection.withLock { db in
                try db.transaction {
                    let upsert = try db.prepare("""
                        INSERT INTO results (stream, key, value, epoch) VALUES (?, ?, ?, ?)
                        ON CONFLICT (stream, key) DO UPDATE SET value = excluded.value, epoch = excluded.epoch
                        """)
                    for record in records {
                        try upsert.run([.text(record.stream), .text(record.key), .text(record.value), .integer(Int64(epoch))])
                    }
                    try db.prepare("UPDATE strata_epoch SET epoch = ? WHERE id = 1").run([.integer(Int64(epoch))])
                }
            }
        } catch {
            throw StrataError(.ioError, "SQLite sink: epoch \(epoch) (\(records.count) rows) did not commit: \(error)", file: path)
        }
    }

    /// Every row, ordered by stream and key (for checks and tools).
    public func rows() throws -> [SinkRecord] {
        do {
            return try connection.withLock { db in
                try db.prepare("SELECT stream, key, value FROM results ORDER BY stream, key").rows().map {
                    SinkRecord(stream: $0[0] ?? "", key: $0[1] ?? "", value: $0[2] ?? "")
                }
            }
        } catch {
            throw StrataError(.ioError, "SQLite sink: cannot read rows: \(error)", file: path)
        }
    }
}
