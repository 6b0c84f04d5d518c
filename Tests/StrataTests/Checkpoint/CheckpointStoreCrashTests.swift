import Foundation
import Testing
@testable import Strata

/// A file system over a `MemoryFileSystem` that "loses power" at its N-th
/// mutating operation (create, append, sync, rename, link, remove, mkdir,
/// directory sync): it keeps the crash image (`MemoryFileSystem.crashClone`
/// taken just before that operation) and fails that and every later
/// operation, as if the process died there.
final class CrashPointFileSystem: FileSystem, @unchecked Sendable {
    // @unchecked: mutable state lives in `state` (locked).
    let base: MemoryFileSystem
    let crashAt: Int
    private let state = Locked<(count: Int, image: MemoryFileSystem?)>((0, nil))

    init(base: MemoryFileSystem, crashAt: Int) {
        self.base = base
        self.crashAt = crashAt
    }

    /// The file system as the crash left it, if the crash point was reached.
    var image: MemoryFileSystem? { state.withLock { $0.image } }
    /// Mutating operations seen so far.
    var operations: Int { state.withLock { $0.count } }

    func step(_ what: String, _ path: String) throws {
        try state.withLock { s in
            if s.image != nil { throw StrataError.ioError("simulated crash: process is gone", file: path) }
            s.count += 1
            if s.count == crashAt {
                s.image = base.crashClone()
                throw StrataError.ioError("simulated crash before \(what)", file: path)
            }
        }
    }

    func openRandomAccess(_ path: String) throws -> any RandomAccessFile { try base.openRandomAccess(path) }
    func createWritable(_ path: String) throws -> any WritableFile {
        try step("create", path)
        return CrashPointFile(try base.createWritable(path), self)
    }
    func openAppendable(_ path: String) throws -> any WritableFile {
        try step("open for append", path)
        return CrashPointFile(try base.openAppendable(path), self)
    }
    func exists(_ path: String) -> Bool { base.exists(path) }
    func fileSize(_ path: String) throws -> UInt64 { try base.fileSize(path) }
    func listDirectory(_ path: String) throws -> [String] { try base.listDirectory(path) }
    func createDirectory(_ path: String) throws {
        try step("mkdir", path)
        try base.createDirectory(path)
    }
    func removeFile(_ path: String) throws {
        try step("unlink", path)
        try base.removeFile(path)
    }
    func removeDirectory(_ path: String) throws {
        try step("rmdir", path)
        try base.removeDirectory(path)
    }
    func rename(_ from: String, to: String) throws {
        try step("rename", from)
        try base.rename(from, to: to)
    }
    func link(_ from: String, to: String) throws {
        try step("link", from)
        try base.link(from, to: to)
    }
    func syncDirectory(_ path: String) throws {
        try step("directory sync", path)
        try base.syncDirectory(path)
    }
    func lock(_ path: String) throws -> any FileLock { try base.lock(path) }
}

final class CrashPointFile: WritableFile {
    let file: any WritableFile
    let fs: CrashPointFileSystem
    init(_ file: any WritableFile, _ fs: CrashPointFileSystem) {
        self.file = file
        self.fs = fs
    }
    var path: String { file.path }
    var size: UInt64 { file.size }
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        try fs.step("append", path)
        try file.append(bytes)
    }
    func flush() throws { try file.flush() }
    func sync() throws {
        try fs.step("sync", path)
        try file.sync()
    }
    func close() throws { try file.close() }
}

@Suite("Checkpoint store crash points")
struct CheckpointStoreCrashTests {
    typealias S = CheckpointTestSupport

