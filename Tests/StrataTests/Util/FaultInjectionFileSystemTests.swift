import Testing
@testable import Strata
import StrataTestSupport

/// The crash and fault-injection file systems do what the crash and error
/// tests rely on (testing.md layer 4).
@Suite("Fault-injecting file system")
struct FaultInjectionFileSystemTests {
    static func write(_ fs: any FileSystem, _ path: String, _ text: String, sync: Bool) throws {
        let f = try fs.createWritable(path)
        try f.append(Array(text.utf8))
        if sync { try f.sync() }
        try f.close()
    }

    static func read(_ fs: any FileSystem, _ path: String) throws -> String {
        let f = try fs.openRandomAccess(path)
        return String(decoding: try f.read(at: 0, count: Int(f.size)), as: UTF8.self)
    }

    @Test("a power loss drops unsynced bytes and every directory change since the directory's last sync")
    func powerLoss() throws {
        let fs = MemoryFileSystem()
        try fs.createDirectory("/d")
        try Self.write(fs, "/d/kept", "synced", sync: true)
        try Self.write(fs, "/d/old", "old", sync: true)
        try Self.write(fs, "/d/gone", "x", sync: true)
        try fs.syncDirectory("/d")
        // Unsynced data, a new file (synced data, unsynced entry), a rename and a removal.
        let f = try fs.openAppendable("/d/kept")
        try f.append(Array(" tail".utf8))
        try Self.write(fs, "/d/new", "new", sync: true)
        try fs.rename("/d/old", to: "/d/renamed")
        try fs.removeFile("/d/gone")
        #expect(try Self.read(fs, "/d/kept") == "synced tail")

        let image = fs.crashClone()
        #expect(try image.listDirectory("/d") == ["gone", "kept", "old"])
        #expect(try Self.read(image, "/d/kept") == "synced")
        #expect(try Self.read(image, "/d/old") == "old")

        // A process kill keeps everything handed to the OS.
        let killed = fs.crashClone(keeping: .all)
        #expect(try killed.listDirectory("/d") == ["kept", "new", "renamed"])
        #expect(try Self.read(killed, "/d/kept") == "synced tail")
        // ... and a power loss after the kill still loses the unsynced part.
        #expect(try killed.crashClone().listDirectory("/d") == ["gone", "kept", "old"])

        // After a directory sync the changes are durable; unsynced bytes still are not.
        try fs.syncDirectory("/d")
        fs.crash()
        #expect(try fs.listDirectory("/d") == ["kept", "new", "renamed"])
        #expect(try Self.read(fs, "/d/kept") == "synced")
    }

    @Test("a torn power loss keeps a seeded prefix of each unsynced tail")
    func tornTail() throws {
        let fs = MemoryFileSystem()
        try fs.createDirectory("/d")
        let f = try fs.createWritable("/d/log")
        try f.append(Array("0123".utf8))
        try f.sync()
        try fs.syncDirectory("/d")
        try f.append(Array("456789".utf8))
        var lengths = Set<Int>()
        for seed: UInt64 in 0..<40 {
            let text = try Self.read(fs.crashClone(keeping: .randomPrefix(seed: seed)), "/d/log")
            #expect("0123456789".hasPrefix(text) && text.count >= 4)
            lengths.insert(text.count)
            #expect(try Self.read(fs.crashClone(keeping: .randomPrefix(seed: seed)), "/d/log") == text, "not deterministic")
        }
        #expect(lengths.count > 3)
    }

    @Test("an error at the k-th operation of a class, on matching paths only, with no effect")
    func nthOperation() throws {
        let memory = MemoryFileSystem()
        let fs = FaultInjectionFileSystem(base: memory)
        try fs.createDirectory("/d")
        fs.inject(.write, pathSuffix: ".log", trigger: .nth(2))
        let other = try fs.createWritable("/d/a.sst")
        for _ in 0..<3 { try other.append([1]) }
        let log = try fs.createWritable("/d/1.log")
        try log.append([1])
        do {
            try log.append([2])
            Issue.record("the second append to a .log did not fail")
        } catch let error as StrataError {
            #expect(error.kind == .ioError)
            #expect(error.file == "/d/1.log")
            #expect(error.message.hasPrefix("injected"))
        }
        try log.append([3])
        #expect(try memory.openRandomAccess("/d/1.log").read(at: 0, count: 2) == [1, 3])
        #expect(fs.injectedCounts == [.write: 1])
    }

    @Test("every class can fail", arguments: FaultInjectionFileSystem.OperationClass.allCases)
    func everyClass(_ operationClass: FaultInjectionFileSystem.OperationClass) throws {
        let fs = FaultInjectionFileSystem(base: MemoryFileSystem())
        try fs.createDirectory("/d")
        try Self.write(fs, "/d/f", "data", sync: true)
        let file = try fs.openRandomAccess("/d/f")
        let writable = try fs.openAppendable("/d/f")
        fs.inject(operationClass, trigger: .always)
        let attempts: [() throws -> Void] = [
            { _ = try file.read(at: 0, count: 1) },
            { try writable.append([1]) },
            { try writable.sync() },
            { _ = try fs.openRandomAccess("/d/f") },
            { _ = try fs.createWritable("/d/g") },
            { try fs.link("/d/f", to: "/d/l") },
            { try fs.syncDirectory("/d") },
            { _ = try fs.listDirectory("/d") },
            { try fs.rename("/d/f", to: "/d/h") },
            { try fs.removeFile("/d/l") },
        ]
        var failures = 0
        for attempt in attempts {
            do { try attempt() } catch let error as StrataError { if error.message.hasPrefix("injected") { failures += 1 } }
        }
        #expect(failures == 1, "\(operationClass): \(failures) operations failed")
        #expect(fs.injectedCounts[operationClass] == 1)
    }

    @Test("probabilistic errors are the same for the same seed")
    func probability() throws {
        func pattern(seed: UInt64) throws -> [Bool] {
            let fs = FaultInjectionFileSystem(base: MemoryFileSystem())
            try fs.createDirectory("/d")
            let f = try fs.createWritable("/d/f")
            fs.inject(.sync, trigger: .probability(0.3, seed: seed))
            return (0..<200).map { _ in (try? f.sync()) == nil }
        }
        let a = try pattern(seed: 7)
        #expect(a == (try pattern(seed: 7)))
        #expect(a != (try pattern(seed: 8)))
        let rate = Double(a.filter { $0 }.count) / Double(a.count)
        #expect(rate > 0.15 && rate < 0.45, "rate \(rate)")
    }

    @Test("the hook numbers every mutation; after halt every operation fails")
    func hookAndHalt() throws {
        let fs = FaultInjectionFileSystem(base: MemoryFileSystem())
        let seen = Locked<[String]>([])
        fs.setHook { op in seen.withLock { $0.append(op.description) } }
        try fs.createDirectory("/d")
        try Self.write(fs, "/d/f", "x", sync: true)
        _ = try fs.listDirectory("/d")
        #expect(seen.withLock { $0 } == ["#1 create /d", "#2 create /d/f", "#3 write /d/f", "#4 sync /d/f", "#0 list /d"])
        fs.halt()
        #expect(throws: StrataError.self) { _ = try fs.openRandomAccess("/d/f") }
        #expect(throws: StrataError.self) { try fs.syncDirectory("/d") }
        #expect(fs.mutationCount == 5)
    }
}
