import Testing
@testable import Strata

/// CompactionIterator: merging operands (full and partial, within snapshot
/// stripes), the compaction filter, and range-tombstone coverage.
@Suite("Compaction iterator")
struct CompactionIteratorTests {
    struct Entry: Equatable, CustomStringConvertible {
        var key: String
        var sequence: UInt64
        var type: UInt8
        var value: String
        var description: String { "\(key)@\(sequence)#\(type)=\(value)" }
    }

    static let value = ValueType.value.rawValue
    static let merge = ValueType.merge.rawValue
    static let deletion = ValueType.deletion.rawValue

    /// A memtable holding `entries` (key, sequence, type, value).
    static func memtable(_ entries: [(String, UInt64, ValueType, String)]) -> MemTable {
        let table = MemTable()
        for (k, s, t, v) in entries { table.add(sequence: s, type: t, key: Array(k.utf8), value: Array(v.utf8)) }
        return table
    }

    static func run(_ table: MemTable, snapshots: [UInt64] = [], bottommost: Bool = false,
                    mergeOperator: (any MergeOperator)? = StringAppendOperator(separator: ","),
                    filter: (any CompactionFilter)? = nil,
                    tombstones: RangeTombstoneList = .empty) throws -> [Entry] {
        let it = CompactionIterator(input: table.makeIterator(), snapshots: snapshots, bottommost: bottommost,
                                    mergeOperator: mergeOperator, compactionFilter: filter, filterLevel: 3,
                                    tombstones: tombstones)
        var out: [Entry] = []
        it.seekToFirst()
        while it.isValid {
            let p = ParsedInternalKey(it.key)!
            out.append(Entry(key: String(decoding: p.userKey, as: UTF8.self), sequence: p.sequence, type: p.typeCode,
                             value: String(decoding: it.value, as: UTF8.self)))
            it.next()
        }
        if let e = it.error { throw e }
        return out
    }