    /// Runs the store workload (3 creates with keepLast 2, a delete) with a
    /// crash at operation `crashAt`; returns the crash image (nil if the
    /// workload finished first) and the checkpoints that were complete and
    /// not being deleted at the crash (they must survive), with all
    /// manifests created.
    static func run(crashAt: Int, seed: UInt64)
        throws -> (image: MemoryFileSystem?, mustSurvive: [CheckpointManifest], created: [String: CheckpointManifest]) {
        let base = MemoryFileSystem()
        var dbOptions = S.smallOptions()
        dbOptions.fileSystem = base
        let db = try Database.open(at: "/db", options: dbOptions)
        defer { try? db.close() }
        var rng = TestRandom(seed: seed)
        var model: [[UInt8]: [UInt8]] = [:]
        let fs = CrashPointFileSystem(base: base, crashAt: crashAt)
        var storeOptions = CheckpointStoreOptions()
        storeOptions.fileSystem = fs
        storeOptions.keepLast = 2
        var survivors: [CheckpointManifest] = []
        var created: [String: CheckpointManifest] = [:]
        do {
            let store = try CheckpointStore.open(at: "/store", options: storeOptions)
            for round in 0..<3 {
                try S.randomWrites(db, &model, &rng, count: 300, keys: 200)
                if round == 1 { try db.compactRange() }
                var options = CheckpointOptions()
                options.flushMemtable = round != 2
                // From here, the oldest may be deleted by retention.
                let before = survivors
                survivors = Array(before.suffix(1))
                let m = try store.create(from: db, options: options)
                created[m.id] = m
                survivors = store.list()
            }
            let victim = survivors[0]
            survivors = Array(survivors.dropFirst())
            try store.delete(id: victim.id)
            store.close()
        } catch let error as StrataError where error.message.hasPrefix("simulated crash") {
            return (fs.image, survivors, created)
        }
        return (nil, survivors, created)
    }

    @Test("a crash at every operation of create, retention and delete leaves complete checkpoints and no debris after open")
    func everyCrashPoint() throws {
        let seed: UInt64 = 4
        print("seed \(seed)")
        var crashAt = 1
        var crashes = 0
        while true {
            let (image, mustSurvive, created) = try Self.run(crashAt: crashAt, seed: seed)
            guard let image else { break }
            crashes += 1
            var options = CheckpointStoreOptions()
            options.fileSystem = image
            let store = try CheckpointStore.open(at: "/store", options: options)
            let visible = store.list()
            for m in mustSurvive {
                #expect(visible.contains(m), "crash point \(crashAt): checkpoint \(m.id) lost")
            }
            for m in visible {
                // A visible checkpoint is one a create finished writing (maybe not yet returned).
                if let c = created[m.id] { #expect(c == m, "crash point \(crashAt)") }
            }
            do {
                try store.verify()
            } catch {
                Issue.record("crash point \(crashAt): verify failed: \(error)")
            }
            // No debris: shared/ holds exactly the referenced tables, private/ the visible ids, meta/ their manifests.
            let referenced = Set(visible.flatMap { $0.files.compactMap(\.storedAs) }.filter { $0.hasPrefix("shared/") }
                .map { String($0.dropFirst(7)) })
            #expect(Set(try image.listDirectory("/store/shared")) == referenced, "crash point \(crashAt)")
            #expect(Set(try image.listDirectory("/store/private")) == Set(visible.map(\.id)), "crash point \(crashAt)")
            #expect(Set(try image.listDirectory("/store/meta")) == Set(visible.map { $0.id + ".json" }))
            // The store keeps working after the crash.
            var dbOptions = S.smallOptions()
            dbOptions.fileSystem = image
            let db = try Database.open(at: "/db", options: dbOptions)
            let next = try store.create(from: db)
            #expect(!visible.contains { $0.id == next.id })
            try store.verify(id: next.id)
            try db.close()
            store.close()
            crashAt += 1
        }
        print("crash points tested: \(crashes)")
        #expect(crashes > 50)
    }
}

/// A fail-stop file system over another one: once armed, its N-th mutating
/// operation and every later one fail, as if the process died there (the
/// files written so far stay, as they do on a real disk after a kill).
final class FailStopFileSystem: FileSystem, @unchecked Sendable {
    // @unchecked: mutable state lives in `state` (locked).
    let base: any FileSystem
    private let state = Locked<(armed: Bool, remaining: Int, died: Bool)>((false, 0, false))

    init(base: any FileSystem) { self.base = base }

    func arm(failAt n: Int) { state.withLock { $0 = (true, n, false) } }
    func disarm() -> Bool { state.withLock { s in defer { s = (false, 0, false) }; return s.died } }

