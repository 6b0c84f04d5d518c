import Testing
@testable import Strata

@Suite("Block format")
struct BlockTests {
    func build(_ entries: [([UInt8], [UInt8])], interval: Int) throws -> Block {
        var builder = BlockBuilder(restartInterval: interval)
        for (k, v) in entries { builder.add(k, v) }
        return try Block(copying: builder.finish())
    }

    func sortedEntries(seed: UInt64, count: Int) -> [([UInt8], [UInt8])] {
        var rng = TestRandom(seed: seed)
        var keys = Set<[UInt8]>()
        while keys.count < count {
            // Shared prefixes make the prefix compression do real work.
            let prefix = Array("p\(rng.int(0..<4))".utf8)
            keys.insert(prefix + rng.bytes(rng.int(0..<12)))
        }
        return keys.sorted { Bytewise.compare($0, $1) < 0 }.map { ($0, rng.bytes(rng.int(0..<40))) }
    }

    @Test("entries come back in order, forwards and backwards, for any restart interval")
    func roundTrip() throws {
        for seed: UInt64 in 1...20 {
            print("seed \(seed)")
            let entries = sortedEntries(seed: seed, count: 1 + Int(seed) * 7)
            for interval in [1, 2, 16, 1000] {
                let it = try build(entries, interval: interval).makeIterator(order: .bytewise)
                it.seekToFirst()
                var i = 0
                while it.isValid {
                    #expect(it.keyArray == entries[i].0)
                    #expect(it.valueArray == entries[i].1)
                    i += 1
                    it.next()
                }
                #expect(i == entries.count)
                it.seekToLast()
                i = entries.count - 1
                while it.isValid {
                    #expect(it.keyArray == entries[i].0)
                    i -= 1
                    it.prev()
                }
                #expect(i == -1)
                #expect(it.error == nil)
            }
        }
    }

    @Test("seek lands on the first key >= target; seekForPrev on the last <= target")
    func seek() throws {
        var rng = TestRandom(seed: 42)
        let entries = sortedEntries(seed: 42, count: 300)
        let block = try build(entries, interval: 16)
        let it = block.makeIterator(order: .bytewise)
        for _ in 0..<2000 {
            let target = Array("p\(rng.int(0..<5))".utf8) + rng.bytes(rng.int(0..<6))
            let expected = entries.firstIndex { Bytewise.compare($0.0, target) >= 0 }
            target.withUnsafeBytes { it.seek($0) }
            if let expected { #expect(it.isValid && it.keyArray == entries[expected].0) } else { #expect(!it.isValid) }
            let expectedPrev = entries.lastIndex { Bytewise.compare($0.0, target) <= 0 }
            target.withUnsafeBytes { it.seekForPrev($0) }
            if let expectedPrev { #expect(it.isValid && it.keyArray == entries[expectedPrev].0) } else { #expect(!it.isValid) }
        }
    }

    @Test("an empty block is valid and empty")
    func emptyBlock() throws {
        var builder = BlockBuilder(restartInterval: 16)
        let block = try Block(copying: builder.finish())
        let it = block.makeIterator(order: .bytewise)
        it.seekToFirst()
        #expect(!it.isValid)
        it.seekToLast()
        #expect(!it.isValid)
        [UInt8]([1]).withUnsafeBytes { it.seek($0) }
        #expect(!it.isValid)
    }

    @Test("delta-encoded index values decode to the handles written")
    func deltaEncodedHandles() throws {
        for interval in [1, 3, 16] {
            var builder = BlockBuilder(restartInterval: interval, valueDeltaEncoded: true)
            var handles: [BlockHandle] = []
            var offset: UInt64 = 0
            var previous: BlockHandle? = nil
            for i in 0..<100 {
                let handle = BlockHandle(offset: offset, size: UInt64(3000 + (i * 37) % 900))
                handles.append(handle)
                offset += handle.size + 5
                var full: [UInt8] = []
                handle.encode(to: &full)
                var delta: [UInt8] = []
                if let previous { delta.appendVarsigned64(Int64(handle.size) - Int64(previous.size)) }
                let key = Array("key\(1000 + i)".utf8)
                key.withUnsafeBytes { k in full.withUnsafeBytes { f in delta.withUnsafeBytes { d in
                    builder.add(key: k, value: f, deltaValue: previous == nil ? nil : d)
                } } }
                previous = handle
            }
            let block = try Block(copying: builder.finish())
            let it = block.makeIterator(order: .bytewise, valueFormat: .deltaEncodedHandles)
            it.seekToFirst()
            var i = 0
            while it.isValid {
                #expect(it.handle == handles[i])
                i += 1
                it.next()
            }
            #expect(i == 100)
            Array("key1050".utf8).withUnsafeBytes { it.seek($0) }
            #expect(it.handle == handles[50])
            it.prev()
            #expect(it.handle == handles[49])
        }
    }

    @Test("random bytes never trap the block reader")
    func garbage() throws {
        var rng = TestRandom(seed: 7)
        print("seed 7")
        // `bytes` is valid only while its block lives: ASan found the
        // temporary block freed before its bytes were copied.
        let goodBlock = try build(sortedEntries(seed: 3, count: 50), interval: 4)
        let good = withExtendedLifetime(goodBlock) { Array(goodBlock.bytes) }
        for round in 0..<3000 {
            var bytes = Array(good)
            if round % 2 == 0 {
                bytes = rng.bytes(rng.int(0..<200))
            } else {
                for _ in 0..<rng.int(1..<4) { bytes[rng.int(0..<bytes.count)] = UInt8.random(in: 0...255, using: &rng) }
            }
            guard let block = try? Block(copying: bytes) else { continue }
            for format in [BlockValueFormat.lengthPrefixed, .deltaEncodedHandles] {
                let it = block.makeIterator(order: .bytewise, valueFormat: format)
                it.seekToFirst()
                var steps = 0
                while it.isValid && steps < 500 { it.next(); steps += 1 }
                it.seekToLast()
                steps = 0
                while it.isValid && steps < 500 { it.prev(); steps += 1 }
                [UInt8]([0x70, 0x31]).withUnsafeBytes { it.seek($0) }
            }
        }
    }
}
