import Testing
@testable import Strata

/// The block cache's own hash table (`CacheSlotTable`): linear probing with
/// backward-shift deletion, checked against a dictionary model through
/// random inserts and removals, including keys forced into one probe run.
@Suite("CacheSlotTable")
struct CacheSlotTableTests {
    /// Applies `operations` random inserts/removes of keys below `keySpace`
    /// with `hashOf` as the hash, checking every key's presence after each step.
    static func check(seed: UInt64, keySpace: Int, operations: Int, hashOf: (Int) -> UInt64) {
        print("CacheSlotTable seed \(seed), key space \(keySpace)")
        var rng = TestRandom(seed: seed)
        var table = CacheSlotTable()
        // key -> slot held; slots are the key's own number here.
        var model: [Int: Int32] = [:]
        for step in 0..<operations {
            let key = Int(rng.next() % UInt64(keySpace))
            if let slot = model[key] {
                table.remove(hashOf(key), slot: slot)
                model[key] = nil
            } else {
                table.insert(hashOf(key), slot: Int32(key))
                model[key] = Int32(key)
            }
            #expect(table.count == model.count, "step \(step)")
            if step % 499 == 0 || step == operations - 1 {
                for k in 0..<keySpace {
                    let found = table.find(hashOf(k)) { $0 == Int32(k) }
                    #expect(found == model[k], "step \(step), key \(k)")
                }
            }
        }
    }

    @Test("random inserts and removals agree with a dictionary (well-mixed hashes, growth to 4,096 entries)")
    func randomAgainstModel() {
        Self.check(seed: 0xCA5E_0001, keySpace: 6000, operations: 40_000) { $0.cacheHash }
    }

    @Test("keys colliding on a few home positions: removals in the middle of probe runs keep every key findable")
    func clusteredRuns() {
        // Low bits pick the home: 8 homes for 300 keys make long, wrapping runs.
        Self.check(seed: 0xCA5E_0002, keySpace: 300, operations: 20_000) { k in
            UInt64(k % 8) | UInt64(k) << 32
        }
    }

    @Test("equal hashes for different keys are told apart by the caller's key check")
    func equalHashes() {
        var table = CacheSlotTable()
        for slot in Int32(0)..<50 { table.insert(42, slot: slot) }
        for slot in Int32(0)..<50 { #expect(table.find(42) { $0 == slot } == slot) }
        table.remove(42, slot: 17)
        #expect(table.find(42) { $0 == 17 } == nil)
        #expect(table.find(42) { $0 == 49 } == 49)
        #expect(table.count == 49)
    }
}
