/// Writing the database's RocksDB `OPTIONS-NNNNNN` file (RocksDB
/// `DBImpl::WriteOptionsFile`): at open and after a column family is
/// created or dropped, so RocksDB's tools (`ldb --try_load_options`) open
/// exactly the live families with Strata's settings and merge operators.
extension Database {
    /// How many OPTIONS files are kept, newest first (RocksDB's
    /// `kNumOptionsFilesKept`): the previous one stays as a fallback.
    static let optionsFilesKept = 2

    /// Writes a new OPTIONS file describing the live families: the text
    /// goes to `OPTIONS-T.dbtmp` (T a new file number), is synced and
    /// renamed to `OPTIONS-N` (N another new number, as RocksDB numbers
    /// both), the directory is synced, and all but the newest
    /// `optionsFilesKept` OPTIONS files (and leftover temp OPTIONS files)
    /// are removed. Best effort, as RocksDB with its default
    /// `fail_if_options_file_error = false`: the file only informs other
    /// tools, so a failure leaves the database working (and the previous
    /// OPTIONS file in place).
    func writeOptionsFile() {
        guard let names = try? fileSystem.listDirectory(path) else { return }
        var numbers: [UInt64] = []
        for name in names {
            if case .options(let n) = DBFileName.parse(name) {
                numbers.append(n)
                versions.markFileNumberUsed(n)
            } else if name.hasPrefix("OPTIONS-") && name.hasSuffix(".dbtmp") {
                // A temp file left by a crash between write and rename.
                try? fileSystem.removeFile(Path.join(path, name))
            }
        }
        let families = monitor.withLock { familyList.map { (name: $0.name, options: $0.options) } }
        let text = OptionsFileWriter.text(options: options, families: families)
        let temp = Path.join(path, Self.tempOptionsFileName(versions.newFileNumber()))
        let number = versions.newFileNumber()
        do {
            let out = try fileSystem.createWritable(temp)
            do {
                try out.append(Array(text.utf8))
                try out.sync()
                try out.close()
            } catch {
                try? out.close()
                throw error
            }
            try fileSystem.rename(temp, to: Path.join(path, DBFileName.options(number)))
            try fileSystem.syncDirectory(path)
        } catch {
            try? fileSystem.removeFile(temp)
            return
        }
        numbers.append(number)
        numbers.sort(by: >)
        for old in numbers.dropFirst(Self.optionsFilesKept) {
            try? fileSystem.removeFile(Path.join(path, DBFileName.options(old)))
        }
    }

    /// RocksDB's temp OPTIONS name, `OPTIONS-NNNNNN.dbtmp`.
    static func tempOptionsFileName(_ number: UInt64) -> String { DBFileName.options(number) + ".dbtmp" }
}
