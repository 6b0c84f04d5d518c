import Strata

extension FuzzTargets {
    /// Filter reader (spec section 7.1): the input is a whole full-filter
    /// block (metadata included). Queries it with keys from the input.
    /// Then, as a differential check, builds a FastLocalBloom and a legacy
    /// Bloom filter from keys cut out of the input and reads them back.
    /// Properties: no query traps on any block; a built filter has no
    /// false negative and reads back as the kind it was built as.
    public static func filter(_ data: UnsafeRawBufferPointer) {
        let reader = FilterReader(Array(data))
        var random = InputRandom(data)
        for _ in 0..<8 {
            let length = random.below(16)
            let key = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            _ = reader.mayMatch(key)
        }
        // Keys: the input cut at each 0xFF byte (at most 200 keys).
        var keys: [[UInt8]] = [[]]
        for byte in data {
            if byte == 0xFF {
                if keys.count == 200 { break }
                keys.append([])
            } else {
                keys[keys.count - 1].append(byte)
            }
        }
        let bits = Double(1 + random.below(20))
        var fast = FastLocalBloomBuilder(bitsPerKey: bits)
        var legacy = LegacyBloomBuilder(bitsPerKey: bits)
        for key in keys {
            key.withUnsafeBytes { k in
                fast.addKey(k)
                legacy.addKey(k)
            }
        }
        for (block, kind) in [(fast.finish(), FilterReader.Kind.fastLocalBloom), (legacy.finish(), .legacyBloom)] {
            let built = FilterReader(block)
            fuzzCheck(built.kind == kind, "a built \(kind) filter reads back as \(built.kind)")
            for key in keys {
                fuzzCheck(built.mayMatch(key), "\(kind) filter misses a key it was built with")
            }
        }
    }
}
