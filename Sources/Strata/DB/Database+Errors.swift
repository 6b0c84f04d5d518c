/// The background-error state (docs/durability.md, "Errors"): after a
/// failed WAL write, flush, compaction or MANIFEST write the database
/// refuses writes and flushes with that error, keeps serving reads, and
/// reports it as `property("strata.background-error")` until it is reopened.
extension Database {
    /// Puts the database in the background-error state after an I/O error
    /// from a flush or compaction, background or manual (a manual
    /// compaction's failed MANIFEST edit may still be in the MANIFEST, so
    /// writing on would be unsafe). Other errors (e.g. `.closed` while
    /// shutting down) change nothing. The first error is kept.
    func stopWrites(after error: Error) {
        guard let error = error as? StrataError, error.kind == .ioError else { return }
        monitor.withLock {
            if backgroundError == nil { backgroundError = error }
            monitor.broadcast()
        }
    }
}
