import Testing
@testable import Strata

/// `WriteBatch` in RocksDB's WAL encoding (spec section 14): fixed64
/// sequence, fixed32 count, then tagged records (PUT 0x1, DELETE 0x0,
/// MERGE 0x2, SINGLE_DELETE 0x7, RANGE_DELETE 0xF, column-family variants
/// with a varint32 id); the builders produce the exact bytes, `forEach`
/// gives the operations back in order, count / byteSize / sequence track the
/// encoding, `append(contentsOf:)` concatenates, a RocksDB-written batch
/// decodes, and truncated or garbage encodings are `.corruption`, never a trap.
@Suite("WriteBatch encoding")
struct WriteBatchTests {
    struct Op: Equatable, CustomStringConvertible {
        var type: ValueType
        var columnFamily: UInt32
        var key: [UInt8]
        var value: [UInt8]
        var description: String { "\(type)/cf\(columnFamily) \(key) -> \(value)" }
    }

    static func ops(_ batch: WriteBatch) throws -> [Op] {
        var out: [Op] = []
        try batch.forEach { out.append(Op(type: $0.type, columnFamily: $0.columnFamily, key: Array($0.key), value: Array($0.value))) }
        return out
    }

    static func header(_ sequence: UInt64, _ count: UInt32) -> [UInt8] {
        var out: [UInt8] = []
        out.appendFixed64(sequence)
        out.appendFixed32(count)
        return out
    }

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// The error `WriteBatch(encoded:)` throws, or nil if it decodes.
    static func failure(_ bytes: [UInt8]) -> StrataError? {
        do throws(StrataError) {
            _ = try WriteBatch(encoded: bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test("sequence 1, put a→1, put b→2 encodes as RocksDB does")
    func twoPuts() throws {
        var batch = WriteBatch()
        batch.sequence = 1
        batch.put(Self.bytes("a"), Self.bytes("1"))
        batch.put(Self.bytes("b"), Self.bytes("2"))
        #expect(batch.rep == [0x01, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0,
                              0x01, 0x01, 0x61, 0x01, 0x31, 0x01, 0x01, 0x62, 0x01, 0x32])
        #expect(batch.count == 2 && batch.sequence == 1 && batch.byteSize == 22)
    }

    @Test("delete, single delete, merge and delete range use tags 0x0, 0x7, 0x2 and 0xF")
    func otherTags() throws {
        var batch = WriteBatch()
        batch.sequence = 0x0102_0304_0506_0708
        batch.delete(Self.bytes("d"))
        batch.singleDelete(Self.bytes("s"))
        batch.merge(Self.bytes("m"), Self.bytes("op"))
        batch.deleteRange(from: Self.bytes("a"), to: Self.bytes("zz"))
        batch.put([], [])
        #expect(batch.rep == [0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x05, 0, 0, 0]
            + [0x00, 0x01, 0x64]
            + [0x07, 0x01, 0x73]
            + [0x02, 0x01, 0x6D, 0x02, 0x6F, 0x70]
            + [0x0F, 0x01, 0x61, 0x02, 0x7A, 0x7A]
            + [0x01, 0x00, 0x00])
        #expect(try Self.ops(batch) == [
            Op(type: .deletion, columnFamily: 0, key: Self.bytes("d"), value: []),
            Op(type: .singleDeletion, columnFamily: 0, key: Self.bytes("s"), value: []),
            Op(type: .merge, columnFamily: 0, key: Self.bytes("m"), value: Self.bytes("op")),
            Op(type: .rangeDeletion, columnFamily: 0, key: Self.bytes("a"), value: Self.bytes("zz")),
            Op(type: .value, columnFamily: 0, key: [], value: []),
        ])
    }

    @Test("column-family variants carry a varint32 id after tags 0x5, 0x4, 0x8, 0x6 and 0xE")
    func columnFamilies() throws {
        var batch = WriteBatch()
        batch.append(.value, columnFamily: 300, key: [0x6B], value: [0x76])
        batch.append(.deletion, columnFamily: 1, key: [0x6B], value: nil)
        batch.append(.singleDeletion, columnFamily: 2, key: [0x6B], value: nil)
        batch.append(.merge, columnFamily: 127, key: [0x6B], value: [0x6F])
        batch.append(.rangeDeletion, columnFamily: 128, key: [0x61], value: [0x62])
        batch.append(.value, columnFamily: 0, key: [0x6B], value: [0x30])
        #expect(Array(batch.rep[12...]) == [0x05, 0xAC, 0x02, 0x01, 0x6B, 0x01, 0x76]
            + [0x04, 0x01, 0x01, 0x6B]
            + [0x08, 0x02, 0x01, 0x6B]
            + [0x06, 0x7F, 0x01, 0x6B, 0x01, 0x6F]
            + [0x0E, 0x80, 0x01, 0x01, 0x61, 0x01, 0x62]
            + [0x01, 0x01, 0x6B, 0x01, 0x30])
        #expect(batch.count == 6)
        #expect(try Self.ops(batch) == [
            Op(type: .value, columnFamily: 300, key: [0x6B], value: [0x76]),
            Op(type: .deletion, columnFamily: 1, key: [0x6B], value: []),
            Op(type: .singleDeletion, columnFamily: 2, key: [0x6B], value: []),
            Op(type: .merge, columnFamily: 127, key: [0x6B], value: [0x6F]),
            Op(type: .rangeDeletion, columnFamily: 128, key: [0x61], value: [0x62]),
            Op(type: .value, columnFamily: 0, key: [0x6B], value: [0x30]),
        ])
        #expect(try WriteBatch(encoded: batch.rep) == batch)
    }

    @Test("forEach returns 400 random operations in order with their types; count and byteSize follow")
    func randomOperations() throws {
        let seed: UInt64 = 0xBA7C4
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        var batch = WriteBatch()
        var model: [Op] = []
        var size = WriteBatch.headerSize
        func lengthPrefixed(_ b: [UInt8]) -> Int { varintLength(UInt64(b.count)) + b.count }
        for i in 0..<400 {
            let key = rng.bytes(rng.int(0..<(rng.int(0..<10) == 0 ? 300 : 20)))
            let value = rng.bytes(rng.int(0..<(rng.int(0..<10) == 0 ? 1000 : 30)))
            switch rng.int(0..<5) {
            case 0:
                batch.put(key, value)
                model.append(Op(type: .value, columnFamily: 0, key: key, value: value))
                size += 1 + lengthPrefixed(key) + lengthPrefixed(value)
            case 1:
                batch.delete(key)
                model.append(Op(type: .deletion, columnFamily: 0, key: key, value: []))
                size += 1 + lengthPrefixed(key)
            case 2:
                batch.singleDelete(key)
                model.append(Op(type: .singleDeletion, columnFamily: 0, key: key, value: []))
                size += 1 + lengthPrefixed(key)
            case 3:
                batch.merge(key, value)
                model.append(Op(type: .merge, columnFamily: 0, key: key, value: value))
                size += 1 + lengthPrefixed(key) + lengthPrefixed(value)
            default:
                // An empty or inverted range is not recorded (RocksDB must
                // never replay one); order the pair so the range is real.
                let (begin, end) = Bytewise.compare(key, value) < 0 ? (key, value) : (value, key + [0])
                batch.deleteRange(from: begin, to: end)
                model.append(Op(type: .rangeDeletion, columnFamily: 0, key: begin, value: end))
                size += 1 + lengthPrefixed(begin) + lengthPrefixed(end)
            }
            #expect(batch.count == UInt32(i + 1))
            #expect(batch.byteSize == size)
        }
        #expect(try Self.ops(batch) == model)
        var empty = WriteBatch()
        empty.deleteRange(from: [2], to: [1])
        empty.deleteRange(from: [1], to: [1])
        #expect(empty.isEmpty, "an empty or inverted range leaves no record")
        let decoded = try WriteBatch(encoded: batch.rep)
        #expect(try Self.ops(decoded) == model)
        #expect(decoded.count == 400)
    }

    @Test("an empty batch is a 12-byte header; sequence, isEmpty and clear")
    func headerAndClear() throws {
        var batch = WriteBatch()
        #expect(batch.rep == [UInt8](repeating: 0, count: 12))
        #expect(batch.isEmpty && batch.count == 0 && batch.byteSize == 12 && batch.sequence == 0)
        #expect(try Self.ops(batch) == [])
        batch.sequence = maxSequenceNumber
        batch.put([1], [2])
        #expect(!batch.isEmpty && batch.sequence == maxSequenceNumber)
        #expect(Array(batch.rep[0..<12]) == Self.header(maxSequenceNumber, 1))
        batch.clear()
        #expect(batch.isEmpty && batch.byteSize == 12 && batch.rep == [UInt8](repeating: 0, count: 12))
        // Setting the sequence does not touch the records.
        batch.delete([7])
        let records = Array(batch.rep[12...])
        batch.sequence = 42
        #expect(Array(batch.rep[12...]) == records && batch.count == 1)
    }

    @Test("append(contentsOf:) concatenates the records and adds the counts, keeping its own sequence")
    func appendBatches() throws {
        var a = WriteBatch()
        a.sequence = 10
        a.put(Self.bytes("a"), Self.bytes("1"))
        var b = WriteBatch()
        b.sequence = 99
        b.delete(Self.bytes("b"))
        b.putLogData(Self.bytes("blob"))
        b.merge(Self.bytes("c"), Self.bytes("x"))
        a.append(contentsOf: b)
        #expect(a.rep == Self.header(10, 3) + [0x01, 0x01, 0x61, 0x01, 0x31]
            + [0x00, 0x01, 0x62] + [0x03, 0x04] + Self.bytes("blob") + [0x02, 0x01, 0x63, 0x01, 0x78])
        #expect(try Self.ops(a).map { $0.type } == [.value, .deletion, .merge])
        // Appending an empty batch, and a batch to itself.
        a.append(contentsOf: WriteBatch())
        #expect(a.count == 3)
        let before = a
        a.append(contentsOf: a)
        #expect(a.count == 6 && a.byteSize == 2 * before.byteSize - 12)
        #expect(try Self.ops(a) == (try Self.ops(before)) + (try Self.ops(before)))
        #expect(try WriteBatch(encoded: a.rep) == a)
    }

    @Test("log data and 2PC markers are skipped by forEach and not counted")
    func markers() throws {
        var rep = Self.header(5, 2)
        rep += [0x09]  // BeginPrepare
        rep += [0x01, 0x01, 0x6B, 0x01, 0x76]  // Put k v
        rep += [0x03, 0x02, 0xAA, 0xBB]  // LogData
        rep += [0x0A, 0x03, 0x78, 0x69, 0x64]  // EndPrepare "xid"
        rep += [0x0D]  // Noop
        rep += [0x0B, 0x03, 0x78, 0x69, 0x64]  // Commit "xid"
        rep += [0x0C, 0x00]  // Rollback ""
        rep += [0x12, 0x13]  // BeginPersistedPrepare, BeginUnprepare
        rep += [0x15, 0x01, 0x78, 0x02, 0x74, 0x73]  // CommitWithTimestamp "x" "ts"
        rep += [0x00, 0x01, 0x6B]  // Delete k
        let batch = try WriteBatch(encoded: rep)
        #expect(batch.sequence == 5 && batch.count == 2)
        #expect(try Self.ops(batch) == [
            Op(type: .value, columnFamily: 0, key: [0x6B], value: [0x76]),
            Op(type: .deletion, columnFamily: 0, key: [0x6B], value: []),
        ])
        var withBlob = WriteBatch()
        withBlob.putLogData([1, 2, 3])
        #expect(withBlob.count == 0 && withBlob.rep == Self.header(0, 0) + [0x03, 0x03, 1, 2, 3])
    }

    @Test("RocksDB 7.8.3's tiny_db WAL batch decodes and is rebuilt byte for byte")
    func rocksdbBatch() throws {
        let file = try PosixFileSystem().openRandomAccess(Vectors.path("tiny_db/000020.log"))
        defer { file.close() }
        let record = try LogReader(file: file).next()
        let payload = try #require(record)
        let batch = try WriteBatch(encoded: payload)
        #expect(batch.sequence == 102 && batch.count == 1)
        #expect(try Self.ops(batch) == [Op(type: .deletion, columnFamily: 0, key: Self.bytes("key000006"), value: [])])
        var rebuilt = WriteBatch()
        rebuilt.delete(Self.bytes("key000006"))
        rebuilt.sequence = 102
        #expect(rebuilt.rep == payload)
    }

    @Test("an error thrown by the forEach body stops the walk and reaches the caller")
    func bodyError() throws {
        struct Stop: Error {}
        var batch = WriteBatch()
        for i: UInt8 in 0..<5 { batch.put([i], [i]) }
        var seen = 0
        var caught: (any Error)? = nil
        do {
            try batch.forEach { _ in
                seen += 1
                if seen == 3 { throw Stop() }
            }
        } catch {
            caught = error
        }
        #expect(caught is Stop)
        #expect(seen == 3)
    }

    @Test("every truncation and a wrong count are .corruption")
    func truncation() throws {
        var batch = WriteBatch()
        batch.sequence = 77
        batch.put(Self.bytes("key"), Self.bytes("value"))
        batch.append(.merge, columnFamily: 200, key: Self.bytes("m"), value: Self.bytes("operand"))
        batch.deleteRange(from: Self.bytes("a"), to: Self.bytes("b"))
        batch.delete(Self.bytes("gone"))
        let rep = batch.rep
        for cut in 0..<rep.count {
            let error = Self.failure(Array(rep[0..<cut]))
            #expect(error?.kind == .corruption, "cut \(cut) of \(rep.count): \(String(describing: error))")
        }
        #expect(Self.failure(rep) == nil)
        // The header's count must match the records.
        for wrong: UInt32 in [0, 3, 5, UInt32.max] {
            var bad = rep
            bad.replaceSubrange(8..<12, with: Self.header(0, wrong)[8..<12])
            #expect(Self.failure(bad)?.kind == .corruption, "count \(wrong)")
        }
        // Unknown tags and truncated column family ids.
        #expect(Self.failure(Self.header(1, 1) + [0x14, 0x01, 0x6B])?.kind == .corruption)
        #expect(Self.failure(Self.header(1, 1) + [0x16, 0x01, 0x6B, 0x00])?.kind == .corruption)
        #expect(Self.failure(Self.header(1, 1) + [0x05, 0x80])?.kind == .corruption)
        #expect(Self.failure(Self.header(1, 1) + [0x05, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x01, 0x6B, 0x00])?.kind == .corruption)
    }

    @Test("500 garbage encodings decode or throw .corruption, never trap")
    func garbage() throws {
        let seed: UInt64 = 0x6A2BA6E
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        var valid = WriteBatch()
        for _ in 0..<12 {
            switch rng.int(0..<4) {
            case 0: valid.put(rng.bytes(rng.int(0..<8)), rng.bytes(rng.int(0..<8)))
            case 1: valid.delete(rng.bytes(rng.int(0..<8)))
            case 2: valid.append(.merge, columnFamily: UInt32(rng.int(0..<1000)), key: rng.bytes(3), value: rng.bytes(2))
            default: valid.deleteRange(from: rng.bytes(2), to: rng.bytes(3))
            }
        }
        var decoded = 0
        for round in 0..<500 {
            var input: [UInt8]
            switch round % 3 {
            case 0:
                input = rng.bytes(rng.int(0..<100))
            case 1:
                // A plausible header (small count) over random records.
                input = Self.header(rng.next(), UInt32(rng.int(0..<4))) + rng.bytes(rng.int(0..<40))
            default:
                input = valid.rep
                for _ in 0..<rng.int(1..<4) { input[rng.int(12..<input.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            do {
                let batch = try WriteBatch(encoded: input)
                decoded += 1
                // What decodes is self-consistent.
                var n: UInt32 = 0
                try batch.forEach { _ in n += 1 }
                #expect(n == batch.count, "round \(round)")
                #expect(batch.rep == input, "round \(round)")
            } catch let error as StrataError {
                #expect(error.kind == .corruption, "round \(round): \(error)")
            } catch {
                Issue.record("round \(round): unexpected \(error)")
            }
        }
        print("decoded \(decoded) of 500 garbage inputs")
    }
}
