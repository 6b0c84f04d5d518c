import Testing
@testable import Strata
import StrataTestSupport

/// The W-Amp counters per level and for the WAL, checked against counts the
/// engine's counters do not feed:
///
/// * per level: the MANIFEST, decoded after the run, lists every table each
///   flush and compaction added and at which level; summing the sizes of
///   the tables added at level L (a table listed again — a trivial move — is
///   counted once, where it was written) gives the bytes written to L, and
///   the edits that added tables give the compaction count;
/// * WAL: the bytes in the WAL files, sized through the file system (just
///   before their removal, or at the end).
@Suite("Amplification counters")
struct AmplificationCountersTests {
    final class RemovedBytes: @unchecked Sendable {
        // @unchecked: only touched under `lock`.
        let lock = Locked<UInt64>(0)
    }

    /// (bytes added per level, edits adding tables per level) from the MANIFEST named by CURRENT.
    static func manifestWrites(_ fs: MemoryFileSystem, _ path: String) throws -> (bytes: [UInt64], edits: [UInt64]) {
        let current = try fs.openRandomAccess(path + "/CURRENT")
        let name = String(decoding: try current.read(at: 0, count: Int(current.size)), as: UTF8.self).trimmingNewlines()
        current.close()
        let file = try fs.openRandomAccess(path + "/" + name)
        defer { file.close() }
        let reader = LogReader(file: file)
        var bytes = [UInt64](repeating: 0, count: Version.levelCount)
        var edits = [UInt64](repeating: 0, count: Version.levelCount)
        var seen = Set<UInt64>()
        while let record = try reader.next() {
            let edit = try VersionEdit.decode(record)
            var levels = Set<Int>()
            for (level, meta) in edit.newFiles where seen.insert(meta.number).inserted {
                bytes[level] += meta.fileSize
                levels.insert(level)
            }
            for level in levels { edits[level] += 1 }
        }
        return (bytes, edits)
    }

    @Test("bytes written per level equal the tables the MANIFEST added there; WAL bytes equal the WAL files",
          arguments: [CompactionStyle.leveled, .universal])
    func perLevelAndWAL(style: CompactionStyle) throws {
        let seed: UInt64 = 4242
        print("AmplificationCountersTests seed \(seed), \(style)")
        let memory = MemoryFileSystem()
        let fs = FaultInjectionFileSystem(base: memory)
        let removedWAL = RemovedBytes()
        fs.setHook { operation in
            if operation.operationClass == .remove, operation.path.hasSuffix(".log"),
               let size = try? memory.fileSize(operation.path) {
                removedWAL.lock.withLock { $0 += size }
            }
        }
        var options = Options()
        options.fileSystem = fs
        options.compactionStyle = style
        options.writeBufferSize = 32 << 10
        options.targetFileSizeBase = 32 << 10
        options.maxBytesForLevelBase = 128 << 10
        options.level0FileNumCompactionTrigger = 2
        let path = "/db"
        let db = try Database.open(at: path, options: options)
        var rng = TestRandom(seed: seed)
        // Values up to 40 KiB now and then: WAL records that span 32 KiB log blocks.
        for i in 0..<12_000 {
            let size = i % 997 == 0 ? 40_000 : rng.int(10..<120)
            try db.put(Array("k\(rng.int(0..<5000))".utf8), rng.bytes(size))
        }
        try db.waitForBackgroundWork()
        let stats = db.statistics()
        try db.close()

        let (bytes, edits) = try Self.manifestWrites(memory, path)
        let flushedAndL0 = stats.flushBytes + stats.compactionBytesWritten[0]
        #expect(bytes[0] == flushedAndL0, "L0: counted \(flushedAndL0), MANIFEST \(bytes[0])")
        for level in 1..<Version.levelCount {
            #expect(bytes[level] == stats.compactionBytesWritten[level],
                    "L\(level): counted \(stats.compactionBytesWritten[level]), MANIFEST \(bytes[level])")
            #expect(edits[level] == stats.compactions[level], "L\(level) compactions")
        }
        #expect(edits[0] == stats.flushes + stats.compactions[0])
        #expect(stats.totalCompactionBytesWritten > 0)

        var walBytes = removedWAL.lock.withLock { $0 }
        for name in try memory.listDirectory(path) where name.hasSuffix(".log") {
            walBytes += try memory.fileSize(path + "/" + name)
        }
        #expect(stats.walBytes == walBytes, "counted \(stats.walBytes), WAL files \(walBytes)")
        #expect(stats.walBytes > stats.userBytes)
    }
}