    func step(_ path: String) throws {
        try state.withLock { s in
            guard s.armed else { return }
            if !s.died {
                s.remaining -= 1
                if s.remaining > 0 { return }
                s.died = true
            }
            throw StrataError.ioError("simulated process death", file: path)
        }
    }

    func openRandomAccess(_ path: String) throws -> any RandomAccessFile { try base.openRandomAccess(path) }
    func createWritable(_ path: String) throws -> any WritableFile {
        try step(path)
        return FailStopFile(try base.createWritable(path), self)
    }
    func openAppendable(_ path: String) throws -> any WritableFile {
        try step(path)
        return FailStopFile(try base.openAppendable(path), self)
    }
    func exists(_ path: String) -> Bool { base.exists(path) }
    func fileSize(_ path: String) throws -> UInt64 { try base.fileSize(path) }
    func listDirectory(_ path: String) throws -> [String] { try base.listDirectory(path) }
    func createDirectory(_ path: String) throws { try step(path); try base.createDirectory(path) }
    func removeFile(_ path: String) throws { try step(path); try base.removeFile(path) }
    func removeDirectory(_ path: String) throws { try step(path); try base.removeDirectory(path) }
    func rename(_ from: String, to: String) throws { try step(from); try base.rename(from, to: to) }
    func link(_ from: String, to: String) throws { try step(from); try base.link(from, to: to) }
    func syncDirectory(_ path: String) throws { try step(path); try base.syncDirectory(path) }
    func lock(_ path: String) throws -> any FileLock { try base.lock(path) }
}

final class FailStopFile: WritableFile {
    let file: any WritableFile
    let fs: FailStopFileSystem
    init(_ file: any WritableFile, _ fs: FailStopFileSystem) {
        self.file = file
        self.fs = fs
    }
    var path: String { file.path }
    var size: UInt64 { file.size }
    func append(_ bytes: UnsafeRawBufferPointer) throws { try fs.step(path); try file.append(bytes) }
    func flush() throws { try file.flush() }
    func sync() throws { try fs.step(path); try file.sync() }
    func close() throws { try file.close() }
}

@Suite("Checkpoint directory crash points")
struct CheckpointDirectoryCrashTests {
    typealias S = CheckpointTestSupport

    @Test("a process death at every operation of db.checkpoint leaves no destination or a complete one; a retry succeeds")
    func everyOperation() throws {
        let seed: UInt64 = 9
        print("seed \(seed)")
        let dir = TestDirectory("ckpt-crash")
        defer { dir.remove() }
        let fs = FailStopFileSystem(base: PosixFileSystem.shared)
        var options = S.smallOptions()
        options.fileSystem = fs
        options.writeBufferSize = 1 << 20
        let db = try Database.open(at: dir.file("db"), options: options)
        var rng = TestRandom(seed: seed)
        var model: [[UInt8]: [UInt8]] = [:]
        try S.randomWrites(db, &model, &rng, count: 600)
        try db.flush()
        try S.randomWrites(db, &model, &rng, count: 100)  // in the memtable and WAL
        var failAt = 1
        var deaths = 0
        while true {
            let target = dir.file("c\(failAt)")
            var ckpt = CheckpointOptions()
            ckpt.flushMemtable = false  // no flush: only the checkpoint's own operations count
            fs.arm(failAt: failAt)
            let outcome = Result { try db.checkpoint(to: target, options: ckpt) }
            let died = fs.disarm()
            if case .success = outcome, !died { break }
            deaths += 1
            if FileManager.default.fileExists(atPath: target) {
                // Renamed into place before the death: it must be complete.
                let copy = try Database.open(at: target, options: S.smallOptions())
                #expect(try S.scan(copy) == model, "death at operation \(failAt)")
                try copy.close()
            } else {
                // The retry replaces the stale temp directory and succeeds.
                _ = try db.checkpoint(to: target, options: ckpt)
                #expect(!FileManager.default.fileExists(atPath: target + ".tmp"))
                let copy = try Database.open(at: target, options: S.smallOptions())
                #expect(try S.scan(copy) == model, "retry after death at operation \(failAt)")
                try copy.close()
            }
            failAt += 1
        }
        print("operations tested: \(deaths)")
        #expect(deaths > 10)
        try db.close()
    }
}
