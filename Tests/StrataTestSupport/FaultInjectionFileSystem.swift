import Strata
import Synchronization

/// A `FileSystem` wrapper that injects I/O errors and marks crash points,
/// for the reliability tests (testing.md, layer 4; LevelDB's
/// `FaultInjectionTestEnv`, RocksDB's `FaultInjectionTestFS`).
///
/// It wraps any file system. What survives a crash is the base's business:
/// over a `MemoryFileSystem`, `MemoryFileSystem.crashClone(keeping:)` gives
/// the image a power loss (or a process kill) at this moment would leave —
/// unsynced bytes dropped, and files created, renamed or removed since their
/// directory's last `syncDirectory` reverted. This wrapper adds:
///
/// * **Errors by operation class** (`OperationClass`), at the k-th operation
///   of that class, with a seeded probability, or always; optionally only on
///   paths ending with a suffix. An injected error is an `.ioError` whose
///   message starts with "injected"; the operation has no effect (an append
///   writes nothing, a sync makes nothing newly durable, a rename renames
///   nothing).
/// * **Operation numbering and a hook** (`beforeOperation`): every operation
///   that changes the file system (`OperationClass.isMutation`) gets a global
///   1-based index, and the hook runs before it executes. A crash sweep takes
///   `crashClone` in the hook at index k — exactly "a crash just before the
///   k-th operation" — and may then call `halt()`.
/// * **Halting**: after `halt()` every operation fails with `.ioError`
///   ("file system halted"), as a dead disk would; nothing becomes durable.
///
/// `exists` passes straight through (it cannot fail). `WritableFile.close`
/// is not a fault point (it makes nothing durable).
///
/// Deterministic: with the same sequence of calls, the same operations fail.
/// Operations are executed one at a time under an internal lock (reads
/// included), so the numbering is the execution order even when several
/// threads use the file system.
///
/// Thread safety: `Sendable`; internally locked. The hook runs under that
/// lock: it must not call back into this file system.
package final class FaultInjectionFileSystem: FileSystem {
    /// The classes of operations errors can be injected into.
    package enum OperationClass: String, CaseIterable, Sendable {
        /// `RandomAccessFile.read`.
        case read
        /// `WritableFile.append` and `flush`.
        case write
        /// `WritableFile.sync`.
        case sync
        /// `openRandomAccess`.
        case open
        /// `createWritable`, `openAppendable`, `createDirectory`, `lock`.
        case create
        /// `rename`.
        case rename
        /// `syncDirectory`.
        case syncDirectory
        /// `removeFile`, `removeDirectory`.
        case remove
        /// `link` (hard links, used by checkpoints).
        case link
        /// `listDirectory`, `fileSize`.
        case list

        /// True for the classes that change what is (or may become) on disk;
        /// only these are numbered for crash points.
        package var isMutation: Bool {
            switch self {
            case .write, .sync, .create, .rename, .syncDirectory, .remove, .link: true
            case .read, .open, .list: false
            }
        }
    }

    /// When an injection rule fires.
    package enum Trigger: Sendable, Equatable {
        /// At the k-th matching operation (1-based) counted from when the
        /// rule was added, then never again.
        case nth(Int)
        /// Each matching operation fails with probability `p`, drawn from a
        /// generator seeded with `seed`.
        case probability(Double, seed: UInt64)
        /// Every matching operation fails.
        case always
    }

    /// One operation, as the hook sees it.
    package struct Operation: Sendable, CustomStringConvertible {
        /// 1-based index among mutating operations; 0 for reads, opens and listings.
        package let index: Int
        /// The class of the operation.
        package let operationClass: OperationClass
        /// The path operated on (the source for rename and link).
        package let path: String

        /// `#index class path`, e.g. `#212 write /db/MANIFEST-000001`.
        package var description: String { "#\(index) \(operationClass.rawValue) \(path)" }
    }

    struct Rule {
        var operationClass: OperationClass
        var pathSuffix: String
        var trigger: Trigger
        var seen = 0
        var rng: SplitMix64
        var spent = false
    }

    struct State {
        var rules: [Rule] = []
        var mutations = 0
        var injected: [OperationClass: Int] = [:]
        var halted = false
        var hook: (@Sendable (Operation) -> Void)?
    }

    /// The wrapped file system.
    package let base: any FileSystem
    let state = Locked(State())

    /// Wraps `base`; no faults until `inject` is called.
    package init(base: any FileSystem) {
        self.base = base
    }

    // MARK: Control

    /// Adds a rule: operations of `operationClass` on paths ending with
    /// `pathSuffix` ("" = every path) fail as `trigger` says. Rules are
    /// independent; an operation fails if any rule fires.
    package func inject(_ operationClass: OperationClass, pathSuffix: String = "", trigger: Trigger) {
        var seed: UInt64 = 0
        if case .probability(_, let s) = trigger { seed = s }
        state.withLock {
            $0.rules.append(Rule(operationClass: operationClass, pathSuffix: pathSuffix, trigger: trigger,
                                 rng: SplitMix64(seed: seed)))
        }
    }

    /// Removes every injection rule (a halted file system stays halted).
    package func clearFaults() {
        state.withLock { $0.rules.removeAll() }
    }

    /// Makes every later operation fail with `.ioError`, as a dead disk would.
    package func halt() {
        state.withLock { $0.halted = true }
    }

    /// Sets (or with nil removes) the hook called before each operation,
    /// under the internal lock. It must not call into this file system.
    package func setHook(_ hook: (@Sendable (Operation) -> Void)?) {
        state.withLock { $0.hook = hook }
    }

    /// Mutating operations executed (or attempted) so far.
    package var mutationCount: Int { state.withLock { $0.mutations } }

    /// Errors injected so far, per class (halted operations not included).
    package var injectedCounts: [OperationClass: Int] { state.withLock { $0.injected } }

    /// Total errors injected so far.
    package var injectedTotal: Int { state.withLock { $0.injected.values.reduce(0, +) } }

    // MARK: The gate every operation passes

    /// Numbers the operation, runs the hook, applies the rules, and — if no
    /// rule fired — runs `body`, all under the lock.
    func perform<T>(_ operationClass: OperationClass, _ path: String, _ body: () throws -> T) throws -> T {
        try state.withLock { (s: inout State) throws -> T in
            var index = 0
            if operationClass.isMutation {
                s.mutations += 1
                index = s.mutations
            }
            s.hook?(Operation(index: index, operationClass: operationClass, path: path))
            if s.halted {
                throw StrataError.ioError("\(operationClass.rawValue) failed: file system halted (simulated crash)", file: path)
            }
            var fire = false
            for i in s.rules.indices where s.rules[i].operationClass == operationClass && !s.rules[i].spent
                && path.hasSuffix(s.rules[i].pathSuffix) {
                s.rules[i].seen += 1
                switch s.rules[i].trigger {
                case .nth(let k):
                    if s.rules[i].seen == k {
                        fire = true
                        s.rules[i].spent = true
                    }
                case .probability(let p, _):
                    let draw = Double(s.rules[i].rng.next() >> 11) / Double(UInt64(1) << 53)
                    if draw < p { fire = true }
                case .always:
                    fire = true
                }
            }
            if fire {
                s.injected[operationClass, default: 0] += 1
                throw StrataError.ioError("injected \(operationClass.rawValue) failure", file: path)
            }
            return try body()
        }
    }

    // MARK: FileSystem

    package func openRandomAccess(_ path: String) throws -> any RandomAccessFile {
        let file = try perform(.open, path) { try base.openRandomAccess(path) }
        return FaultInjectionRandomAccessFile(base: file, fs: self)
    }

    package func createWritable(_ path: String) throws -> any WritableFile {
        let file = try perform(.create, path) { try base.createWritable(path) }
        return FaultInjectionWritableFile(base: file, fs: self)
    }

    package func openAppendable(_ path: String) throws -> any WritableFile {
        let file = try perform(.create, path) { try base.openAppendable(path) }
        return FaultInjectionWritableFile(base: file, fs: self)
    }

    package func exists(_ path: String) -> Bool {
        base.exists(path)
    }

    package func fileSize(_ path: String) throws -> UInt64 {
        try perform(.list, path) { try base.fileSize(path) }
    }

    package func listDirectory(_ path: String) throws -> [String] {
        try perform(.list, path) { try base.listDirectory(path) }
    }

    package func createDirectory(_ path: String) throws {
        try perform(.create, path) { try base.createDirectory(path) }
    }

    package func removeFile(_ path: String) throws {
        try perform(.remove, path) { try base.removeFile(path) }
    }

    package func removeDirectory(_ path: String) throws {
        try perform(.remove, path) { try base.removeDirectory(path) }
    }

    package func rename(_ from: String, to: String) throws {
        try perform(.rename, from) { try base.rename(from, to: to) }
    }

    package func link(_ from: String, to: String) throws {
        try perform(.link, from) { try base.link(from, to: to) }
    }

    package func syncDirectory(_ path: String) throws {
        try perform(.syncDirectory, path) { try base.syncDirectory(path) }
    }

    package func lock(_ path: String) throws -> any FileLock {
        try perform(.create, path) { try base.lock(path) }
    }
}

