/// How `Database.ingestExternalFiles` brings tables in (RocksDB
/// `IngestExternalFileOptions`; every field names the option it mirrors).
///
/// Value type; `Sendable`.
public struct IngestExternalFileOptions: Sendable {
    /// Hard-link the files into the database instead of copying them, and
    /// remove the caller's links once the ingestion is durable. Default
    /// false (copy). RocksDB: `move_files`.
    public var moveFiles = false
    /// With `moveFiles`, copy a file when it cannot be linked (another
    /// device or a file system without hard links). Default true.
    /// RocksDB: `failed_move_fall_back_to_copy`.
    public var failedMoveFallBackToCopy = true
    /// With snapshots open, give every file a new sequence number so the
    /// snapshots do not see it (else a file that overlaps nothing takes
    /// sequence 0 and is visible to every snapshot). Default true.
    /// RocksDB: `snapshot_consistency`.
    public var snapshotConsistency = true
    /// Allow giving a file a sequence number above 0 (needed when it
    /// overlaps data in the database or the other files, or for snapshot
    /// consistency); when false such an ingestion fails with
    /// `.invalidArgument`. Default true. RocksDB: `allow_global_seqno`.
    public var allowGlobalSeqno = true
    /// Flush the family's memtable first when it overlaps the files; when
    /// false such an ingestion fails with `.invalidArgument`. Default true.
    /// RocksDB: `allow_blocking_flush`.
    public var allowBlockingFlush = true
    /// Put the files below all existing data (the last level, sequence 0).
    /// Needs RocksDB's `allow_ingest_behind` database option, which Strata
    /// does not have (its compactions zero sequence numbers in the last
    /// level), so `true` is refused with `.invalidArgument`, as RocksDB
    /// refuses it without that option. Default false. RocksDB: `ingest_behind`.
    public var ingestBehind = false
    /// Also write an assigned sequence number into the file's
    /// `rocksdb.external_sst_file.global_seqno` property (the MANIFEST
    /// records it either way, and both RocksDB and Strata read it from
    /// there). Strata has no in-place writes: the database's copy is
    /// rewritten (a linked file is replaced by a patched copy, leaving the
    /// caller's file untouched) while writes and other database operations
    /// wait — RocksDB writes the 8 bytes in place. Default false (RocksDB
    /// 7.8.3's default is true; 11.8.1's is false, the option deprecated).
    /// RocksDB: `write_global_seqno`.
    public var writeGlobalSeqno = false
    /// Read every block of each file (verifying its checksum) before
    /// ingesting. Default false. RocksDB: `verify_checksums_before_ingest`.
    public var verifyChecksumsBeforeIngest = false
    /// Fail with `.busy` (RocksDB: TryAgain) unless every file can go to
    /// the last level. Default false. RocksDB: `fail_if_not_bottommost_level`.
    public var failIfNotBottommostLevel = false

    /// RocksDB's defaults (Strata's for `writeGlobalSeqno`).
    public init() {}
}

/// One table to import with `Database.createColumnFamilyWithImport`: the
/// file and where it sat in the LSM it comes from (RocksDB
/// `LiveFileMetaData` in an `ExportImportFilesMetaData`).
public struct ImportedTableFile: Sendable, Equatable {
    /// Path of the table file.
    public var path: String
    /// The level it goes to (0…6). Files of one level ≥ 1 must not overlap.
    public var level: Int
    /// Smallest and largest sequence numbers of its entries, as its old
    /// MANIFEST recorded them (for an external file, its global sequence
    /// number as both).
    public var smallestSequence: UInt64
    public var largestSequence: UInt64

    /// A file record.
    public init(path: String, level: Int, smallestSequence: UInt64, largestSequence: UInt64) {
        self.path = path
        self.level = level
        self.smallestSequence = smallestSequence
        self.largestSequence = largestSequence
    }
}
