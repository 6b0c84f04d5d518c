/// Builds one block in RocksDB's block format (spec section 5):
///
///     entry*  restart[num_restarts] (fixed32 each)  footer (fixed32 num_restarts)
///     entry := varint32 shared  varint32 non_shared  [varint32 value_length]
///              key_delta[non_shared]  value
///
/// Each key is stored as the number of bytes it shares with the previous key
/// plus the rest; every `restartInterval` entries the sharing restarts at 0
/// and the entry's offset is recorded, so a reader can binary-search the
/// restart points. Index blocks of format_version ≥ 4 omit `value_length`
/// and store a size delta instead of the full handle when the key shares a
/// prefix (`valueDeltaEncoded`).
///
/// Ownership: a builder is a value with one owner. Keys must be added in
/// strictly increasing order of the block's key order (not checked here: the
/// table builder checks).
package struct BlockBuilder {
    /// Entries between restart points (data blocks 16, index 1 in RocksDB).
    package let restartInterval: Int
    /// Index-block layout of format_version ≥ 4: no value length, and the
    /// delta value is written for entries that share a key prefix.
    package let valueDeltaEncoded: Bool

    private var buffer: [UInt8] = []
    private var restarts: [UInt32] = [0]
    private var counter = 0
    private var lastKey: [UInt8] = []
    /// Entries added since the last reset.
    package private(set) var entryCount = 0

    /// A builder with the given restart interval (≥ 1).
    package init(restartInterval: Int, valueDeltaEncoded: Bool = false) {
        precondition(restartInterval >= 1, "restart interval must be at least 1")
        self.restartInterval = restartInterval
        self.valueDeltaEncoded = valueDeltaEncoded
    }

    /// True if nothing was added since the last reset.
    package var isEmpty: Bool { entryCount == 0 }

    /// Size of the block if it were finished now (RocksDB's
    /// `CurrentSizeEstimate`: entries + restart array + footer).
    package var currentSizeEstimate: Int { buffer.count + restarts.count * 4 + 4 }

    /// Size estimate after adding an entry with these key and value sizes:
    /// RocksDB's `EstimateSizeAfterKV`, reproduced term by term so that our
    /// blocks end where RocksDB's would for the same input.
    package func estimatedSizeAfter(keySize: Int, valueSize: Int) -> Int {
        let newRestart = counter >= restartInterval
        var estimate = currentSizeEstimate + keySize
        // With delta-encoded values only the size delta is written: RocksDB
        // counts half the value.
        estimate += !valueDeltaEncoded || newRestart ? valueSize : valueSize / 2
        if newRestart { estimate += 4 }  // a new restart array entry
        estimate += 4  // RocksDB's allowance for the shared-length varint
        estimate += varintLength(UInt64(keySize))
        if !valueDeltaEncoded || newRestart { estimate += varintLength(UInt64(valueSize)) }
        return estimate
    }

    /// Forgets everything; keeps allocated capacity.
    package mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        restarts.removeAll(keepingCapacity: true)
        restarts.append(0)
        counter = 0
        lastKey.removeAll(keepingCapacity: true)
        entryCount = 0
    }

    /// Adds an entry. `deltaValue` (index blocks with `valueDeltaEncoded`
    /// only) replaces `value` when the key shares a prefix with the previous
    /// key — exactly when RocksDB's reader expects the delta form.
    package mutating func add(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, deltaValue: UnsafeRawBufferPointer? = nil) {
        var shared = 0
        if counter >= restartInterval {
            restarts.append(UInt32(buffer.count))
            counter = 0
        } else {
            let n = min(lastKey.count, key.count)
            lastKey.withUnsafeBytes { last in
                while shared < n && last[shared] == key[shared] { shared += 1 }
            }
        }
        let nonShared = key.count - shared
        buffer.appendVarint32(UInt32(shared))
        buffer.appendVarint32(UInt32(nonShared))
        let useDelta = valueDeltaEncoded && shared != 0 && deltaValue != nil
        if !valueDeltaEncoded {
            buffer.appendVarint32(UInt32(value.count))
        }
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: key[shared...]))
        buffer.append(contentsOf: useDelta ? deltaValue! : value)
        lastKey.assign(key)
        counter += 1
        entryCount += 1
    }

    /// Adds an entry given as arrays.
    package mutating func add(_ key: [UInt8], _ value: [UInt8]) {
        key.withUnsafeBytes { k in value.withUnsafeBytes { v in add(key: k, value: v) } }
    }

    /// Appends the restart array and footer and returns the finished block;
    /// the builder is reset for the next block.
    package mutating func finish() -> [UInt8] {
        for r in restarts { buffer.appendFixed32(r) }
        buffer.appendFixed32(UInt32(restarts.count))
        let block = buffer
        reset()
        return block
    }
}
