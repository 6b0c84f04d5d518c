import Foundation
import GRDB
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
/// Thread safety: used by the pipeline's source thread (GRDB serializes
/// access to the database file).
public final class SQLiteEpochCommitter: EpochCommitter {
    private let queue: DatabaseQueue
    /// The database file.
    public let path: String

    /// Opens (creating) the SQLite file at `path` and its two tables.
    /// Throws `.ioError` with SQLite's message when that fails.
    public init(path: String) throws {
        self.path = path
        do {
            queue = try DatabaseQueue(path: path)
            try queue.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS results (
                        stream TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, epoch INTEGER NOT NULL,
                        PRIMARY KEY (stream, key));
                    CREATE TABLE IF NOT EXISTS strata_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), epoch INTEGER NOT NULL);
                    INSERT OR IGNORE INTO strata_epoch (id, epoch) VALUES (1, 0);
                    """)
            }
        } catch {
            throw StrataError(.ioError, "SQLite sink: cannot open: \(error)", file: path)
        }
    }

    public func lastCommittedEpoch() throws -> UInt64 {
        do {
            let epoch = try queue.read { db in try Int64.fetchOne(db, sql: "SELECT epoch FROM strata_epoch WHERE id = 1") }
            return UInt64(max(0, epoch ?? 0))
        } catch {
            throw StrataError(.ioError, "SQLite sink: cannot read the committed epoch: \(error)", file: path)
        }
    }

    public func commit(epoch: UInt64, records: [SinkRecord]) throws {
        do {
            try queue.write { db in      // one transaction
                let upsert = try db.makeStatement(sql: """
                    INSERT INTO results (stream, key, value, epoch) VALUES (?, ?, ?, ?)
                    ON CONFLICT (stream, key) DO UPDATE SET value = excluded.value, epoch = excluded.epoch
                    """)
                for record in records {
                    try upsert.execute(arguments: [record.stream, record.key, record.value, Int64(epoch)])
                }
                try db.execute(sql: "UPDATE strata_epoch SET epoch = ? WHERE id = 1", arguments: [Int64(epoch)])
            }
        } catch {
            throw StrataError(.ioError, "SQLite sink: epoch \(epoch) (\(records.count) rows) did not commit: \(error)", file: path)
        }
    }

    /// Every row, ordered by stream and key (for checks and tools).
    public func rows() throws -> [SinkRecord] {
        do {
            return try queue.read { db in
                try Row.fetchAll(db, sql: "SELECT stream, key, value FROM results ORDER BY stream, key").map {
                    SinkRecord(stream: $0["stream"], key: $0["key"], value: $0["value"])
                }
            }
        } catch {
            throw StrataError(.ioError, "SQLite sink: cannot read rows: \(error)", file: path)
        }
    }
}
