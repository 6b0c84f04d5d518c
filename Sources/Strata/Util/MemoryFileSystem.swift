import Synchronization

/// An in-memory file system that remembers what was made durable, for crash
/// tests (LevelDB's fault-injection env, Pebble's crash clone).
///
/// * A file's contents survive a crash only up to its last `sync`.
/// * A directory entry (a file's creation, a rename, a removal, a link)
///   survives only if the directory was synced after it; otherwise the crash
///   reverts the directory to what it held at its last `syncDirectory`.
///
/// `crash()` applies both rules to every file and directory, exactly what a
/// power loss may do. Paths are plain strings; directories are tracked by the
/// path prefix before the last "/".
///
/// Thread safety: internally locked; files may be used from several threads.
public final class MemoryFileSystem: FileSystem {
    final class Node: @unchecked Sendable {
        // @unchecked: only touched under the file system's lock.
        var data: [UInt8] = []
        var synced: [UInt8] = []
    }

    struct Directory {
        /// Current entries.
        var entries: [String: Node] = [:]
        /// Entries as of the last directory sync.
        var durable: [String: Node] = [:]
    }

    struct State {
        var directories: [String: Directory] = [:]
        var locks: Set<String> = []
        var faults: [Fault] = []
    }

    /// A write-side operation that can be made to fail (`failNext`).
    public enum FaultOperation: Sendable {
        case append
        case sync
    }

    struct Fault {
        var operation: FaultOperation
        var pathSuffix: String
        var remaining: Int
    }

    let state = Locked(State())

    /// An empty file system with a root directory "/".
    public init() {
        state.withLock { $0.directories["/"] = Directory() }
    }

    static func split(_ path: String) -> (String, String) {
        (Path.dirname(path), Path.basename(path))
    }

    private func node(_ path: String) -> Node? {
        let (dir, name) = Self.split(path)
        return state.withLock { $0.directories[dir]?.entries[name] }
    }

    /// Makes the next `count` `operation`s on files whose path ends with
    /// `pathSuffix` (".log", "MANIFEST-000001", …) fail with `.ioError`,
    /// as a full disk or a failing device would. A failed append writes
    /// nothing; a failed sync makes nothing newly durable.
    public func failNext(_ operation: FaultOperation, pathSuffix: String, count: Int = 1) {
        state.withLock { $0.faults.append(Fault(operation: operation, pathSuffix: pathSuffix, remaining: count)) }
    }

    /// Consumes a matching injected fault; true if the operation must fail.
    fileprivate func takeFault(_ operation: FaultOperation, path: String) -> Bool {
        state.withLock { s in
            guard let i = s.faults.firstIndex(where: { $0.operation == operation && $0.remaining > 0 && path.hasSuffix($0.pathSuffix) }) else {
                return false
            }
            s.faults[i].remaining -= 1
            if s.faults[i].remaining == 0 { s.faults.remove(at: i) }
            return true
        }
    }

    /// Simulates a power loss: unsynced data and unsynced directory entries vanish.
    public func crash() {
        state.withLock { s in
            var seen = Set<ObjectIdentifier>()
            for (path, var dir) in s.directories {
                dir.entries = dir.durable
                s.directories[path] = dir
                for node in dir.entries.values where seen.insert(ObjectIdentifier(node)).inserted {
                    node.data = node.synced
                }
            }
            s.locks.removeAll()
        }
    }

    /// What a crash image keeps of the data that was written but not synced.
    public enum UnsyncedData: Sendable, Equatable {
        /// A power loss: unsynced bytes and unsynced directory entries are lost.
        case none
        /// A process kill (SIGKILL): everything handed to the OS survives —
        /// all bytes and all directory entries; what was synced stays synced.
        case all
        /// A power loss that tore the unsynced tails: directory entries revert
        /// to their last sync, and each file keeps its synced bytes plus a
        /// prefix of its unsynced bytes, of a length drawn from a generator
        /// seeded with `seed` (possibly none, possibly all).
        case randomPrefix(seed: UInt64)
    }

