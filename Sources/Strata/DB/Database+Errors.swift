/// The background-error state (docs/durability.md, "Errors"): after a
/// failed WAL write, flush, compaction or MANIFEST write the database
/// refuses writes and flushes with that error, keeps serving reads, and
/// reports it as `property("strata.background-error")` until it is reopened.
///
/// This file is the one place that decides which failures stop writes
/// (RocksDB's `ErrorHandler` with `paranoid_checks = true`, its default):
///
/// | error kind                         | where it happened                    | effect |
/// |------------------------------------|--------------------------------------|--------|
/// | `.ioError`, `.corruption`          | anywhere below                       | stop writes |
/// | any other kind                     | background flush or compaction       | stop writes (retrying would fail the same way, forever) |
/// | any other kind                     | WAL, MANIFEST, manual compaction, ingestion | returned to the caller only |
/// | `.closed`                          | anywhere (the database is closing)   | nothing |
///
/// The first error is kept; later ones do not replace it. Only `close()`
/// and a reopen clear the state (Strata has no `Resume()`: a reopen
/// replays the WAL and starts a new MANIFEST, which is what recovery from a
/// torn MANIFEST record or a failed WAL needs).
extension Database {
    /// Where a failure that may stop writes happened (RocksDB's
    /// `BackgroundErrorReason`).
    enum BackgroundErrorReason {
        /// Appending or syncing a write group's WAL record.
        case walWrite
        /// Creating the next WAL or syncing and closing the old one at a
        /// memtable switch.
        case walSwitch
        /// A MANIFEST edit outside flush and compaction (column family
        /// add/drop, ingestion, import).
        case manifestWrite
        /// A flush or compaction run by a background thread.
        case backgroundWork
        /// A compaction the user asked for (`compactRange`).
        case manualCompaction
    }

    /// The error the background-error state keeps for `error` at `reason`,
    /// or nil when it must not stop writes. The table above, as code.
    static func backgroundError(for error: any Error, reason: BackgroundErrorReason) -> StrataError? {
        guard let error = error as? StrataError else {
            // Not an engine error: only a background thread gets here, and
            // it cannot retry what it does not understand.
            return reason == .backgroundWork ? StrataError.ioError("\(error)") : nil
        }
        switch error.kind {
        case .closed: return nil
        case .ioError, .corruption: return error
        default: return reason == .backgroundWork ? error : nil
        }
    }

    /// Puts the database in the background-error state if the policy says
    /// `error` at `reason` stops writes, and wakes every waiter. The first
    /// error is kept. Caller holds the monitor.
    func recordBackgroundErrorLocked(_ error: any Error, reason: BackgroundErrorReason) {
        guard let stop = Database.backgroundError(for: error, reason: reason) else { return }
        if backgroundError == nil { backgroundError = stop }
        monitor.broadcast()
    }

    /// `recordBackgroundErrorLocked` for a caller that does not hold the monitor.
    func recordBackgroundError(_ error: any Error, reason: BackgroundErrorReason) {
        monitor.withLock { recordBackgroundErrorLocked(error, reason: reason) }
    }
}
