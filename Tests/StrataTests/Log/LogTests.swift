import Testing
@testable import Strata

/// The record log shared by WALs and MANIFESTs (spec section 12) through
/// `LogWriter` and `LogReader`: 32 KiB blocks, 7-byte headers
/// (masked CRC32C of type ‖ payload, fixed16 length, type), FULL / FIRST /
/// MIDDLE / LAST fragmentation, zero-filled block tails; records of every
/// size come back in order; a torn tail is a clean end; a damaged record in
/// the middle is `.corruption`; garbage never traps the reader.
@Suite("Log format")
struct LogTests {
    static let block = LogFormat.blockSize
    static let header = LogFormat.headerSize

    /// Writes `records` to a fresh in-memory log and returns its bytes, with
    /// the file offset where each record's first header starts.
    static func write(_ records: [[UInt8]]) throws -> (bytes: [UInt8], starts: [Int]) {
        let fs = MemoryFileSystem()
        let file = try fs.createWritable("/000001.log")
        let writer = LogWriter(file: file)
        var starts: [Int] = []
        for record in records {
            var start = Int(file.size)
            // A header never starts in the last 6 bytes of a block.
            if block - start % block < header { start += block - start % block }
            starts.append(start)
            try writer.addRecord(record)
        }
        try writer.close()
        let read = try fs.openRandomAccess("/000001.log")
        defer { read.close() }
        return (try read.read(at: 0, count: Int(read.size)), starts)
    }

    static func reader(_ bytes: [UInt8]) -> LogReader {
        LogReader(file: MemoryRandomAccessFile(path: "/000001.log", data: bytes))
    }

