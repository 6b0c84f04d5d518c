import Synchronization

/// One live table file, shared by every `Version` that contains it.
///
/// Versions reference files through this class, so Swift's reference
/// counting answers "does any version still use this file?": when the last
/// version holding it goes away and the file was removed from the LSM
/// (`markObsolete`), `deinit` hands its number to `onObsolete`, which
/// queues the deletion. A file that was never marked obsolete (the database
/// simply closed) is left alone.
///
/// Thread safety: immutable metadata; the obsolete flag is atomic.
package final class TableFile: Sendable {
    /// The file's MANIFEST record.
    package let meta: FileMetaData
    private let obsolete = Atomic<Bool>(false)
    private let onObsolete: @Sendable (UInt64) -> Void
    /// The open reader, once a read asked for it: later reads take it from
    /// here with one atomic load instead of the table cache's lock (which
    /// every lookup of every thread would otherwise take once per table).
    private let openReader = AtomicLazyReference<TableReader>()

    /// Wraps `meta`; `onObsolete` runs (on whatever thread drops the last
    /// reference) with the file number once the file is unreferenced and obsolete.
    package init(meta: FileMetaData, onObsolete: @escaping @Sendable (UInt64) -> Void) {
        self.meta = meta
        self.onObsolete = onObsolete
    }

    /// Records that the file left the LSM; it is deleted when unreferenced.
    package func markObsolete() { obsolete.store(true, ordering: .releasing) }

    deinit {
        if obsolete.load(ordering: .acquiring) { onObsolete(meta.number) }
    }

    /// The file's reader: `tables`' reader for this file, opened on first
    /// use and remembered. Throws as `TableCache.table` does.
    package func reader(_ tables: TableCache) throws -> TableReader {
        if let reader = openReader.load() { return reader }
        // The MANIFEST's largest sequence: an ingested table reads every
        // entry at it (its global sequence number).
        return openReader.storeIfNil(try tables.table(meta.number, largestSequence: meta.largestSequence))
    }

    /// The file number.
    package var number: UInt64 { meta.number }
    /// Bytes on disk.
    package var fileSize: UInt64 { meta.fileSize }
}
