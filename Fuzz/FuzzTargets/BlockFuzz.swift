import Strata

extension FuzzTargets {
    /// Block decoder (spec section 5): the input is one uncompressed block.
    /// Walks it in every key order and value format a table uses —
    /// forward, backward and by seeks to keys it holds and keys it does not.
    /// Property: a malformed entry ends the walk with `error` set, and a
    /// walk visits at most one entry per 3 bytes (no entry is shorter), so
    /// it ends.
    public static func block(_ data: UnsafeRawBufferPointer) {
        guard let block = try? Block(copying: data) else { return }
        var random = InputRandom(data)
        let shapes: [(KeyOrder, BlockValueFormat)] = [
            (.bytewise, .lengthPrefixed), (.internalKey, .lengthPrefixed),
            (.bytewise, .deltaEncodedHandles), (.internalKey, .deltaEncodedHandles),
        ]
        let maxEntries = data.count / 3 + 1
        for (order, format) in shapes {
            let it = block.makeIterator(order: order, valueFormat: format)
            var keys: [[UInt8]] = []
            var steps = 0
            it.seekToFirst()
            while it.isValid {
                steps += 1
                fuzzCheck(steps <= maxEntries, "forward walk does not end")
                if keys.count < 8 { keys.append(it.keyArray) }
                _ = it.value.count
                if format == .deltaEncodedHandles { _ = it.handle }
                it.next()
            }
            steps = 0
            it.seekToLast()
            while it.isValid {
                steps += 1
                fuzzCheck(steps <= maxEntries, "backward walk does not end")
                _ = it.key.count
                it.prev()
            }
            var targets = keys
            for _ in 0..<4 {
                let length = random.below(12)
                targets.append((0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            }
            for target in targets {
                target.withUnsafeBytes { t in
                    it.seek(t)
                    if it.isValid { it.next() }
                    it.seekForPrev(t)
                    if it.isValid { it.prev() }
                }
            }
            // Reuse the iterator on the same block, as the table reader does.
            it.reset(block: block, order: order, valueFormat: format)
            it.seekToFirst()
            if it.isValid { it.next() }
        }
    }
}
