import Synchronization

/// Open table readers of one database, by file number (RocksDB's
/// `TableCache` with `max_open_files = -1`: every live table stays open).
///
/// Thread safety: internally locked; readers are shared.
package final class TableCache: Sendable {
    let directory: String
    let fileSystem: any FileSystem
    let readerOptions: TableReaderOptions
    private let tables = Locked<[UInt64: TableReader]>([:])

    /// A cache for tables in `directory`.
    package init(directory: String, fileSystem: any FileSystem, readerOptions: TableReaderOptions) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.readerOptions = readerOptions
    }

    /// The reader for table `number`, opening it on first use. Throws if the
    /// file is missing or malformed (naming the file).
    package func table(_ number: UInt64) throws -> TableReader {
        try table(number, largestSequence: nil)
    }

    /// The reader for table `number` whose MANIFEST record says its largest
    /// sequence number is `largestSequence` (an ingested external table
    /// reads every entry at it; see `TableReader.globalSequence`).
    package func table(_ number: UInt64, largestSequence: UInt64?) throws -> TableReader {
        if let t = tables.withLock({ $0[number] }) { return t }
        let path = Path.join(directory, DBFileName.table(number))
        var options = readerOptions
        options.largestSequence = largestSequence
        let reader = try TableReader.open(path: path, fileSystem: fileSystem, options: options)
        return tables.withLock { t in
            if let existing = t[number] { return existing }
            t[number] = reader
            return reader
        }
    }

    /// The reader for a live table of a version.
    func table(_ file: TableFile) throws -> TableReader {
        try table(file.number, largestSequence: file.meta.largestSequence)
    }

    /// Forgets table `number` (call before deleting its file).
    package func evict(_ number: UInt64) {
        _ = tables.withLock { $0.removeValue(forKey: number) }
    }
}
