import Foundation
import Strata
import Testing
@testable import StrataStreams

@Suite struct KeyedStateTests {
    @Test func valueStateSetGetClearAcrossNamespacesAndReopen() throws {
        let dir = StateTestDirectory("value")
        defer { dir.remove() }
        do {
            let backend = try StateBackend.open(at: dir.path, options: .testing())
            let state = try backend.valueState(StateDescriptor("profile"), valueCodec: StringCodec())
            let alice = backend.stateKey("alice", codec: StringCodec())
            let window = Namespace.window(TimeWindow(start: 0, end: 10_000))
            #expect(try state.value(for: alice) == nil)
            try state.update("a1", for: alice)
            try state.update("w1", for: alice, in: window)
            #expect(try state.value(for: alice) == "a1")
            #expect(try state.value(for: alice, in: window) == "w1")
            try state.clear(for: alice, in: window)
            #expect(try state.value(for: alice, in: window) == nil)
            try backend.close()
        }
        let backend = try StateBackend.open(at: dir.path, options: .testing())
        let state = try backend.valueState(StateDescriptor("profile"), valueCodec: StringCodec())
        let alice = backend.stateKey("alice", codec: StringCodec())
        #expect(try state.value(for: alice) == "a1")
        #expect(try state.value(for: alice, in: .window(TimeWindow(start: 0, end: 10_000))) == nil)
        #expect(try backend.entryCount(ofStateNamed: "profile") == 1)
        try backend.close()
    }