    /// A deep copy of what a crash now would leave (by default a power loss:
    /// the durable state), as a new file system. The original keeps running.
    /// Locks are not copied: the crashed process held none.
    public func crashClone(keeping unsynced: UnsyncedData = .none) -> MemoryFileSystem {
        let clone = MemoryFileSystem()
        var rng = SplitMix64(seed: { if case .randomPrefix(let s) = unsynced { return s } else { return 0 } }())
        state.withLock { s in
            var copies: [ObjectIdentifier: Node] = [:]
            func copy(_ node: Node) -> Node {
                if let done = copies[ObjectIdentifier(node)] { return done }
                let n = Node()
                n.synced = node.synced
                switch unsynced {
                case .none:
                    n.data = node.synced
                case .all:
                    n.data = node.data
                case .randomPrefix:
                    if node.data.count > node.synced.count && node.data.starts(with: node.synced) {
                        let extra = Int(rng.next() % UInt64(node.data.count - node.synced.count + 1))
                        n.data = Array(node.data.prefix(node.synced.count + extra))
                    } else {
                        n.data = node.synced
                    }
                }
                if unsynced != .all { n.synced = n.data }
                copies[ObjectIdentifier(node)] = n
                return n
            }
            clone.state.withLock { c in
                // Sorted, so a seeded clone is the same on every run.
                for path in s.directories.keys.sorted() {
                    let dir = s.directories[path]!
                    var d = Directory()
                    for name in dir.durable.keys.sorted() { d.durable[name] = copy(dir.durable[name]!) }
                    if unsynced == .all {
                        for name in dir.entries.keys.sorted() { d.entries[name] = copy(dir.entries[name]!) }
                    } else {
                        d.entries = d.durable
                    }
                    c.directories[path] = d
                }
            }
        }
        return clone
    }

    /// Names of the files in `directory` that a power loss now would keep,
    /// with their durable sizes (for diagnostics in crash tests).
    public func durableListing(_ directory: String) -> [(name: String, size: Int)] {
        state.withLock { s in
            (s.directories[directory]?.durable ?? [:]).map { ($0.key, $0.value.synced.count) }.sorted { $0.name < $1.name }
        }
    }

    public func openRandomAccess(_ path: String) throws -> any RandomAccessFile {
        guard let node = node(path) else { throw StrataError.ioError("open for reading failed: no such file", file: path) }
        let data = state.withLock { _ in node.data }
        return MemoryRandomAccessFile(path: path, data: data)
    }

    public func createWritable(_ path: String) throws -> any WritableFile {
        let (dir, name) = Self.split(path)
        return try state.withLock { s in
            guard s.directories[dir] != nil else { throw StrataError.ioError("create failed: no such directory", file: path) }
            let node = s.directories[dir]!.entries[name] ?? Node()
            node.data = []
            s.directories[dir]!.entries[name] = node
            return MemoryWritableFile(path: path, node: node, fs: self)
        }
    }

    public func openAppendable(_ path: String) throws -> any WritableFile {
        let (dir, name) = Self.split(path)
        return try state.withLock { s in
            guard s.directories[dir] != nil else { throw StrataError.ioError("open failed: no such directory", file: path) }
            let node = s.directories[dir]!.entries[name] ?? Node()
            s.directories[dir]!.entries[name] = node
            return MemoryWritableFile(path: path, node: node, fs: self)
        }
    }

    public func exists(_ path: String) -> Bool {
        if state.withLock({ $0.directories[path] != nil }) { return true }
        return node(path) != nil
    }

    public func fileSize(_ path: String) throws -> UInt64 {
        guard let node = node(path) else { throw StrataError.ioError("stat failed: no such file", file: path) }
        return state.withLock { _ in UInt64(node.data.count) }
    }

    public func listDirectory(_ path: String) throws -> [String] {
        try state.withLock { s in
            guard let dir = s.directories[path] else { throw StrataError.ioError("opendir failed: no such directory", file: path) }
            var names = Array(dir.entries.keys)
            for sub in s.directories.keys where Path.dirname(sub) == path && sub != path { names.append(Path.basename(sub)) }
            return names.sorted()
        }
    }

    public func createDirectory(_ path: String) throws {
        state.withLock { s in
            var p = path
            var chain: [String] = []
            while s.directories[p] == nil && p != "/" && p != "." && !p.isEmpty {
                chain.append(p)
                p = Path.dirname(p)
            }
            // Directories themselves are treated as durable once created.
            for d in chain { s.directories[d] = Directory() }
        }
    }

    public func removeFile(_ path: String) throws {
        let (dir, name) = Self.split(path)
        try state.withLock { s in
            guard s.directories[dir]?.entries[name] != nil else { throw StrataError.ioError("unlink failed: no such file", file: path) }
            s.directories[dir]!.entries[name] = nil
        }
    }

