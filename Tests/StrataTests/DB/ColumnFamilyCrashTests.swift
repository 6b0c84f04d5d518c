import Testing
@testable import Strata

/// Crash tests with column families on `MemoryFileSystem`: writes go to
/// several families (one created mid-stream), families are flushed one at a
/// time — so WALs are kept alive by some families and not others — and
/// after a simulated power loss the state of all families together is a
/// prefix of the acknowledged writes that includes every synced one. A WAL
/// deleted while a family still needed it would show up here as a hole.
@Suite("Column family crash recovery")
struct ColumnFamilyCrashTests {
    /// (family name, key) → value over every live family.
    static func state(_ db: Database) throws -> [String: [[UInt8]: [UInt8]]] {
        var out: [String: [[UInt8]: [UInt8]]] = [:]
        for name in db.columnFamilyNames {
            var m: [[UInt8]: [UInt8]] = [:]
            let it = try db.columnFamily(named: name)!.makeIterator()
            it.seekToFirst()
            while it.isValid {
                m[it.key] = it.value
                it.next()
            }
            try it.status()
            if !m.isEmpty { out[name] = m }
        }
        return out
    }

    @Test("the recovered families are a prefix of acknowledged writes and keep synced ones")
    func prefixAfterCrash() throws {
        let names = ["default", "a", "b", "late"]
        for seed: UInt64 in 1...20 {
            print("seed \(seed)")
            var rng = TestRandom(seed: seed)
            let fs = MemoryFileSystem()
            var options = Options()
            options.fileSystem = fs
            options.writeBufferSize = [4 << 10, 16 << 10][rng.int(0..<2)]
            options.level0FileNumCompactionTrigger = 2
            options.maxBytesForLevelBase = 32 << 10
            options.targetFileSizeBase = 8 << 10
            let dir = "/db"
            let db = try Database.open(at: dir, options: options)
            var families = [db.defaultColumnFamily, try db.createColumnFamily(named: "a"), try db.createColumnFamily(named: "b")]
            // Each write updates one or two families in one batch.
            var writes: [[(family: String, key: [UInt8], value: [UInt8]?)]] = []
            var lastSynced = -1
            let total = rng.int(50..<500)
            let createLateAt = rng.int(0..<total)
            let crashAt = rng.int(0..<total)
            var image: MemoryFileSystem? = nil
            for i in 0..<total {
                if i == createLateAt { families.append(try db.createColumnFamily(named: "late")) }
                var batch = WriteBatch()
                var write: [(family: String, key: [UInt8], value: [UInt8]?)] = []
                for _ in 0..<rng.int(1..<3) {
                    let family = families[rng.int(0..<families.count)]
                    let key = Array("key\(rng.int(0..<40))".utf8)
                    if rng.int(0..<5) == 0 {
                        batch.delete(key, in: family)
                        write.append((family.name, key, nil))
                    } else {
                        let value = rng.bytes(rng.int(0..<200))
                        batch.put(key, value, in: family)
                        write.append((family.name, key, value))
                    }
                }
                let sync = rng.int(0..<10) == 0
                try db.write(batch, options: WriteOptions(sync: sync))
                writes.append(write)
                if sync { lastSynced = i }
                if rng.int(0..<30) == 0 { try families[rng.int(0..<families.count)].flush() }
                if i == crashAt {
                    image = fs.crashClone()
                    break
                }
            }
            try db.close()
            guard let image else { continue }
            var recoveredOptions = options
            recoveredOptions.fileSystem = image
            let recovered = try Database.open(at: dir, options: recoveredOptions)
            let state = try Self.state(recovered)
            #expect(Set(recovered.columnFamilyNames).isSubset(of: Set(names)))
            try recovered.close()

            var model: [String: [[UInt8]: [UInt8]]] = [:]
            var matches: [Int] = []
            if state.isEmpty { matches.append(-1) }
            for (i, write) in writes.enumerated() {
                for w in write {
                    model[w.family, default: [:]][w.key] = w.value
                    if model[w.family]!.isEmpty { model[w.family] = nil }
                }
                if model == state { matches.append(i) }
            }
            #expect(!matches.isEmpty, "seed \(seed): recovered state is not a prefix of the writes")
            #expect(matches.contains { $0 >= lastSynced }, "seed \(seed): a synced write was lost (last synced \(lastSynced))")
        }
    }
}

/// A MANIFEST failure while creating or dropping a family stops writes
/// until reopen, and the reopened database is consistent.
@Suite("Column family MANIFEST failures")
struct ColumnFamilyManifestFailureTests {
    @Test("a failed MANIFEST append or fsync in create/drop fails it and later writes; reopen recovers", arguments: [
        WriteFailureTests.FaultCase.sync, .append,
    ])
    func manifestFailure(_ fault: WriteFailureTests.FaultCase) throws {
        for dropping in [false, true] {
            let fs = MemoryFileSystem()
            let db = try Database.open(at: "/db", options: WriteFailureTests.options(fs))
            let kept = try db.createColumnFamily(named: "kept")
            try kept.put(Array("k".utf8), Array("v".utf8), options: WriteOptions(sync: true))
            fs.failNext(fault.operation, pathSuffix: String(DBFileName.manifest(db.versions.manifestNumber)))
            do {
                if dropping { try db.dropColumnFamily(named: "kept") } else { try db.createColumnFamily(named: "new") }
                Issue.record("the MANIFEST failure was not reported")
            } catch let error as StrataError {
                #expect(error.kind == .ioError)
            }
            #expect(throws: StrataError.self) { try db.put(Array("later".utf8), Array("x".utf8)) }
            try? db.close()
            let reopened = try Database.open(at: "/db", options: WriteFailureTests.options(fs))
            // The failed change may or may not have reached the file (a
            // failed fsync leaves the record there); the database is
            // consistent either way, and the rest of its data is intact.
            let names = reopened.columnFamilyNames
            #expect(names.first == "default")
            if let family = reopened.columnFamily(named: "kept") {
                #expect(try family.get(Array("k".utf8)) == Array("v".utf8))
            } else {
                #expect(dropping)
            }
            #expect(try reopened.get(Array("later".utf8)) == nil)
            try reopened.put(Array("after".utf8), Array("1".utf8))
            try reopened.close()
        }
    }
}