/// A read-side file whose reads pass the wrapper's gate.
final class FaultInjectionRandomAccessFile: RandomAccessFile {
    let base: any RandomAccessFile
    let fs: FaultInjectionFileSystem
    var path: String { base.path }
    var size: UInt64 { base.size }

    init(base: any RandomAccessFile, fs: FaultInjectionFileSystem) {
        self.base = base
        self.fs = fs
    }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        do {
            try fs.perform(.read, base.path) { try base.read(at: offset, into: buffer) }
        } catch let error as StrataError where error.kind == .ioError && error.offset == nil {
            throw StrataError.ioError(error.message, file: base.path, offset: offset)
        }
    }

    func close() { base.close() }
}

/// A write-side file whose appends and syncs pass the wrapper's gate.
/// `close` is not a fault point (it never makes anything durable).
final class FaultInjectionWritableFile: WritableFile {
    let base: any WritableFile
    let fs: FaultInjectionFileSystem
    var path: String { base.path }
    var size: UInt64 { base.size }

    init(base: any WritableFile, fs: FaultInjectionFileSystem) {
        self.base = base
        self.fs = fs
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        try fs.perform(.write, base.path) { try base.append(bytes) }
    }

    func flush() throws {
        try fs.perform(.write, base.path) { try base.flush() }
    }

    func sync() throws {
        try fs.perform(.sync, base.path) { try base.sync() }
    }

    func close() throws { try base.close() }
}