    public func removeDirectory(_ path: String) throws {
        try state.withLock { s in
            guard let dir = s.directories[path], dir.entries.isEmpty else {
                throw StrataError.ioError("rmdir failed: not an empty directory", file: path)
            }
            s.directories[path] = nil
        }
    }

    public func rename(_ from: String, to: String) throws {
        let (fromDir, fromName) = Self.split(from)
        let (toDir, toName) = Self.split(to)
        try state.withLock { s in
            guard let node = s.directories[fromDir]?.entries[fromName] else {
                throw StrataError.ioError("rename failed: no such file", file: from)
            }
            guard s.directories[toDir] != nil else { throw StrataError.ioError("rename failed: no such directory", file: to) }
            s.directories[fromDir]!.entries[fromName] = nil
            s.directories[toDir]!.entries[toName] = node
        }
    }

    public func link(_ from: String, to: String) throws {
        let (fromDir, fromName) = Self.split(from)
        let (toDir, toName) = Self.split(to)
        try state.withLock { s in
            guard let node = s.directories[fromDir]?.entries[fromName] else {
                throw StrataError.ioError("link failed: no such file", file: from)
            }
            guard s.directories[toDir] != nil, s.directories[toDir]!.entries[toName] == nil else {
                throw StrataError.ioError("link failed: target exists or no directory", file: to)
            }
            s.directories[toDir]!.entries[toName] = node
        }
    }

    public func syncDirectory(_ path: String) throws {
        try state.withLock { s in
            guard s.directories[path] != nil else { throw StrataError.ioError("fsync directory failed", file: path) }
            s.directories[path]!.durable = s.directories[path]!.entries
        }
    }

    public func lock(_ path: String) throws -> any FileLock {
        try state.withLock { s in
            if s.locks.contains(path) {
                throw StrataError(.busy, "lock held by another process: the database is already open", file: path)
            }
            s.locks.insert(path)
        }
        if node(path) == nil { _ = try createWritable(path) }
        return MemoryFileLock(fs: self, path: path)
    }

    fileprivate func unlock(_ path: String) {
        _ = state.withLock { $0.locks.remove(path) }
    }

    fileprivate func append(_ node: Node, _ bytes: UnsafeRawBufferPointer) {
        state.withLock { _ in node.data.append(contentsOf: bytes) }
    }

    fileprivate func sync(_ node: Node) {
        state.withLock { _ in node.synced = node.data }
    }

    fileprivate func size(_ node: Node) -> UInt64 {
        state.withLock { _ in UInt64(node.data.count) }
    }
}

final class MemoryRandomAccessFile: RandomAccessFile {
    let path: String
    let data: [UInt8]
    var size: UInt64 { UInt64(data.count) }

    init(path: String, data: [UInt8]) {
        self.path = path
        self.data = data
    }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard offset <= UInt64(data.count), UInt64(buffer.count) <= UInt64(data.count) - offset else {
            throw StrataError.corruption("file too short: wanted \(buffer.count) bytes", file: path, offset: offset)
        }
        data.withUnsafeBytes { raw in
            if buffer.count > 0 {
                buffer.baseAddress!.copyMemory(from: raw.baseAddress! + Int(offset), byteCount: buffer.count)
            }
        }
    }

    func close() {}
}

final class MemoryWritableFile: WritableFile {
    let path: String
    private let node: MemoryFileSystem.Node
    private let fs: MemoryFileSystem
    private var isClosed = false

    init(path: String, node: MemoryFileSystem.Node, fs: MemoryFileSystem) {
        self.path = path
        self.node = node
        self.fs = fs
    }

    var size: UInt64 { fs.size(node) }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard !isClosed else { throw StrataError(.closed, "append after close", file: path) }
        if fs.takeFault(.append, path: path) { throw StrataError.ioError("injected append failure", file: path, offset: size) }
        fs.append(node, bytes)
    }

    func flush() throws {}

    func sync() throws {
        guard !isClosed else { throw StrataError(.closed, "sync after close", file: path) }
        if fs.takeFault(.sync, path: path) { throw StrataError.ioError("injected fsync failure", file: path) }
        fs.sync(node)
    }

    func close() throws { isClosed = true }
}

final class MemoryFileLock: FileLock {
    private let fs: MemoryFileSystem
    private let path: String
    private let held = Atomic<Bool>(true)

    init(fs: MemoryFileSystem, path: String) {
        self.fs = fs
        self.path = path
    }

    func unlock() {
        if held.exchange(false, ordering: .acquiringAndReleasing) { fs.unlock(path) }
    }
}
