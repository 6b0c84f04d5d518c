/// A cursor over one block's entries, in the block's key order.
///
/// Keys are rebuilt from their shared prefixes into a buffer the iterator
/// owns; `key` and `value` are views that stay valid until the iterator moves
/// or is retargeted. A malformed entry makes the iterator invalid and sets
/// `error` (a `.corruption` without a file; the table layer adds it) — it
/// never traps and never yields a wrong key.
///
/// Thread safety: one thread at a time. Reuse one iterator for many blocks
/// with `reset(block:…)` to avoid allocating on hot paths.
package final class BlockIterator {
    @exclusivity(unchecked)
    package private(set) var block: Block
    @exclusivity(unchecked)
    package private(set) var order: KeyOrder
    @exclusivity(unchecked)
    package private(set) var valueFormat: BlockValueFormat

    @exclusivity(unchecked)
    private var data: UnsafeRawPointer
    @exclusivity(unchecked)
    private var restartsOffset: Int
    /// `block.restartCount`, cached with `data` and `restartsOffset`: the
    /// per-entry paths then read no field through `block` (a class
    /// reference in a `var`, which costs a retain per access).
    @exclusivity(unchecked)
    private var restartCount: Int
    /// Offset of the current entry; `restartsOffset` when not positioned.
    @exclusivity(unchecked)
    private var current: Int
    /// Offset just past the current entry.
    @exclusivity(unchecked)
    private var nextOffset: Int
    /// Index of the restart point at or before `current`.
    @exclusivity(unchecked)
    private var restartIndex: Int

    @exclusivity(unchecked)
    private var keyStorage: UnsafeMutableRawPointer
    @exclusivity(unchecked)
    private var keyCapacity: Int
    @exclusivity(unchecked)
    private var keyLength = 0
    @exclusivity(unchecked)
    private var valueStart = 0
    @exclusivity(unchecked)
    private var valueLength = 0
    /// The block handle of the current entry (`.deltaEncodedHandles` only).
    @exclusivity(unchecked)
    package private(set) var handle = BlockHandle(offset: 0, size: 0)
    /// Set when an entry could not be decoded; the iterator is then invalid.
    @exclusivity(unchecked)
    package private(set) var error: StrataError? {
        didSet { failed = error != nil }
    }
    /// `error != nil`, kept beside it so `isValid` reads one byte.
    @exclusivity(unchecked)
    private var failed = false

    init(block: Block, order: KeyOrder, valueFormat: BlockValueFormat) {
        self.block = block
        self.order = order
        self.valueFormat = valueFormat
        data = UnsafeRawPointer(block.base)
        restartsOffset = block.restartsOffset
        restartCount = block.restartCount
        current = block.restartsOffset
        nextOffset = block.restartsOffset
        restartIndex = 0
        keyCapacity = 64
        keyStorage = UnsafeMutableRawPointer.allocate(byteCount: keyCapacity, alignment: 8)
    }

    deinit { keyStorage.deallocate() }

    /// Points this iterator at another block (unpositioned), keeping its buffers.
    package func reset(block: Block, order: KeyOrder, valueFormat: BlockValueFormat = .lengthPrefixed) {
        self.block = block
        self.order = order
        self.valueFormat = valueFormat
        data = UnsafeRawPointer(block.base)
        restartsOffset = block.restartsOffset
        restartCount = block.restartCount
        current = restartsOffset
        nextOffset = restartsOffset
        restartIndex = 0
        keyLength = 0
        error = nil
    }

    /// Offset of restart point `i` (`i < restartCount`).
    @inline(__always)
    private func restartPoint(_ i: Int) -> Int {
        Int(loadFixed32(data + restartsOffset + 4 * i))
    }

    /// True when positioned on an entry.
    package var isValid: Bool { current < restartsOffset && !failed }

    /// The current key (valid until the iterator moves). Requires `isValid`.
    package var key: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: keyStorage, count: keyLength) }

    /// The current value bytes as stored (for `.deltaEncodedHandles`, the
    /// encoded handle or delta; use `handle`). Requires `isValid`.
    package var value: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: data + valueStart, count: valueLength)
    }

    /// Copies of the current key and value.
    package var keyArray: [UInt8] { Array(key) }
    package var valueArray: [UInt8] { Array(value) }

    /// Offset of the current entry in the block (for diagnostics).
    package var entryOffset: Int { current }

    // MARK: Positioning

    /// Moves to the first entry (invalid if the block is empty).
    package func seekToFirst() {
        guard error == nil else { return }
        seekToRestartPoint(0)
        _ = parseNextEntry()
    }

    /// Moves to the last entry.
    package func seekToLast() {
        guard error == nil, restartCount > 0 else { return markInvalid() }
        seekToRestartPoint(restartCount - 1)
        while parseNextEntry() && nextOffset < restartsOffset {}
    }

    /// Moves to the first entry whose key is ≥ `target` (invalid if none).
    package func seek(_ target: UnsafeRawBufferPointer) {
        guard error == nil, restartCount > 0 else { return markInvalid() }
        // Binary search for the last restart point whose key is < target;
        // restart keys are stored whole (shared == 0), so compare in place.
        var left = 0
        var right = restartCount - 1
        while left < right {
            let mid = (left + right + 1) / 2
            guard let midKey = restartKey(mid) else { return }
            if order.compare(midKey, target) < 0 {
                left = mid
            } else {
                right = mid - 1
            }
        }
        seekToRestartPoint(left)
        while parseNextEntry() {
            if order.compare(key, target) >= 0 { return }
        }
    }

    /// Moves to the last entry whose key is ≤ `target` (invalid if none).
    package func seekForPrev(_ target: UnsafeRawBufferPointer) {
        seek(target)
        if !isValid {
            if error == nil { seekToLast() }
            return
        }
        while isValid && order.compare(key, target) > 0 { prev() }
    }

    /// Moves to the next entry (invalid past the last). Requires `isValid`.
    package func next() {
        guard isValid else { return }
        _ = parseNextEntry()
    }

    /// Moves to the previous entry (invalid before the first). Requires `isValid`.
    package func prev() {
        guard isValid else { return }
        let original = current
        // Find the restart point strictly before the current entry.
        while restartPoint(restartIndex) >= original {
            if restartIndex == 0 { return markInvalid() }
            restartIndex -= 1
        }
        seekToRestartPoint(restartIndex)
        // Scan forward to the entry that ends where the original one starts.
        while parseNextEntry() && nextOffset < original {}
    }

    // MARK: Decoding

    private func markInvalid() {
        current = restartsOffset
        nextOffset = restartsOffset
    }

    private func fail(_ message: String) {
        error = StrataError.corruption("bad block entry at block offset \(nextOffset): \(message)")
        markInvalid()
    }

    /// Positions before the entry at restart point `index`; the next
    /// `parseNextEntry` decodes it.
    private func seekToRestartPoint(_ index: Int) {
        keyLength = 0
        restartIndex = index
        let offset = restartCount > 0 ? restartPoint(index) : restartsOffset
        current = restartsOffset  // invalid until parsed
        nextOffset = offset
        if valueFormat == .deltaEncodedHandles { handle = BlockHandle(offset: 0, size: 0) }
    }

    /// The whole key stored at restart point `index` (its entry has
    /// shared == 0), or nil after recording corruption.
    private func restartKey(_ index: Int) -> UnsafeRawBufferPointer? {
        let offset = restartPoint(index)
        let limit = data + restartsOffset
        guard offset < restartsOffset,
              let (shared, p1) = decodeVarint32(data + offset, limit),
              let (nonShared, p2) = decodeVarint32(p1, limit)
        else {
            fail("restart point \(index) at \(offset) is outside the entries")
            return nil
        }
        var p = p2
        if valueFormat == .lengthPrefixed {
            guard let (_, p3) = decodeVarint32(p2, limit) else {
                fail("truncated value length at restart point \(index)")
                return nil
            }
            p = p3
        }
        guard shared == 0, Int(nonShared) <= limit - p else {
            fail("restart point \(index) key has shared=\(shared), non_shared=\(nonShared)")
            return nil
        }
        return UnsafeRawBufferPointer(start: p, count: Int(nonShared))
    }

    /// Decodes the entry at `nextOffset`, making it current. Returns false at
    /// the end of the entries or on corruption (then `error` is set).
    private func parseNextEntry() -> Bool {
        let offset = nextOffset
        guard offset < restartsOffset else {
            markInvalid()
            return false
        }
        let limit = data + restartsOffset
        var p = data + offset
        var shared: UInt32
        var nonShared: UInt32
        var valueLen: UInt32 = 0
        // Fast path: all header varints are single bytes.
        if limit - p >= 3, p.load(as: UInt8.self) < 0x80, (p + 1).load(as: UInt8.self) < 0x80,
           (p + 2).load(as: UInt8.self) < 0x80 {
            shared = UInt32(p.load(as: UInt8.self))
            nonShared = UInt32((p + 1).load(as: UInt8.self))
            if valueFormat == .lengthPrefixed {
                valueLen = UInt32((p + 2).load(as: UInt8.self))
                p += 3
            } else {
                p += 2
            }
        } else {
            guard let (s, p1) = decodeVarint32(p, limit), let (n, p2) = decodeVarint32(p1, limit) else {
                fail("truncated entry header")
                return false
            }
            shared = s
            nonShared = n
            p = p2
            if valueFormat == .lengthPrefixed {
                guard let (v, p3) = decodeVarint32(p2, limit) else {
                    fail("truncated value length")
                    return false
                }
                valueLen = v
                p = p3
            }
        }
        guard Int(shared) <= keyLength, Int(nonShared) <= limit - p else {
            fail("shared=\(shared) (previous key has \(keyLength) bytes), non_shared=\(nonShared) (\(limit - p) bytes left)")
            return false
        }
        let newLength = Int(shared) + Int(nonShared)
        // Every reader of an internal-key block splits off the 8-byte
        // trailer: a shorter key (even under a valid checksum) is damage,
        // reported here once instead of trapping or misreading later.
        guard order == .bytewise || newLength >= 8 else {
            fail("internal key of \(newLength) bytes is shorter than its 8-byte sequence/type trailer")
            return false
        }
        if newLength > keyCapacity { growKey(to: newLength) }
        if nonShared > 0 {
            (keyStorage + Int(shared)).copyMemory(from: p, byteCount: Int(nonShared))
        }
        keyLength = newLength
        p += Int(nonShared)
        let valueOffset = p - data
        switch valueFormat {
        case .lengthPrefixed:
            guard Int(valueLen) <= limit - p else {
                fail("value of \(valueLen) bytes runs past the entries (\(limit - p) bytes left)")
                return false
            }
            valueStart = valueOffset
            valueLength = Int(valueLen)
        case .deltaEncodedHandles:
            if shared == 0 {
                guard let (off, q1) = decodeVarint64(p, limit), let (sz, q2) = decodeVarint64(q1, limit) else {
                    fail("truncated block handle")
                    return false
                }
                handle = BlockHandle(offset: off, size: sz)
                valueLength = q2 - p
            } else {
                var cursor = ByteCursor(UnsafeRawBufferPointer(start: p, count: limit - p))
                guard let delta = cursor.readVarsigned64() else {
                    fail("truncated block size delta")
                    return false
                }
                let previous = handle
                let newSize = Int64(bitPattern: previous.size) &+ delta
                guard newSize >= 0 else {
                    fail("block size delta \(delta) gives a negative size")
                    return false
                }
                handle = BlockHandle(
                    offset: previous.offset &+ previous.size &+ UInt64(blockTrailerSize),
                    size: UInt64(newSize))
                valueLength = cursor.position
            }
            valueStart = valueOffset
        }
        current = offset
        nextOffset = valueStart + valueLength
        while restartIndex + 1 < restartCount && restartPoint(restartIndex + 1) <= current {
            restartIndex += 1
        }
        return true
    }

    private func growKey(to length: Int) {
        var capacity = keyCapacity
        while capacity < length { capacity *= 2 }
        let storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        storage.copyMemory(from: keyStorage, byteCount: keyLength)
        keyStorage.deallocate()
        keyStorage = storage
        keyCapacity = capacity
    }
}
