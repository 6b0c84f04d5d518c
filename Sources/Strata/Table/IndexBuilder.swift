/// Builds the index block: one entry per data block whose key separates it
/// from the next block (RocksDB's `ShortenedIndexBuilder` with
/// `kShortenSeparators`, spec section 6).
///
/// For format_version ≥ 3 the index stores user keys, unless some block
/// boundary splits one user key across two blocks; then (as RocksDB does) the
/// whole index falls back to internal keys. Both forms are built as entries
/// arrive and one is chosen at `finish`.
struct IndexBuilder {
    private var withSequence: BlockBuilder
    private var withoutSequence: BlockBuilder
    private let deltaEncoded: Bool
    private(set) var mustUseInternalKeys: Bool
    private var lastHandle: BlockHandle?
    private var scratch: [UInt8] = []
    private var deltaScratch: [UInt8] = []
    private(set) var entryCount = 0

    init(formatVersion: UInt32, restartInterval: Int) {
        deltaEncoded = formatVersion >= 4
        mustUseInternalKeys = formatVersion <= 2
        withSequence = BlockBuilder(restartInterval: restartInterval, valueDeltaEncoded: deltaEncoded)
        withoutSequence = BlockBuilder(restartInterval: restartInterval, valueDeltaEncoded: deltaEncoded)
    }

    /// Adds the entry for a finished block. `lastKey` is its last internal
    /// key; `nextKey` the first internal key of the next block, or nil after
    /// the last block.
    mutating func addEntry(lastKey: [UInt8], nextKey: [UInt8]?, handle: BlockHandle) {
        var separator = lastKey
        if let nextKey {
            let lastUser = Array(lastKey.dropLast(8))
            let nextUser = Array(nextKey.dropLast(8))
            let shortened = Bytewise.shortestSeparator(lastUser, nextUser)
            if shortened.count <= lastUser.count && Bytewise.compare(lastUser, shortened) < 0 {
                separator = InternalKey.make(shortened, sequence: maxSequenceNumber, type: ValueType.forSeekCode)
            }
            if lastUser == nextUser { mustUseInternalKeys = true }
        }
        scratch.removeAll(keepingCapacity: true)
        handle.encode(to: &scratch)
        deltaScratch.removeAll(keepingCapacity: true)
        if deltaEncoded, let lastHandle {
            deltaScratch.appendVarsigned64(Int64(bitPattern: handle.size &- lastHandle.size))
        }
        let hasDelta = deltaEncoded && lastHandle != nil
        separator.withUnsafeBytes { sep in
            scratch.withUnsafeBytes { value in
                deltaScratch.withUnsafeBytes { delta in
                    withSequence.add(key: sep, value: value, deltaValue: hasDelta ? delta : nil)
                    withoutSequence.add(
                        key: UnsafeRawBufferPointer(rebasing: sep[0..<(sep.count - 8)]),
                        value: value, deltaValue: hasDelta ? delta : nil)
                }
            }
        }
        lastHandle = handle
        entryCount += 1
    }

    /// The finished index block contents and whether its keys are user keys.
    mutating func finish() -> (contents: [UInt8], userKeys: Bool) {
        if mustUseInternalKeys { return (withSequence.finish(), false) }
        return (withoutSequence.finish(), true)
    }

    /// True if index values are delta encoded (format_version ≥ 4).
    var valuesDeltaEncoded: Bool { deltaEncoded }
}
