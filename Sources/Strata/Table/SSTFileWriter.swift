import Glibc

/// What `SSTFileWriter.finish()` reports about the table it wrote.
public struct ExternalSSTFileInfo: Sendable, Equatable {
    /// Path of the table.
    public var path: String
    /// Smallest and largest user keys (point entries and range tombstones).
    public var smallestKey: [UInt8]
    public var largestKey: [UInt8]
    /// Entries written (point entries plus range tombstones).
    public var entryCount: UInt64
    /// Size of the file in bytes.
    public var fileSize: UInt64
}

/// Builds a standalone SST for bulk loading, as RocksDB's `SstFileWriter`
/// does: user keys in strictly increasing order, every entry at sequence
/// number 0, and the `rocksdb.external_sst_file.version` (2) and
/// `rocksdb.external_sst_file.global_seqno` (0) properties that RocksDB's
/// `IngestExternalFile` (and `ldb ingest_extern_sst`) look for.
///
/// Durability: `finish` syncs and closes the file before returning.
/// Ownership: one owner; not thread-safe. Nothing is visible until `finish`.
public final class SSTFileWriter {
    private let options: TableOptions
    private let fileSystem: any FileSystem
    private var file: (any WritableFile)?
    private var builder: TableBuilder?
    private var lastUserKey: [UInt8]? = nil
    private var path = ""
    private var smallestRange: [UInt8]? = nil
    private var largestRange: [UInt8]? = nil
    private var scratch: [UInt8] = []

    /// A writer producing tables with `options`. By default the table records
    /// column family 0, "default", as `ldb write_extern_sst` does;
    /// `options.dbID` defaults to "SST Writer", RocksDB's value for such files.
    public init(options: TableOptions = TableOptions(), fileSystem: any FileSystem = PosixFileSystem.shared) {
        var o = options
        if o.dbID.isEmpty { o.dbID = "SST Writer" }
        if o.dbSessionID.isEmpty { o.dbSessionID = SessionID.generate() }
        if o.dbHostID.isEmpty { o.dbHostID = SessionID.hostName() }
        self.options = o
        self.fileSystem = fileSystem
    }

    /// Creates the file at `path` (replacing it) and starts a table.
    public func open(_ path: String) throws {
        let file = try fileSystem.createWritable(path)
        self.file = file
        self.path = path
        var props = options
        props.columnFamilyID = options.columnFamilyID
        builder = try TableBuilder(file: file, options: props, fileNumber: 1, creationTime: 0, oldestKeyTime: 0)
        builder!.setExternalFileProperties()
        lastUserKey = nil
    }

    /// Adds a value. Keys must be strictly increasing (bytewise).
    public func put(_ key: [UInt8], _ value: [UInt8]) throws { try add(key, value, .value) }

    /// Adds a deletion marker (deletes the key in the database it is ingested into).
    public func delete(_ key: [UInt8]) throws { try add(key, [], .deletion) }

    /// Adds a merge operand.
    public func merge(_ key: [UInt8], _ operand: [UInt8]) throws { try add(key, operand, .merge) }

    /// Adds a range tombstone deleting [begin, end) in the target database.
    /// Range tombstones may be added in any order relative to point keys.
    public func deleteRange(from begin: [UInt8], to end: [UInt8]) throws {
        guard let builder else { throw StrataError(.invalidArgument, "SSTFileWriter: open() first") }
        guard Bytewise.compare(begin, end) < 0 else {
            throw StrataError.invalidArgument("deleteRange needs begin < end")
        }
        try builder.addRangeDeletion(begin: begin, end: end, sequence: 0)
        if smallestRange == nil || Bytewise.compare(begin, smallestRange!) < 0 { smallestRange = begin }
        if largestRange == nil || Bytewise.compare(end, largestRange!) > 0 { largestRange = end }
    }

    private func add(_ key: [UInt8], _ value: [UInt8], _ type: ValueType) throws {
        guard let builder else { throw StrataError(.invalidArgument, "SSTFileWriter: open() first") }
        if let last = lastUserKey, Bytewise.compare(last, key) >= 0 {
            throw StrataError.invalidArgument("SSTFileWriter: keys must be added in strictly increasing order")
        }
        scratch.removeAll(keepingCapacity: true)
        key.withUnsafeBytes { InternalKey.append(to: &scratch, userKey: $0, sequence: 0, type: type.rawValue) }
        try builder.add(internalKey: scratch, value: value)
        lastUserKey = key
    }

    /// Finishes the table, syncs and closes the file. Throws
    /// `.invalidArgument` if nothing was added (RocksDB refuses empty files too).
    @discardableResult
    public func finish() throws -> ExternalSSTFileInfo {
        guard let builder, let file else { throw StrataError(.invalidArgument, "SSTFileWriter: open() first") }
        defer {
            self.builder = nil
            self.file = nil
        }
        guard builder.entryCount > 0 else {
            try? file.close()
            try? fileSystem.removeFile(path)
            throw StrataError.invalidArgument("SSTFileWriter: cannot create an SST file with no entries")
        }
        let size = try builder.finish()
        try file.sync()
        try file.close()
        var smallest = builder.smallestKey.map { Array($0.dropLast(8)) }
        var largest = builder.largestKey.map { Array($0.dropLast(8)) }
        if let s = smallestRange, smallest == nil || Bytewise.compare(s, smallest!) < 0 { smallest = s }
        if let l = largestRange, largest == nil || Bytewise.compare(l, largest!) > 0 { largest = l }
        return ExternalSSTFileInfo(path: path, smallestKey: smallest ?? [], largestKey: largest ?? [],
                                   entryCount: builder.entryCount, fileSize: size)
    }
}

extension TableBuilder {
    /// Marks the table as an external file (RocksDB SstFileWriter's
    /// collector): version 2, global sequence number 0.
    func setExternalFileProperties() {
        setProperties { p in
            p.externalSstFileVersion = 2
            p.externalSstFileGlobalSeqno = 0
        }
    }
}

/// Identifiers recorded in table properties.
public enum SessionID {
    /// A 20-character base-36 session id, the shape RocksDB uses for
    /// `rocksdb.creating.session.identity`.
    public static func generate() -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        var rng = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int(rng.next() % 36)] })
    }

    /// This machine's host name (RocksDB's default `db_host_id`).
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
