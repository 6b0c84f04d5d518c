import CXXHash

/// A `WritableFile` that hashes what passes through it (XXH3-64, seed 0:
/// the digest of the whole file when it was created empty), so a table's
/// whole-file checksum costs no second read. Flush and compaction outputs
/// record it in the MANIFEST's file-checksum fields; checkpoints list it.
///
/// Ownership: one owner, like the file it wraps.
final class HashingWritableFile: WritableFile {
    /// Function name written to the MANIFEST beside the checksum (RocksDB's
    /// `file_checksum_func_name`; RocksDB verifies file checksums only when
    /// configured with a generator of the same name, so it ignores ours).
    static let functionName = "StrataXXH3_64"

    private let file: any WritableFile
    private let state: OpaquePointer

    /// Wraps `file`, which should be empty (the digest covers only bytes
    /// appended through the wrapper).
    init(_ file: any WritableFile) {
        self.file = file
        state = XXH3_createState()
        XXH3_64bits_reset(state)
    }

    deinit { XXH3_freeState(state) }

    var path: String { file.path }
    var size: UInt64 { file.size }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        try file.append(bytes)
        XXH3_64bits_update(state, bytes.baseAddress, bytes.count)
    }

    func flush() throws { try file.flush() }
    func sync() throws { try file.sync() }
    func close() throws { try file.close() }

    /// XXH3-64 of everything appended so far.
    var digest: UInt64 { XXH3_64bits_digest(state) }

    /// The digest as the MANIFEST stores it: 8 bytes, big-endian.
    var digestBytes: [UInt8] {
        let d = digest
        return (0..<8).map { UInt8(truncatingIfNeeded: d >> (56 - 8 * $0)) }
    }
}
