import Testing
@testable import Strata

/// `DBIterator` copies the current key and value only when `key`/`value`
/// are read; `withKeyAndValue` lends views without copying. These tests
/// walk a database with overwritten keys (older entries to step over),
/// deletions, merges and a range deletion (the paths that resolve a key's
/// entries), mixing `next`, `prev`, seeks, held arrays and views, against
/// a model.
@Suite("Iterator key and value views")
struct IteratorViewTests {
    /// Appends the operand to the existing value (a test merge operator).
    struct Append: MergeOperator {
        var name: String { "test.append" }
        func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) -> [UInt8]? {
            operands.reduce(existing ?? []) { $0 + $1 }
        }
    }

    static func key(_ i: Int) -> [UInt8] { Array("k\(1000 + i)".utf8) }

    /// Builds a database over three table files and the memtable; returns it and the model.
    static func build(_ dir: TestDirectory, seed: UInt64, rangeDelete: Bool) throws -> (Database, [[UInt8]: [UInt8]]) {
        var rng = TestRandom(seed: seed)
        var options = Options()
        options.mergeOperator = Append()
        let db = try Database.open(at: dir.path, options: options)
        var model: [[UInt8]: [UInt8]] = [:]
        for round in 0..<4 {
            for _ in 0..<300 {
                let k = key(rng.int(0..<200))
                switch rng.int(0..<10) {
                case 0:
                    try db.delete(k)
                    model[k] = nil
                case 1:
                    let operand = rng.bytes(3)
                    try db.merge(k, operand)
                    model[k] = (model[k] ?? []) + operand
                default:
                    let v = rng.bytes(rng.int(0..<40))
                    try db.put(k, v)
                    model[k] = v
                }
            }
            if round < 3 { try db.flush() }
        }
        if rangeDelete {
            try db.deleteRange(from: key(50), to: key(60))
            for i in 50..<60 { model[key(i)] = nil }
        }
        return (db, model)
    }

    @Test("forward and backward scans, arrays held across steps, views and direction changes agree with the model",
          arguments: [false, true])
    func scansAgree(rangeDelete: Bool) throws {
        for seed: UInt64 in 1...4 {
            print("seed \(seed) rangeDelete \(rangeDelete)")
            let dir = TestDirectory()
            defer { dir.remove() }
            let (db, model) = try Self.build(dir, seed: seed, rangeDelete: rangeDelete)
            let sorted = model.keys.sorted { Bytewise.compare($0, $1) < 0 }

            // Forward, reading through views only.
            var seen: [[UInt8]] = []
            let it = try db.makeIterator()
            it.seekToFirst()
            while it.isValid {
                let (k, v) = it.withKeyAndValue { k, v in (Array(k), Array(v)) }
                #expect(model[k] == v)
                seen.append(k)
                it.next()
            }
            try it.status()
            #expect(seen == sorted)

            // Forward, holding every key and value array the iterator handed out.
            var held: [([UInt8], [UInt8])] = []
            it.seekToFirst()
            while it.isValid {
                held.append((it.key, it.value))
                it.next()
            }
            #expect(held.map(\.0) == sorted)
            #expect(held.allSatisfy { model[$0.0] == $0.1 })

            // Direction changes: a random walk of next/prev/seek checked at every step.
            var rng = TestRandom(seed: seed &+ 100)
            var position: Int? = nil  // index into `sorted`
            for _ in 0..<400 {
                switch rng.int(0..<6) {
                case 0:
                    let target = Self.key(rng.int(0..<210))
                    it.seek(target)
                    position = sorted.firstIndex { Bytewise.compare($0, target) >= 0 }
                case 1:
                    let target = Self.key(rng.int(0..<210))
                    it.seekForPrev(target)
                    position = sorted.lastIndex { Bytewise.compare($0, target) <= 0 }
                case 2, 3:
                    guard let p = position else { it.seekToFirst(); position = sorted.isEmpty ? nil : 0; break }
                    it.next()
                    position = p + 1 < sorted.count ? p + 1 : nil
                default:
                    guard let p = position else { it.seekToLast(); position = sorted.isEmpty ? nil : sorted.count - 1; break }
                    it.prev()
                    position = p > 0 ? p - 1 : nil
                }
                #expect(it.isValid == (position != nil))
                guard let p = position, it.isValid else { continue }
                if rng.int(0..<2) == 0 {
                    #expect(it.key == sorted[p])
                    #expect(it.withKeyAndValue { k, _ in Array(k) } == sorted[p])
                } else {
                    #expect(it.withKeyAndValue { _, v in Array(v) } == model[sorted[p]])
                    #expect(it.value == model[sorted[p]])
                }
            }
            try it.status()
            try db.close()
        }
    }
}
