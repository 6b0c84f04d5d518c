import Testing
@testable import Strata

/// The WAL record types newer RocksDB releases write (RocksDB 11.8.1's
/// db/log_format.h): user-defined timestamp size records (10, recyclable
/// 11), predecessor-WAL info (130/131, safe to ignore), recyclable records
/// and the stale tail of a recycled log, and RocksDB's rule for unknown
/// types (the 0x80 bit: skip; otherwise corruption).
@Suite("Log record types of newer RocksDB")
struct LogRecordTypesTests {
    /// A physical record of any type byte; recyclable types get the
    /// 11-byte header with `logNumber`, covered by the CRC as RocksDB does.
    static func physical(type: UInt8, _ payload: [UInt8], logNumber: UInt32 = 0) -> [UInt8] {
        var covered: [UInt8] = [type]
        if LogFormat.isRecyclable(type) { covered.appendFixed32(logNumber) }
        covered.append(contentsOf: payload)
        var out: [UInt8] = []
        out.appendFixed32(CRC32C.mask(CRC32C.value(covered)))
        out.appendFixed16(UInt16(payload.count))
        out.append(contentsOf: covered)
        return out
    }

    static func read(_ bytes: [UInt8], logNumber: UInt64? = nil) -> ([[UInt8]], StrataError?) {
        let reader = LogReader(file: MemoryRandomAccessFile(path: "/000007.log", data: bytes), logNumber: logNumber)
        var out: [[UInt8]] = []
        do {
            while let record = try reader.next() { out.append(record) }
            return (out, nil)
        } catch let error as StrataError {
            return (out, error)
        } catch {
            return (out, .ioError("\(error)"))
        }
    }

    static func timestampSizes(_ entries: [(UInt32, UInt16)]) -> [UInt8] {
        var out: [UInt8] = []
        for (family, size) in entries {
            out.appendFixed32(family)
            out.appendFixed16(size)
        }
        return out
    }

    @Test("timestamp size records of size 0 are skipped; a non-zero size is refused by name")
    func timestampSizeRecords() {
        let a = Self.physical(type: 1, [1, 2, 3])
        let b = Self.physical(type: 1, [4])
        for type: UInt8 in [10, 11] {
            let zero = Self.physical(type: type, Self.timestampSizes([(0, 0), (1, 0)]), logNumber: 7)
            var (records, error) = Self.read(a + zero + b, logNumber: 7)
            #expect(error == nil)
            #expect(records == [[1, 2, 3], [4]])
            let eight = Self.physical(type: type, Self.timestampSizes([(0, 0), (3, 8)]), logNumber: 7)
            (records, error) = Self.read(a + eight + b, logNumber: 7)
            #expect(records == [[1, 2, 3]])
            #expect(error?.kind == .notSupported)
            #expect(error?.message.contains("user-defined timestamp") == true)
            #expect(error?.message.contains("column family 3") == true)
            let odd = Self.physical(type: type, [0, 0, 0, 0, 0], logNumber: 7)
            (_, error) = Self.read(a + odd, logNumber: 7)
            #expect(error?.kind == .corruption)
        }
    }

    @Test("types with the safe-to-ignore bit (predecessor WAL info 130/131) are skipped; other unknown types are corruption")
    func ignorableTypes() {
        let a = Self.physical(type: 1, [1])
        let b = Self.physical(type: 1, [2])
        for type: UInt8 in [130, 131, 200] {
            let (records, error) = Self.read(a + Self.physical(type: type, [9, 9, 9], logNumber: 7) + b, logNumber: 7)
            #expect(error == nil, "type \(type)")
            #expect(records == [[1], [2]], "type \(type)")
        }
        for type: UInt8 in [12, 50, 127] {
            let (records, error) = Self.read(a + Self.physical(type: type, [9]) + b)
            #expect(records == [[1]])
            #expect(error?.kind == .corruption, "type \(type)")
            #expect(error?.message.contains("unknown log record type \(type)") == true)
            #expect(error?.offset == UInt64(a.count))
        }
    }

    @Test("a recycled log ends at the first record that carries another log number")
    func recycledLog() {
        let current = Self.physical(type: 5, [1, 1], logNumber: 9) + Self.physical(type: 5, [2], logNumber: 9)
        let stale = Self.physical(type: 5, [3], logNumber: 4) + Self.physical(type: 5, [4], logNumber: 4)
        var (records, error) = Self.read(current + stale, logNumber: 9)
        #expect(error == nil)
        #expect(records == [[1, 1], [2]])
        // Without a log number every intact record is read (tools, MANIFESTs).
        (records, error) = Self.read(current + stale)
        #expect(error == nil)
        #expect(records.count == 4)
    }
}