    @Test("operands above a value merge fully into one value with the newest sequence")
    func fullMergeOnValue() throws {
        let t = Self.memtable([("a", 1, .value, "x"), ("a", 2, .merge, "y"), ("a", 3, .merge, "z"), ("b", 4, .value, "q")])
        #expect(try Self.run(t) == [Entry(key: "a", sequence: 3, type: Self.value, value: "x,y,z"),
                                    Entry(key: "b", sequence: 4, type: Self.value, value: "q")])
    }

    @Test("operands above a deletion merge with no existing value")
    func fullMergeOnDeletion() throws {
        let t = Self.memtable([("a", 1, .value, "old"), ("a", 2, .deletion, ""), ("a", 3, .merge, "y"), ("a", 4, .merge, "z")])
        #expect(try Self.run(t) == [Entry(key: "a", sequence: 4, type: Self.value, value: "y,z")])
    }

    @Test("operands with nothing below: partial merge unless bottommost")
    func operandsOnly() throws {
        let t = Self.memtable([("a", 5, .merge, "p"), ("a", 6, .merge, "q"), ("a", 7, .merge, "r")])
        #expect(try Self.run(t) == [Entry(key: "a", sequence: 7, type: Self.merge, value: "p,q,r")])
        // At the bottom, older than every snapshot: the merged value gets sequence 0.
        #expect(try Self.run(t, bottommost: true) == [Entry(key: "a", sequence: 0, type: Self.value, value: "p,q,r")])
    }

    struct NoPartial: MergeOperator {
        var name: String { "NoPartial" }
        func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) -> [UInt8]? {
            (existing ?? Array("_".utf8)) + operands.flatMap { $0 }
        }
    }

    struct Failing: MergeOperator {
        var name: String { "Failing" }
        func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) -> [UInt8]? { nil }
    }

    @Test("an operator without partial merge keeps every operand")
    func noPartialMerge() throws {
        let t = Self.memtable([("a", 5, .merge, "p"), ("a", 6, .merge, "q")])
        #expect(try Self.run(t, mergeOperator: NoPartial()) == [
            Entry(key: "a", sequence: 6, type: Self.merge, value: "q"),
            Entry(key: "a", sequence: 5, type: Self.merge, value: "p"),
        ])
        #expect(try Self.run(t, bottommost: true, mergeOperator: NoPartial()) == [
            Entry(key: "a", sequence: 0, type: Self.value, value: "_pq"),
        ])
    }

    @Test("without a merge operator operands pass through")
    func noOperator() throws {
        let t = Self.memtable([("a", 1, .value, "x"), ("a", 2, .merge, "y")])
        #expect(try Self.run(t, mergeOperator: nil) == [
            Entry(key: "a", sequence: 2, type: Self.merge, value: "y"),
            Entry(key: "a", sequence: 1, type: Self.value, value: "x"),
        ])
    }

    @Test("merging never crosses a snapshot boundary")
    func snapshotBoundary() throws {
        // Snapshot 5 sees x,p; the latest view sees x,p,q,r.
        let t = Self.memtable([("a", 3, .value, "x"), ("a", 5, .merge, "p"), ("a", 6, .merge, "q"), ("a", 7, .merge, "r")])
        let out = try Self.run(t, snapshots: [5])
        #expect(out == [Entry(key: "a", sequence: 7, type: Self.merge, value: "q,r"),
                        Entry(key: "a", sequence: 5, type: Self.value, value: "x,p")])
        // Bottommost does not allow a full merge of the newer stripe either;
        // the value of the oldest stripe (at or below every snapshot) gets sequence 0.
        #expect(try Self.run(t, snapshots: [5], bottommost: true) == [
            Entry(key: "a", sequence: 7, type: Self.merge, value: "q,r"),
            Entry(key: "a", sequence: 0, type: Self.value, value: "x,p")])
        // Snapshot 4 sits between the value and the operands: the value stays for it.
        #expect(try Self.run(t, snapshots: [4]) == [
            Entry(key: "a", sequence: 7, type: Self.merge, value: "p,q,r"),
            Entry(key: "a", sequence: 3, type: Self.value, value: "x"),
        ])
    }

    @Test("a failing full merge stops with a corruption error")
    func failingMerge() throws {
        let t = Self.memtable([("a", 1, .value, "x"), ("a", 2, .merge, "y")])
        #expect(throws: StrataError.self) { try Self.run(t, mergeOperator: Failing()) }
        do {
            _ = try Self.run(t, mergeOperator: Failing())
        } catch let error as StrataError {
            #expect(error.kind == .corruption)
            #expect(error.description.contains("Failing"))
        }
    }

    @Test("Int64 add: partial and full merges sum with wrap-around")
    func int64Add() throws {
        let table = MemTable()
        table.add(sequence: 1, type: .value, key: Array("n".utf8), value: Int64AddOperator.encode(Int64.max))
        table.add(sequence: 2, type: .merge, key: Array("n".utf8), value: Int64AddOperator.encode(1))
        table.add(sequence: 3, type: .merge, key: Array("m".utf8), value: Int64AddOperator.encode(40))
        table.add(sequence: 4, type: .merge, key: Array("m".utf8), value: Int64AddOperator.encode(2))
        let it = CompactionIterator(input: table.makeIterator(), snapshots: [], bottommost: false,
                                    mergeOperator: Int64AddOperator())
        it.seekToFirst()
        var got: [(UInt64, UInt8, Int64)] = []
        while it.isValid {
            let p = ParsedInternalKey(it.key)!
            got.append((p.sequence, p.typeCode, Int64AddOperator.decode(Array(it.value))))
            it.next()
        }
        #expect(got.count == 2)
        #expect(got[0] == (4, Self.merge, 42))
        #expect(got[1] == (2, Self.value, Int64.min))
    }

    struct Recording: CompactionFilter {
        var name: String { "Recording" }
        func filter(level: Int, key: [UInt8], value: [UInt8]) -> CompactionDecision {
            precondition(level == 3)
            switch String(decoding: value, as: UTF8.self) {
            case "drop": return .remove
            case "swap": return .change(Array("swapped".utf8))
            default: return .keep
            }
        }
    }

    @Test("the filter removes and changes values of the latest stripe only")
    func filterLatestStripe() throws {
        let t = Self.memtable([
            ("a", 1, .value, "drop"), ("b", 2, .value, "swap"), ("c", 3, .value, "keep"),
            ("d", 4, .value, "drop"), ("d", 9, .value, "drop"), ("e", 5, .value, "swap"),
        ])
        // No snapshot, not bottommost: removal leaves a deletion to hide older data.
        #expect(try Self.run(t, filter: Recording()) == [
            Entry(key: "a", sequence: 1, type: Self.deletion, value: ""),
            Entry(key: "b", sequence: 2, type: Self.value, value: "swapped"),
            Entry(key: "c", sequence: 3, type: Self.value, value: "keep"),
            Entry(key: "d", sequence: 9, type: Self.deletion, value: ""),
            Entry(key: "e", sequence: 5, type: Self.value, value: "swapped"),
        ])
        // Bottommost, no snapshot: removed values vanish.
        #expect(try Self.run(t, bottommost: true, filter: Recording()).map(\.key) == ["b", "c", "e"])
        // Snapshot 4: entries at or below 4 are visible to it and untouched
        // but for their sequence, 0 at the bottom; d@9 is newer and filtered
        // (to a deletion, since d@4 stays for the snapshot).
        #expect(try Self.run(t, snapshots: [4], bottommost: true, filter: Recording()) == [
            Entry(key: "a", sequence: 0, type: Self.value, value: "drop"),
            Entry(key: "b", sequence: 0, type: Self.value, value: "swap"),
            Entry(key: "c", sequence: 0, type: Self.value, value: "keep"),
            Entry(key: "d", sequence: 9, type: Self.deletion, value: ""),
            Entry(key: "d", sequence: 0, type: Self.value, value: "drop"),
            Entry(key: "e", sequence: 5, type: Self.value, value: "swapped"),
        ])
    }

    @Test("at the bottom, values older than every snapshot are written with sequence 0; newer ones keep theirs")
    func zeroedSequences() throws {
        let t = Self.memtable([("a", 3, .value, "x"), ("a", 8, .value, "y"), ("b", 4, .value, "z"), ("c", 9, .deletion, "")])
        #expect(try Self.run(t, bottommost: true) == [Entry(key: "a", sequence: 0, type: Self.value, value: "y"),
                                                       Entry(key: "b", sequence: 0, type: Self.value, value: "z")])
        #expect(try Self.run(t, snapshots: [5], bottommost: true) == [
            Entry(key: "a", sequence: 8, type: Self.value, value: "y"),
            Entry(key: "a", sequence: 0, type: Self.value, value: "x"),
            Entry(key: "b", sequence: 0, type: Self.value, value: "z"),
            Entry(key: "c", sequence: 9, type: Self.deletion, value: ""),
        ])
        // Not at the bottom: sequences stay.
        #expect(try Self.run(t).map(\.sequence) == [8, 4, 9])
    }

    @Test("entries covered by a range tombstone of their stripe are dropped")
    func rangeTombstoneCoverage() throws {
        let t = Self.memtable([("a", 1, .value, "x"), ("b", 2, .value, "y"), ("b", 8, .merge, "z"), ("c", 3, .value, "w")])
        let tombstones = RangeTombstoneList(tombstones: [(Array("a".utf8), Array("c".utf8), 5)])
        // a@1 and b@2 are deleted by the tombstone at 5; b@8 merges onto nothing.
        #expect(try Self.run(t, tombstones: tombstones) == [
            Entry(key: "b", sequence: 8, type: Self.value, value: "z"),
            Entry(key: "c", sequence: 3, type: Self.value, value: "w"),
        ])
        // A snapshot at 3 still sees a@1 and b@2 (the tombstone is newer than it).
        #expect(try Self.run(t, snapshots: [3], tombstones: tombstones) == [
            Entry(key: "a", sequence: 1, type: Self.value, value: "x"),
            Entry(key: "b", sequence: 8, type: Self.merge, value: "z"),
            Entry(key: "b", sequence: 2, type: Self.value, value: "y"),
            Entry(key: "c", sequence: 3, type: Self.value, value: "w"),
        ])
    }
}
