import Testing
@testable import Strata

/// The built-in merge operators and the TTL compaction filter.
@Suite("Built-in operators and filters")
struct BuiltinOperatorTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test("string append joins existing and operands with the separator, as RocksDB's")
    func stringAppend() {
        let op = StringAppendOperator(separator: ",")
        #expect(op.name == "StringAppendOperator")
        #expect(op.fullMerge(key: [], existing: nil, operands: [Self.b("a")]) == Self.b("a"))
        #expect(op.fullMerge(key: [], existing: nil, operands: [Self.b("a"), Self.b("b")]) == Self.b("a,b"))
        #expect(op.fullMerge(key: [], existing: Self.b("x"), operands: [Self.b("a"), Self.b("")]) == Self.b("x,a,"))
        #expect(op.fullMerge(key: [], existing: Self.b(""), operands: [Self.b("a")]) == Self.b(",a"))
        #expect(op.partialMerge(key: [], left: Self.b("a"), right: Self.b("b")) == Self.b("a,b"))
        #expect(StringAppendOperator().separator == Self.b(":"))
        #expect(StringAppendOperator(separator: "--").fullMerge(key: [], existing: Self.b("1"), operands: [Self.b("2")]) == Self.b("1--2"))
    }

    @Test("int64 add sums 8-byte little-endian integers, wrapping, malformed as 0")
    func int64Add() {
        let op = Int64AddOperator()
        #expect(op.name == "UInt64AddOperator")
        #expect(Int64AddOperator.encode(1) == [1, 0, 0, 0, 0, 0, 0, 0])
        #expect(Int64AddOperator.encode(-1) == [UInt8](repeating: 0xFF, count: 8))
        #expect(Int64AddOperator.decode(Int64AddOperator.encode(0x0102_0304_0506_0708)) == 0x0102_0304_0506_0708)
        let sum = op.fullMerge(key: [], existing: Int64AddOperator.encode(40),
                               operands: [Int64AddOperator.encode(3), Int64AddOperator.encode(-1)])
        #expect(sum.map(Int64AddOperator.decode) == 42)
        #expect(op.fullMerge(key: [], existing: nil, operands: [Int64AddOperator.encode(5)]).map(Int64AddOperator.decode) == 5)
        #expect(op.fullMerge(key: [], existing: Self.b("bad"), operands: [Int64AddOperator.encode(5), [1]])
            .map(Int64AddOperator.decode) == 5)
        #expect(op.fullMerge(key: [], existing: Int64AddOperator.encode(.max), operands: [Int64AddOperator.encode(1)])
            .map(Int64AddOperator.decode) == .min)
        #expect(op.partialMerge(key: [], left: Int64AddOperator.encode(2), right: Int64AddOperator.encode(3))
            .map(Int64AddOperator.decode) == 5)
    }

    @Test("the TTL filter removes values whose expiry (last 8 bytes, LE ms) has passed")
    func ttlFilter() {
        let clock = Locked<Int64>(1_000)
        let filter = TTLCompactionFilter(now: { clock.withLock { $0 } })
        let value = TTLCompactionFilter.encode(Self.b("payload"), expiresAt: 1_500)
        #expect(value.count == 15)
        #expect(Array(value.suffix(8)) == [0xDC, 0x05, 0, 0, 0, 0, 0, 0])
        #expect(TTLCompactionFilter.payload(of: value) == Self.b("payload"))
        #expect(TTLCompactionFilter.expiry(of: value) == 1_500)
        #expect(filter.filter(level: 1, key: [], value: value) == .keep)
        clock.withLock { $0 = 1_500 }
        #expect(filter.filter(level: 1, key: [], value: value) == .remove)
        #expect(filter.filter(level: 1, key: [], value: Self.b("short")) == .keep)
        #expect(filter.filter(level: 1, key: [], value: TTLCompactionFilter.encode([], expiresAt: .max)) == .keep)
        #expect(TTLCompactionFilter.systemMilliseconds() > 1_600_000_000_000)
    }
}