    /// Every record up to the end; rethrows what the reader throws.
    static func readAll(_ reader: LogReader) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        while let record = try reader.next() { out.append(record) }
        return out
    }

    /// Reads until the end or an error: the records returned before it, and the error.
    static func readUntilError(_ reader: LogReader) -> ([[UInt8]], (any Error)?) {
        var out: [[UInt8]] = []
        do {
            while let record = try reader.next() { out.append(record) }
            return (out, nil)
        } catch {
            return (out, error)
        }
    }

    /// A hand-made physical record: header with the right masked CRC, then the payload.
    static func physical(_ type: LogFormat.RecordType, _ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.appendFixed32(CRC32C.mask(CRC32C.value([type.rawValue] + payload)))
        out.appendFixed16(UInt16(payload.count))
        out.append(type.rawValue)
        out.append(contentsOf: payload)
        return out
    }

    /// `count` bytes from `rng`, eight per draw (`TestRandom.bytes` draws one
    /// per byte, too slow for the megabytes these tests write in debug builds).
    static func bulkBytes(_ count: Int, _ rng: inout TestRandom) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { raw in
            var i = 0
            while i + 8 <= count {
                raw.storeBytes(of: rng.next(), toByteOffset: i, as: UInt64.self)
                i += 8
            }
            var last = rng.next()
            while i < count {
                raw[i] = UInt8(truncatingIfNeeded: last)
                last >>= 8
                i += 1
            }
        }
        return out
    }

    static func fixed32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes.withUnsafeBytes { loadFixed32($0.baseAddress! + offset) }
    }

    @Test("records of 0, 1 and 100 bytes, one filling a block exactly and one spanning 3 blocks round-trip in order")
    func roundTripSizes() throws {
        var rng = TestRandom(seed: 11)
        print("seed 11")
        let fill = Self.block - Self.header
        let records = [
            [], rng.bytes(1), rng.bytes(100), rng.bytes(fill), rng.bytes(2 * Self.block + 1000), [], rng.bytes(7),
        ]
        let (bytes, starts) = try Self.write(records)
        let reader = Self.reader(bytes)
        var i = 0
        while let record = try reader.next() {
            guard i < records.count else { Issue.record("more records than written"); break }
            #expect(record == records[i], "record \(i) of \(records[i].count) bytes")
            #expect(reader.lastRecordOffset == UInt64(starts[i]), "record \(i)")
            i += 1
        }
        #expect(i == records.count)
        #expect(!reader.isTruncatedTail)
        #expect(try reader.next() == nil)
    }

    @Test("a record of exactly 32768 - 7 bytes fills one block with a single FULL fragment")
    func exactBlock() throws {
        var rng = TestRandom(seed: 12)
        print("seed 12")
        let payload = rng.bytes(Self.block - Self.header)
        let (bytes, _) = try Self.write([payload, [42]])
        // The second record starts right at the next block.
        #expect(bytes.count == Self.block + Self.header + 1)
        #expect(bytes[6] == LogFormat.RecordType.full.rawValue)
        #expect(bytes[4] == 0xF9 && bytes[5] == 0x7F)  // 32761 = 0x7FF9
        #expect(bytes[Self.block + 6] == LogFormat.RecordType.full.rawValue)
        #expect(try Self.readAll(Self.reader(bytes)) == [payload, [42]])
    }

    @Test("a record spanning three blocks is written FIRST, MIDDLE, LAST with per-fragment CRCs")
    func threeBlocks() throws {
        var rng = TestRandom(seed: 13)
        print("seed 13")
        let fragment = Self.block - Self.header
        let payload = rng.bytes(2 * fragment + 500)
        let (bytes, _) = try Self.write([payload])
        #expect(bytes.count == 3 * Self.header + payload.count)
        let types = [bytes[6], bytes[Self.block + 6], bytes[2 * Self.block + 6]]
        #expect(types == [2, 3, 4])
        // Each fragment's CRC covers its own type byte and its own bytes.
        let pieces = [payload[0..<fragment], payload[fragment..<2 * fragment], payload[(2 * fragment)...]]
        for (i, piece) in pieces.enumerated() {
            let at = i * Self.block
            let length = Int(bytes[at + 4]) | Int(bytes[at + 5]) << 8
            #expect(length == piece.count)
            #expect(Self.fixed32(bytes, at: at) == CRC32C.mask(CRC32C.value([types[i]] + Array(piece))))
            #expect(Array(bytes[(at + Self.header)..<(at + Self.header + piece.count)]) == Array(piece))
        }
        #expect(try Self.readAll(Self.reader(bytes)) == [payload])
    }

    @Test("fewer than 7 bytes left in a block are zero-filled and the next record starts in the next block")
    func zeroFilledTail() throws {
        var rng = TestRandom(seed: 14)
        print("seed 14")
        for left in 0..<Self.header {
            let first = rng.bytes(Self.block - Self.header - left)
            let second = rng.bytes(10)
            let (bytes, starts) = try Self.write([first, second])
            #expect(starts[1] == Self.block, "left \(left)")
            #expect(bytes.count == Self.block + Self.header + 10, "left \(left)")
            #expect(bytes[(Self.block - left)..<Self.block].allSatisfy { $0 == 0 }, "left \(left)")
            #expect(try Self.readAll(Self.reader(bytes)) == [first, second], "left \(left)")
        }
        // Exactly 7 bytes left: an empty record still fits there.
        let first = rng.bytes(Self.block - 2 * Self.header)
        let (bytes, starts) = try Self.write([first, [], [9]])
        #expect(starts == [0, Self.block - Self.header, Self.block])
        #expect(bytes[Self.block - 1] == LogFormat.RecordType.full.rawValue)
        #expect(try Self.readAll(Self.reader(bytes)) == [first, [], [9]])
    }

    @Test("1000 random records round-trip in order")
    func randomRecords() throws {
        let seed: UInt64 = 0x10_6A11
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        var records: [[UInt8]] = []
        for _ in 0..<1000 {
            let kind = rng.int(0..<100)
            let size = kind < 80 ? rng.int(0..<300) : kind < 96 ? rng.int(300..<5000) : rng.int(5000..<70000)
            records.append(Self.bulkBytes(size, &rng))
        }
        let (bytes, starts) = try Self.write(records)
        let reader = Self.reader(bytes)
        var i = 0
        while let record = try reader.next() {
            guard i < records.count else { Issue.record("more records than written"); break }
            #expect(record == records[i], "record \(i)")
            #expect(reader.lastRecordOffset == UInt64(starts[i]), "record \(i)")
            i += 1
        }
        #expect(i == records.count)
        #expect(!reader.isTruncatedTail)
    }

    @Test("the header of a small first record is exactly crc(4) | length lo, hi | FULL")
    func headerBytes() throws {
        let payload = Array("hello, log".utf8)
        let (bytes, _) = try Self.write([payload])
        #expect(bytes.count == 7 + payload.count)
        #expect(Array(bytes[4..<7]) == [UInt8(payload.count), 0, 1])
        #expect(Self.fixed32(bytes, at: 0) == CRC32C.mask(CRC32C.value([1] + payload)))
        #expect(Array(bytes[7...]) == payload)

        // A length above 255 uses the high byte: 300 = 0x012C.
        let long = [UInt8](repeating: 0xAB, count: 300)
        let (longBytes, _) = try Self.write([long])
        #expect(Array(longBytes[4..<7]) == [0x2C, 0x01, 1])
        #expect(Self.fixed32(longBytes, at: 0) == CRC32C.mask(CRC32C.value([1] + long)))

        // The empty record: length 0, CRC of the type byte alone.
        let (empty, _) = try Self.write([[]])
        #expect(empty.count == 7)
        #expect(Array(empty[4..<7]) == [0, 0, 1])
        #expect(Self.fixed32(empty, at: 0) == CRC32C.mask(CRC32C.value([1])))
    }

    @Test("the writer reproduces RocksDB 7.8.3's tiny_db WAL byte for byte")
    func rocksdbWAL() throws {
        let file = try PosixFileSystem().openRandomAccess(Vectors.path("tiny_db/000020.log"))
        defer { file.close() }
        let original = try file.read(at: 0, count: Int(file.size))
        let reader = LogReader(file: file)
        let records = try Self.readAll(reader)
        #expect(records.count == 1)
        #expect(records.first?.count == 23)
        let (rewritten, _) = try Self.write(records)
        #expect(rewritten == original)
    }

    @Test("a writer reopened on an existing log continues in the right block position")
    func appendToExisting() throws {
        var rng = TestRandom(seed: 15)
        print("seed 15")
        let fs = MemoryFileSystem()
        var records: [[UInt8]] = []
        for round in 0..<4 {
            let file = round == 0 ? try fs.createWritable("/log") : try fs.openAppendable("/log")
            let writer = LogWriter(file: file)
            for _ in 0..<rng.int(1..<6) {
                let record = rng.bytes(rng.int(0..<20000))
                records.append(record)
                try writer.addRecord(record)
            }
            try writer.close()
        }
        let file = try fs.openRandomAccess("/log")
        #expect(try Self.readAll(LogReader(file: file)) == records)
    }

    @Test("a torn tail ends reading cleanly after the last complete record")
    func tornTail() throws {
        var rng = TestRandom(seed: 16)
        print("seed 16")
        // Last record small (inside one block) and large (three blocks).
        for lastSize in [50, 2 * Self.block + 300] {
            var records: [[UInt8]] = []
            for _ in 0..<6 { records.append(rng.bytes(rng.int(0..<3000))) }
            records.append(rng.bytes(lastSize))
            let (bytes, starts) = try Self.write(records)
            let lastStart = starts.last!
            // Every cut inside the last record (all of them for the small
            // one; block edges and a sample for the large one).
            var cuts = Set<Int>()
            if lastSize < 100 {
                cuts.formUnion((lastStart + 1)..<bytes.count)
            } else {
                for edge in stride(from: Self.block, to: bytes.count, by: Self.block) where edge > lastStart {
                    for d in -8...8 where edge + d > lastStart && edge + d < bytes.count { cuts.insert(edge + d) }
                }
                for _ in 0..<150 { cuts.insert(rng.int((lastStart + 1)..<bytes.count)) }
            }
            for cut in cuts.sorted() {
                let reader = Self.reader(Array(bytes[0..<cut]))
                let (got, error) = Self.readUntilError(reader)
                #expect(error == nil, "cut at \(cut): \(String(describing: error))")
                #expect(got == Array(records.dropLast()), "cut at \(cut) of \(bytes.count)")
                if cut >= lastStart + Self.header {
                    #expect(reader.isTruncatedTail, "cut at \(cut)")
                }
            }
            // Cutting exactly before the last record is a clean, untorn end.
            let clean = Self.reader(Array(bytes[0..<lastStart]))
            #expect(try Self.readAll(clean) == Array(records.dropLast()))
        }
    }

    @Test("zero-filled (preallocated) space after the last record is a clean end")
    func preallocatedTail() throws {
        let records: [[UInt8]] = [[1, 2, 3], Array(repeating: 7, count: 500)]
        let (bytes, _) = try Self.write(records)
        for extra in [1, 6, 7, 100, 40000] {
            let reader = Self.reader(bytes + [UInt8](repeating: 0, count: extra))
            #expect(try Self.readAll(reader) == records, "extra \(extra)")
            #expect(!reader.isTruncatedTail, "extra \(extra)")
        }
    }

    @Test("a zero-filled block in the middle of a log, followed by intact records, is not a silent clean end")
    func zeroBlockInTheMiddle() throws {
        var rng = TestRandom(seed: 18)
        print("seed 18")
        // Block 0: record A fills it exactly. Block 1: 32 KiB of zeros (a
        // preallocated or lost region). Block 2: record B, written by a
        // writer that continues the file.
        let fs = MemoryFileSystem()
        let a = rng.bytes(Self.block - Self.header)
        let b = rng.bytes(100)
        let first = LogWriter(file: try fs.createWritable("/000001.log"))
        try first.addRecord(a)
        try first.file.append([UInt8](repeating: 0, count: Self.block))
        try first.close()
        let second = LogWriter(file: try fs.openAppendable("/000001.log"))
        try second.addRecord(b)
        try second.close()
        let file = try fs.openRandomAccess("/000001.log")
        #expect(file.size == UInt64(2 * Self.block + Self.header + b.count))

        let reader = LogReader(file: file)
        let (got, error) = Self.readUntilError(reader)
        #expect(got.first == a)
        // RocksDB/LevelDB skip a zero-type header's block and read on (B is
        // returned); reporting .corruption would be acceptable too. Ending
        // with nil — no error, isTruncatedTail false — silently drops B.
        #expect(got.contains(b) || (error as? StrataError)?.kind == .corruption,
                "records after the zero block were dropped without an error: got \(got.count) record(s), isTruncatedTail \(reader.isTruncatedTail)")
    }

    @Test("a flipped byte inside a middle record's payload is .corruption at that record, not skipped or returned")
    func flippedPayloadByte() throws {
        var rng = TestRandom(seed: 17)
        print("seed 17")
        // Small records in one partial block, and a fragmented record whose
        // MIDDLE fragment is damaged.
        let small = (0..<5).map { _ in rng.bytes(100) }
        let big = [rng.bytes(200), rng.bytes(3 * Self.block), rng.bytes(200)]
        for (records, damaged, offsetInRecord) in [(small, 2, 50), (big, 1, Self.block + 10)] {
            let (bytes, starts) = try Self.write(records)
            for delta in [Self.header, Self.header + 1, Self.header + 37] {
                var bad = bytes
                // Physical position of a byte of the damaged record's payload.
                let position = starts[damaged] + offsetInRecord + delta
                bad[position] ^= 0x40
                let (got, error) = Self.readUntilError(Self.reader(bad))
                #expect(got == Array(records[0..<damaged]), "flip at \(position)")
                let strata = error as? StrataError
                #expect(strata?.kind == .corruption, "flip at \(position): \(String(describing: error))")
                #expect(strata?.file == "/000001.log")
                // The offset names the damaged physical record's header (a
                // MIDDLE fragment starts its block).
                let header = offsetInRecord < Self.block ? starts[damaged] : position / Self.block * Self.block
                #expect(strata?.offset == UInt64(header), "flip at \(position)")
            }
            // A flipped CRC byte of the damaged record is corruption too.
            var bad = bytes
            let crcAt = offsetInRecord < Self.block ? starts[damaged] : (starts[damaged] / Self.block + 1) * Self.block
            bad[crcAt + 1] ^= 0x01
            let (got, error) = Self.readUntilError(Self.reader(bad))
            #expect(got == Array(records[0..<damaged]))
            #expect((error as? StrataError)?.kind == .corruption, "\(String(describing: error))")
        }
    }

    @Test("fragments out of order are .corruption")
    func fragmentsOutOfOrder() throws {
        let cases: [[UInt8]] = [
            Self.physical(.middle, [1]) + Self.physical(.full, [2]),
            Self.physical(.last, [1]) + Self.physical(.full, [2]),
            Self.physical(.first, [1]) + Self.physical(.full, [2]) + Self.physical(.full, [3]),
            Self.physical(.first, [1]) + Self.physical(.first, [2]) + Self.physical(.last, [3]),
        ]
        for (i, bytes) in cases.enumerated() {
            let (_, error) = Self.readUntilError(Self.reader(bytes))
            #expect((error as? StrataError)?.kind == .corruption, "case \(i): \(String(describing: error))")
        }
        // The hand-made records themselves are well formed.
        let good = Self.physical(.first, [1]) + Self.physical(.middle, [2]) + Self.physical(.last, [3])
            + Self.physical(.full, [4])
        #expect(try Self.readAll(Self.reader(good)) == [[1, 2, 3], [4]])
    }

    @Test("random bytes and damaged logs never trap the reader")
    func garbage() throws {
        let seed: UInt64 = 0x6A7BA6E
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        func drain(_ bytes: [UInt8], _ label: String) {
            let reader = Self.reader(bytes)
            var steps = 0
            do {
                while try reader.next() != nil {
                    steps += 1
                    if steps > 100_000 { Issue.record("\(label): reader does not end"); return }
                }
            } catch let error as StrataError {
                #expect(error.kind == .corruption || error.kind == .notSupported, "\(label): \(error)")
            } catch {
                Issue.record("\(label): unexpected error \(error)")
            }
        }
        for round in 0..<200 {
            drain(Self.bulkBytes(rng.int(0..<70001), &rng), "random round \(round)")
        }
        var records: [[UInt8]] = []
        for _ in 0..<40 { records.append(Self.bulkBytes(rng.int(0..<4000), &rng)) }
        records.append(Self.bulkBytes(40000, &rng))
        let (good, _) = try Self.write(records)
        for round in 0..<100 {
            var bytes = good
            for _ in 0..<rng.int(1..<5) { bytes[rng.int(0..<bytes.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            if rng.int(0..<2) == 0 { bytes.removeLast(rng.int(0..<bytes.count)) }
            drain(bytes, "damaged round \(round)")
        }
    }
}
