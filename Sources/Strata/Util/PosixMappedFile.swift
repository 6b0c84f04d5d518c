import Glibc
import Synchronization

/// A file read through a read-only shared memory mapping of its whole
/// contents, as LevelDB reads tables and as RocksDB does with
/// `allow_mmap_reads`: a block read is a bounds check and a pointer, with
/// no system call and no copy into a buffer of the reader's.
///
/// The mapping is made at open from the size the file had then and lives
/// until the object is freed: `close()` only makes later reads throw, so a
/// pointer handed out by `mappedBytes` stays valid for as long as the
/// caller holds the file (which it does while it reads). Tables are never
/// modified after they are written; a file truncated by someone else while
/// mapped makes reads of the lost part fault (SIGBUS), which is why this
/// is an option (`Options.allowMmapReads`) and not the only way.
///
/// Thread safety: reads may run concurrently from any thread.
final class PosixMappedFile: RandomAccessFile, @unchecked Sendable {
    // @unchecked: `base` is written once in init and only read afterwards;
    // `closed` is atomic.
    let path: String
    let size: UInt64
    private let base: UnsafeRawPointer?
    private let closed = AtomicFlag()

    /// Maps `size` bytes of the open descriptor `fd` (which is closed here:
    /// a mapping does not need it). Throws `.ioError` if `mmap` fails.
    init(path: String, fd: Int32, size: UInt64) throws {
        self.path = path
        self.size = size
        defer { Glibc.close(fd) }
        if size == 0 {
            base = nil
            return
        }
        guard let length = Int(exactly: size) else {
            throw StrataError.ioError("file of \(size) bytes is too large to map", file: path)
        }
        let address = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw posixError("mmap of \(size) bytes", path)
        }
        base = UnsafeRawPointer(address)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), Int(size)) }
    }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        let source = try mappedBytes(at: offset, count: buffer.count)
        if let to = buffer.baseAddress, let from = source?.baseAddress { to.copyMemory(from: from, byteCount: buffer.count) }
    }

    func mappedBytes(at offset: UInt64, count: Int) throws -> UnsafeRawBufferPointer? {
        guard !closed.isSet else { throw StrataError(.closed, "read after close", file: path, offset: offset) }
        guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
            throw StrataError.corruption(
                "file too short: wanted \(count) bytes, file ends after \(offset <= size ? size - offset : 0)",
                file: path, offset: offset)
        }
        guard let base, count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + Int(offset), count: count)
    }

    func close() { closed.set() }
}

/// A flag set once, readable from any thread.
final class AtomicFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
