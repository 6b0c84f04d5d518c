import CXXHash
import Glibc

/// Whole-file checksums for checkpoint manifests: XXH3-64 (libxxhash's final
/// `XXH3_64bits`, seed 0) of the file's bytes, written as 16 lowercase hex
/// digits. XXH3 rather than CRC32C because checkpoints hash whole tables and
/// libxxhash's XXH3 runs at memory speed.
///
/// Thread safety: stateless; call from any thread. Blocking I/O on the
/// caller's thread.
public enum FileChecksum {
    /// Name recorded in checkpoint manifests (`checksumAlgorithm`).
    public static let algorithm = "xxh3-64"

    /// Bytes read per call while hashing or copying.
    static let chunkSize = 1 << 20

    /// The XXH3-64 of the whole file at `path`, as 16 hex digits.
    /// Throws `.ioError` if it cannot be opened or read.
    public static func of(path: String, fileSystem: any FileSystem) throws -> String {
        let file = try fileSystem.openRandomAccess(path)
        defer { file.close() }
        return try of(file: file, length: file.size)
    }

    /// The XXH3-64 of the first `length` bytes of `file`.
    public static func of(file: any RandomAccessFile, length: UInt64) throws -> String {
        guard let state = XXH3_createState() else {
            throw StrataError.ioError("XXH3_createState failed: out of memory", file: file.path)
        }
        defer { XXH3_freeState(state) }
        XXH3_64bits_reset(state)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var offset: UInt64 = 0
        while offset < length {
            let n = Int(min(UInt64(chunkSize), length - offset))
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
            try file.read(at: offset, into: slice)
            XXH3_64bits_update(state, slice.baseAddress, n)
            offset += UInt64(n)
        }
        return hex(XXH3_64bits_digest(state))
    }

    /// The XXH3-64 of `bytes`, as 16 hex digits.
    public static func of(bytes: [UInt8]) -> String {
        hex(bytes.withUnsafeBytes { XXHash.xxh3($0) })
    }

    static func hex(_ value: UInt64) -> String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// Moving file contents between directories for checkpoints, stores and
/// restores: hard links where possible, copies otherwise.
///
/// Thread safety: stateless; blocking I/O on the caller's thread.
enum FileTransfer {
    /// True if a failed `link` means "links are impossible here" (another
    /// file system, or one without hard links) rather than a real error.
    static func linkUnsupported(_ error: StrataError) -> Bool {
        let codes = [EXDEV, EPERM, EMLINK, EOPNOTSUPP, ENOTSUP]
        return codes.contains { error.message.contains("(errno \($0))") }
    }

    /// True if `a` and `b` are the same file system, so a hard link between
    /// their paths can work.
    static func sameFileSystem(_ a: any FileSystem, _ b: any FileSystem) -> Bool {
        if a is PosixFileSystem && b is PosixFileSystem { return true }
        if let a = a as? MemoryFileSystem, let b = b as? MemoryFileSystem { return a === b }
        return false
    }

    /// Makes `to` (in `destination`) hold the first `length` bytes of `from`
    /// (in `source`): a hard link if `allowLink`, the file systems are the
    /// same and the whole file is wanted; otherwise a copy, fsynced.
    /// Returns true if it linked. A link falls back to a copy only when the
    /// OS says links are impossible (EXDEV and kin); other errors are thrown.
    @discardableResult
    static func linkOrCopy(from: String, in source: any FileSystem, to: String, in destination: any FileSystem,
                           length: UInt64? = nil, allowLink: Bool = true) throws -> Bool {
        if allowLink && length == nil && sameFileSystem(source, destination) {
            do {
                try destination.link(from, to: to)
                return true
            } catch let error as StrataError where linkUnsupported(error) {
                // Fall through to a copy.
            }
        }
        try copy(from: from, in: source, to: to, in: destination, length: length)
        return false
    }

    /// Copies `length` bytes (default: all) of `from` into a new file `to`,
    /// and fsyncs it; returns the XXH3-64 of the bytes. Throws `.corruption`
    /// if `from` is shorter than `length`.
    @discardableResult
    static func copy(from: String, in source: any FileSystem, to: String, in destination: any FileSystem,
                     length: UInt64? = nil) throws -> String {
        let input = try source.openRandomAccess(from)
        defer { input.close() }
        return try copy(file: input, length: length ?? input.size, to: to, in: destination)
    }

    /// Copies the first `length` bytes of an open file into a new file `to`,
    /// fsynced. Returns the XXH3-64 of the bytes copied.
    @discardableResult
    static func copy(file input: any RandomAccessFile, length: UInt64, to: String, in destination: any FileSystem) throws -> String {
        guard let state = XXH3_createState() else {
            throw StrataError.ioError("XXH3_createState failed: out of memory", file: input.path)
        }
        defer { XXH3_freeState(state) }
        XXH3_64bits_reset(state)
        let output = try destination.createWritable(to)
        var closed = false
        defer { if !closed { try? output.close() } }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: FileChecksum.chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var offset: UInt64 = 0
        while offset < length {
            let n = Int(min(UInt64(FileChecksum.chunkSize), length - offset))
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
            try input.read(at: offset, into: slice)
            XXH3_64bits_update(state, slice.baseAddress, n)
            try output.append(UnsafeRawBufferPointer(slice))
            offset += UInt64(n)
        }
        try output.sync()
        closed = true
        try output.close()
        return FileChecksum.hex(XXH3_64bits_digest(state))
    }

    /// Writes `bytes` to a new file `path` and fsyncs it.
    static func writeFile(_ bytes: [UInt8], to path: String, in fileSystem: any FileSystem) throws {
        let file = try fileSystem.createWritable(path)
        do {
            try file.append(bytes)
            try file.sync()
            try file.close()
        } catch {
            try? file.close()
            throw error
        }
    }

    /// Writes `bytes` to `path` atomically: a `.tmp` sibling, fsync, rename,
    /// directory fsync. After a crash `path` holds either nothing (or its
    /// old contents) or all of `bytes`.
    static func writeFileAtomically(_ bytes: [UInt8], to path: String, in fileSystem: any FileSystem) throws {
        let temp = path + ".tmp"
        try writeFile(bytes, to: temp, in: fileSystem)
        try fileSystem.rename(temp, to: path)
        try fileSystem.syncDirectory(Path.dirname(path))
    }

    /// Reads a whole file.
    static func readFile(_ path: String, in fileSystem: any FileSystem) throws -> [UInt8] {
        let file = try fileSystem.openRandomAccess(path)
        defer { file.close() }
        return try file.read(at: 0, count: Int(file.size))
    }

    /// Removes a directory and everything in it (files and subdirectories).
    /// A missing directory is not an error.
    static func removeTree(_ path: String, in fileSystem: any FileSystem) throws {
        guard fileSystem.exists(path) else { return }
        guard let names = try? fileSystem.listDirectory(path) else {
            try fileSystem.removeFile(path)
            return
        }
        for name in names {
            let child = Path.join(path, name)
            if (try? fileSystem.listDirectory(child)) != nil {
                try removeTree(child, in: fileSystem)
            } else {
                try fileSystem.removeFile(child)
            }
        }
        try fileSystem.removeDirectory(path)
    }
}