    @Test func writeBackCacheStaysBoundedAndLosesNothing() throws {
        let seed: UInt64 = 7
        print("seed \(seed)")
        var random = StateTestRandom(seed: seed)
        let dir = StateTestDirectory("value-cache")
        defer { dir.remove() }
        let backend = try StateBackend.open(at: dir.path, options: .testing(cacheEntries: 64))
        let state = try backend.valueState(StateDescriptor("v"), valueCodec: Int64Codec())
        var model: [Int64: Int64] = [:]
        for _ in 0..<5_000 {
            let k = Int64.random(in: 0..<500, using: &random)
            let key = backend.stateKey(k, codec: Int64Codec())
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<5:
                let v = Int64.random(in: -1000...1000, using: &random)
                try state.update(v, for: key)
                model[k] = v
            case 5..<7:
                try state.clear(for: key)
                model[k] = nil
            default:
                #expect(try state.value(for: key) == model[k])
            }
        }
        try backend.close()
        let reopened = try StateBackend.open(at: dir.path, options: .testing(cacheEntries: 64))
        let again = try reopened.valueState(StateDescriptor("v"), valueCodec: Int64Codec())
        for k in Int64(0)..<500 {
            #expect(try again.value(for: reopened.stateKey(k, codec: Int64Codec())) == model[k])
        }
        #expect(try reopened.entryCount(ofStateNamed: "v") == model.count)
        try reopened.close()
    }

    @Test func listStateAppendsWithoutReadingAndSurvivesCompaction() throws {
        let dir = StateTestDirectory("list")
        defer { dir.remove() }
        let backend = try StateBackend.open(at: dir.path, options: .testing())
        let list = try backend.listState(StateDescriptor("events"), elementCodec: StringCodec())
        let key = backend.stateKey(42, codec: Int64Codec())
        #expect(try list.get(for: key) == [])
        try list.add("a", for: key)
        try list.addAll(["b", "", "c"], for: key)
        try backend.database.flush()
        try list.add("d", for: key)
        #expect(try list.get(for: key) == ["a", "b", "", "c", "d"])
        try backend.database.compactRange(from: nil, to: nil)
        #expect(try list.get(for: key) == ["a", "b", "", "c", "d"])
        try list.update(["x"], for: key)
        try list.add("y", for: key)
        #expect(try list.get(for: key) == ["x", "y"])
        try list.clear(for: key)
        #expect(try list.get(for: key) == [])
        try backend.close()
    }

    @Test func mapStateIteratesInKeyOrderAndClearsWithOneRangeDelete() throws {
        let dir = StateTestDirectory("map")
        defer { dir.remove() }
        let backend = try StateBackend.open(at: dir.path, options: .testing())
        let map = try backend.mapState(StateDescriptor("m"), keyCodec: Int64Codec(), valueCodec: StringCodec())
        let k1 = backend.stateKey("k1", codec: StringCodec())
        let k2 = backend.stateKey("k2", codec: StringCodec())
        for i: Int64 in [5, -3, 100, 0] { try map.put(i, "v\(i)", for: k1) }
        try map.put(1, "other", for: k2)
        #expect(try map.entries(for: k1).map(\.0) == [-3, 0, 5, 100])
        #expect(try map.get(5, for: k1) == "v5")
        #expect(try map.get(6, for: k1) == nil)
        try map.remove(5, for: k1)
        #expect(try map.contains(5, for: k1) == false)
        #expect(try map.isEmpty(for: k1) == false)
        try map.clear(for: k1)
        #expect(try map.isEmpty(for: k1))
        #expect(try map.entries(for: k2).map(\.1) == ["other"])
        try backend.close()
    }

    @Test func aggregatingStateFoldsOperandsAcrossFlushReopenAndCompaction() throws {
        let dir = StateTestDirectory("agg")
        defer { dir.remove() }
        let key = StateKey(keyGroup: 3, encoded: [1, 2, 3])
        do {
            let backend = try StateBackend.open(at: dir.path, options: .testing())
            let sums = try backend.aggregatingState(StateDescriptor("sum"), function: SumAggregate())
            for round in 0..<5 {
                for i in 1...10 { try sums.add(Int64(i), for: key) }
                try backend.flush()                      // one merge operand per round
                if round == 2 { try backend.database.flush() }
            }
            #expect(try sums.get(for: key) == 275)
            try backend.close()
        }
        // Reopen and compact before the state is declared: the merge operator
        // does not know the function yet and must keep every operand.
        do {
            let backend = try StateBackend.open(at: dir.path, options: .testing())
            try backend.database.compactRange(from: nil, to: nil)
            let sums = try backend.aggregatingState(StateDescriptor("sum"), function: SumAggregate())
            #expect(try sums.get(for: key) == 275)
            try sums.add(5, for: key)
            #expect(try sums.get(for: key) == 280)
            try backend.flush()
            try backend.database.compactRange(from: nil, to: nil)
            #expect(try sums.get(for: key) == 280)
            try sums.clear(for: key)
            #expect(try sums.get(for: key) == nil)
            try backend.close()
        }
        let backend = try StateBackend.open(at: dir.path, options: .testing())
        let sums = try backend.aggregatingState(StateDescriptor("sum"), function: SumAggregate())
        #expect(try sums.get(for: key) == nil)
        #expect(try backend.entryCount(ofStateNamed: "sum") == 0)
        try backend.close()
    }

    @Test func aggregatingStateMatchesAModelUnderRandomOperations() throws {
        for seed: UInt64 in [1, 2, 3] {
            print("seed \(seed)")
            var random = StateTestRandom(seed: seed)
            let dir = StateTestDirectory("agg-model")
            defer { dir.remove() }
            var backend = try StateBackend.open(at: dir.path, options: .testing(cacheEntries: 16))
            var avg = try backend.aggregatingState(StateDescriptor("avg"), function: AverageAggregate())
            var model: [Int: (Double, Int64)] = [:]
            let windows = (0..<4).map { Namespace.window(TimeWindow(start: Int64($0) * 10, end: Int64($0) * 10 + 10)) }
            for _ in 0..<3_000 {
                let k = Int.random(in: 0..<40, using: &random)
                let w = Int.random(in: 0..<4, using: &random)
                let key = backend.stateKey(Int64(k), codec: Int64Codec())
                let id = k * 4 + w
                switch Int.random(in: 0..<100, using: &random) {
                case 0..<60:
                    let x = Double(Int.random(in: 0..<100, using: &random))
                    try avg.add(x, for: key, in: windows[w])
                    let (s, c) = model[id] ?? (0, 0)
                    model[id] = (s + x, c + 1)
                case 60..<70:
                    try avg.clear(for: key, in: windows[w])
                    model[id] = nil
                case 70..<75:
                    let target = (w + 1) % 4
                    try avg.mergeNamespaces([windows[w]], into: windows[target], for: key)
                    if let (s, c) = model[id] {
                        let (ts, tc) = model[k * 4 + target] ?? (0, 0)
                        model[k * 4 + target] = (ts + s, tc + c)
                        model[id] = nil
                    }
                case 75..<78:
                    try backend.flush()
                case 78:
                    try backend.close()
                    backend = try StateBackend.open(at: dir.path, options: .testing(cacheEntries: 16))
                    avg = try backend.aggregatingState(StateDescriptor("avg"), function: AverageAggregate())
                case 79:
                    try backend.flush()
                    try backend.database.compactRange(from: nil, to: nil)
                default:
                    let expected = model[id].map { $0.0 / Double($0.1) }
                    #expect(try avg.get(for: key, in: windows[w]) == expected)
                }
            }
            for k in 0..<40 {
                for w in 0..<4 {
                    let expected = model[k * 4 + w].map { $0.0 / Double($0.1) }
                    #expect(try avg.get(for: backend.stateKey(Int64(k), codec: Int64Codec()), in: windows[w]) == expected)
                }
            }
            try backend.close()
        }
    }

    @Test func ttlHidesExpiredEntriesAtOnceAndCompactionRemovesThem() throws {
        let dir = StateTestDirectory("ttl")
        defer { dir.remove() }
        let clock = TestClock(1_000_000)
        let backend = try StateBackend.open(at: dir.path, options: .testing(clock: clock))
        let seen = try backend.valueState(StateDescriptor("seen", ttl: StateTTL(milliseconds: 5_000)), valueCodec: BoolCodec())
        let map = try backend.mapState(StateDescriptor("m", ttl: StateTTL(milliseconds: 5_000)),
                                       keyCodec: StringCodec(), valueCodec: Int64Codec())
        let key = backend.stateKey("k", codec: StringCodec())
        try seen.update(true, for: key)
        try map.put("a", 1, for: key)
        try backend.flush()                           // the engine holds "seen" now
        clock.now += 3_000
        try map.put("b", 2, for: key)                 // written later: lives longer
        #expect(try seen.value(for: key) == true)
        clock.now += 2_500                             // "seen" and "a" expired
        #expect(try seen.value(for: key) == nil)
        #expect(try map.entries(for: key).map(\.0) == ["b"])
        try backend.flush()
        try backend.database.flush()
        try backend.database.compactRange(from: nil, to: nil)
        #expect(try backend.entryCount(ofStateNamed: "seen") == 0)
        #expect(try backend.entryCount(ofStateNamed: "m") == 1)
        try backend.close()
    }

    @Test func catalogKeepsIdsAndRejectsAKindChange() throws {
        let dir = StateTestDirectory("catalog")
        defer { dir.remove() }
        var ids: [UInt16] = []
        do {
            let backend = try StateBackend.open(at: dir.path, options: .testing())
            ids.append(try backend.valueState(StateDescriptor("a"), valueCodec: Int64Codec()).id)
            ids.append(try backend.listState(StateDescriptor("b"), elementCodec: Int64Codec()).id)
            ids.append(try backend.timerService(named: "t").id)
            try backend.close()
        }
        let backend = try StateBackend.open(at: dir.path, options: .testing())
        #expect(backend.stateNames == ["a", "b", "t"])
        #expect(try backend.listState(StateDescriptor("b"), elementCodec: Int64Codec()).id == ids[1])
        #expect(try backend.timerService(named: "t").id == ids[2])
        #expect(try backend.mapState(StateDescriptor("new"), keyCodec: Int64Codec(), valueCodec: Int64Codec()).id == 4)
        let error = #expect(throws: StrataError.self) {
            _ = try backend.valueState(StateDescriptor("b"), valueCodec: Int64Codec())
        }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.description.contains("list state") == true)
        try backend.close()
        #expect(throws: StrataError.self) { _ = try backend.valueState(StateDescriptor("a"), valueCodec: Int64Codec()) }
    }

    @Test func keyLayoutKeepsKeyGroupsContiguousAndKeysDecodable() throws {
        let dir = StateTestDirectory("layout")
        defer { dir.remove() }
        let backend = try StateBackend.open(at: dir.path, options: .testing())
        let state = try backend.valueState(StateDescriptor("v"), valueCodec: Int64Codec())
        var byGroup: [UInt16: Int] = [:]
        for i in 0..<2_000 {
            let key = backend.stateKey("user-\(i)", codec: StringCodec())
            #expect(Int(key.keyGroup) < backend.maxParallelism)
            #expect(try backend.decodeKey(key, codec: StringCodec()) == "user-\(i)")
            try state.update(Int64(i), for: key)
            byGroup[key.keyGroup, default: 0] += 1
        }
        // A stable hash: the same key lands in the same group in every release.
        #expect(backend.stateKey("user-1", codec: StringCodec()).keyGroup
                == UInt16(XXPH3.hash64([6] + Array("user-1".utf8)) % 128))
        #expect(backend.stateKey("user-1", codec: StringCodec()).keyGroup == 118)
        try backend.flush()
        // Each key group is one contiguous range: scanning [group g, g + 1) finds exactly its keys.
        for (group, count) in byGroup.sorted(by: { $0.key < $1.key }).prefix(10) {
            let range = StateKeyLayout.keyGroupRange(state.id, first: group, last: group)
            let it = try backend.database.makeIterator(options: ReadOptions(lowerBound: range.lower, upperBound: range.upper))
            var n = 0
            it.seekToFirst()
            while it.isValid { n += 1; it.next() }
            #expect(n == count)
        }
        try backend.close()
    }
}
