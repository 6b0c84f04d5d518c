import Foundation

/// One file of a checkpoint, as its JSON manifest lists it.
///
/// Thread safety: a value type, `Sendable`.
public struct CheckpointFile: Codable, Sendable, Equatable, Hashable {
    /// What the file is.
    public enum Kind: String, Codable, Sendable {
        /// A block-based table (`NNNNNN.sst`): immutable, shared between
        /// checkpoints of the same database.
        case table
        /// The checkpoint's own MANIFEST (`MANIFEST-NNNNNN`).
        case manifest
        /// `CURRENT`, naming the MANIFEST.
        case current
        /// `IDENTITY` (the checkpoint's database id).
        case identity
        /// A WAL copied up to the checkpoint's sequence number (`NNNNNN.log`).
        case wal
    }

    /// File name inside the database directory (`000012.sst`, `CURRENT`, …).
    public var name: String
    /// What the file is.
    public var kind: Kind
    /// Size in bytes.
    public var size: UInt64
    /// XXH3-64 of the contents, 16 hex digits (`FileChecksum`).
    public var checksum: String
    /// Where a `CheckpointStore` keeps it, relative to the store's root
    /// (`shared/000012_<checksum>_<size>.sst`, `private/3/CURRENT`); nil in
    /// a checkpoint directory, where the file sits under `name`.
    public var storedAs: String?

    /// A file entry.
    public init(name: String, kind: Kind, size: UInt64, checksum: String, storedAs: String? = nil) {
        self.name = name
        self.kind = kind
        self.size = size
        self.checksum = checksum
        self.storedAs = storedAs
    }

    /// True if `other` holds the same bytes under the same name (what an
    /// incremental upload may skip).
    public func sameContent(as other: CheckpointFile) -> Bool {
        name == other.name && size == other.size && checksum == other.checksum
    }
}

/// The JSON manifest of one checkpoint: its id, the sequence number it is
/// consistent at, every file with size and checksum, and which files are new
/// since its parent (the earlier checkpoint it was taken against). This is
/// exactly what a runtime needs to ship a checkpoint incrementally: upload
/// `newFiles`, then this manifest.
///
/// Written as `CHECKPOINT.json` in a checkpoint directory and as
/// `meta/<id>.json` in a `CheckpointStore`; docs/checkpoints.md shows one.
///
/// Thread safety: a value type, `Sendable`.
public struct CheckpointManifest: Codable, Sendable, Equatable {
    /// The manifest's own format name, always "strata-checkpoint".
    public var format: String = "strata-checkpoint"
    /// Version of this JSON layout (1).
    public var formatVersion: Int = 1
    /// The checkpoint's id (a UUID for `Database.checkpoint`, "1", "2", … in a store).
    public var id: String
    /// The checkpoint `newFiles` is relative to, if any.
    public var parentID: String?
    /// Creation time, seconds since 1970-01-01 UTC.
    public var createdAt: Double
    /// IDENTITY of the database the checkpoint was taken from.
    public var sourceDBID: String
    /// The checkpoint holds exactly the writes with sequence numbers ≤ this.
    public var sequence: UInt64
    /// True if WALs were copied instead of flushing the memtable.
    public var walCopied: Bool
    /// The checksum function of `files` (`FileChecksum.algorithm`).
    public var checksumAlgorithm: String = FileChecksum.algorithm
    /// Every file of the checkpoint: tables first (by name), then the rest.
    public var files: [CheckpointFile]
    /// Names of the files that are new since `parentID` (all files when
    /// there is no parent).
    public var newFiles: [String]

    /// A manifest; `newFiles` is computed against `parent` (all files if nil).
    public init(id: String, parent: CheckpointManifest?, createdAt: Double, sourceDBID: String, sequence: UInt64,
                walCopied: Bool, files: [CheckpointFile]) {
        self.id = id
        self.parentID = parent?.id
        self.createdAt = createdAt
        self.sourceDBID = sourceDBID
        self.sequence = sequence
        self.walCopied = walCopied
        self.files = files
        self.newFiles = []
        self.newFiles = delta(since: parent).map(\.name)
    }

    /// The files of this checkpoint whose content `earlier` does not hold
    /// under the same name (same name, size and checksum = same file). With
    /// nil, every file. Order follows `files`.
    public func delta(since earlier: CheckpointManifest?) -> [CheckpointFile] {
        guard let earlier else { return files }
        var old: [String: CheckpointFile] = [:]
        for f in earlier.files { old[f.name] = f }
        return files.filter { f in
            guard let o = old[f.name] else { return true }
            return !f.sameContent(as: o)
        }
    }

    /// Files of `earlier` this checkpoint no longer needs (what a runtime
    /// may delete remotely once no other checkpoint lists them).
    public func removed(since earlier: CheckpointManifest) -> [CheckpointFile] {
        let mine = Set(files.map { "\($0.name)/\($0.size)/\($0.checksum)" })
        return earlier.files.filter { !mine.contains("\($0.name)/\($0.size)/\($0.checksum)") }
    }

    /// Total bytes of `files`.
    public var totalBytes: UInt64 { files.reduce(0) { $0 + $1.size } }

    /// The tables of the checkpoint.
    public var tables: [CheckpointFile] { files.filter { $0.kind == .table } }

    /// Pretty, key-sorted JSON (stable across runs for the same content).
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(self)) + [0x0A]
        } catch {
            throw StrataError.invalidArgument("checkpoint manifest \(id) cannot be encoded as JSON: \(error)")
        }
    }

    /// Decodes a manifest; throws `.corruption` naming `file` if the bytes
    /// are not a strata-checkpoint JSON manifest.
    public static func decode(_ bytes: [UInt8], file: String) throws -> CheckpointManifest {
        let manifest: CheckpointManifest
        do {
            manifest = try JSONDecoder().decode(CheckpointManifest.self, from: Data(bytes))
        } catch {
            throw StrataError.corruption("checkpoint manifest is not valid JSON: \(error)", file: file)
        }
        guard manifest.format == "strata-checkpoint", manifest.formatVersion == 1 else {
            throw StrataError.corruption(
                "checkpoint manifest has format \(manifest.format) v\(manifest.formatVersion), expected strata-checkpoint v1",
                file: file)
        }
        return manifest
    }
}
