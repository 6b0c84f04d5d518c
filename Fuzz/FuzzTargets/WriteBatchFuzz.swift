import Strata

extension FuzzTargets {
    /// WriteBatch decoder (spec section 14): the input is an encoded batch
    /// (a WAL record's payload). Decodes it, inserts its updates into a
    /// memtable as recovery does, and re-encodes the decoded updates.
    /// Properties: a batch that decodes has exactly `count` updates, whose
    /// sequence numbers (`sequence` + i) are all valid (≤ 2^56 − 1, as WAL
    /// recovery assigns them); the updates rebuilt with the public API
    /// decode to the same updates.
    public static func writeBatch(_ data: UnsafeRawBufferPointer) {
        guard let batch = try? WriteBatch(encoded: Array(data)) else { return }
        let memtable = MemTable(arenaBlockSize: 4096)
        var rebuilt = WriteBatch()
        var updates: [(ValueType, UInt32, [UInt8], [UInt8])] = []
        if batch.count > 0 {
            fuzzCheck(batch.sequence <= maxSequenceNumber - UInt64(batch.count - 1),
                      "batch at sequence \(batch.sequence) with \(batch.count) updates overflows the sequence numbers")
        }
        var sequence = batch.sequence
        do {
            try batch.forEach { op in
                updates.append((op.type, op.columnFamily, Array(op.key), Array(op.value)))
                memtable.add(sequence: sequence, type: op.type, key: op.key, value: op.value)
                sequence += 1
            }
        } catch {
            fuzzCheck(false, "a batch that decoded fails to iterate: \(error)")
        }
        fuzzCheck(updates.count == Int(batch.count), "batch says \(batch.count) updates, iterating gives \(updates.count)")
        // The public API records nothing for an empty or inverted range
        // deletion (it deletes nothing), so those are not expected back.
        let defaultUpdates = updates.filter { update in
            update.1 == 0 && (update.0 != .rangeDeletion || Bytewise.compare(update.2, update.3) < 0)
        }
        for (type, _, key, value) in defaultUpdates {
            switch type {
            case .value: rebuilt.put(key, value)
            case .deletion: rebuilt.delete(key)
            case .singleDeletion: rebuilt.singleDelete(key)
            case .merge: rebuilt.merge(key, value)
            case .rangeDeletion: rebuilt.deleteRange(from: key, to: value)
            }
        }
        guard let again = try? WriteBatch(encoded: rebuilt.rep) else {
            return fuzzCheck(false, "a batch built with the public API does not decode")
        }
        var index = 0
        try? again.forEach { op in
            let (type, _, key, value) = defaultUpdates[index]
            fuzzCheck(op.type == type && Array(op.key) == key && Array(op.value) == value,
                      "update \(index) changes in a re-encoded batch")
            index += 1
        }
        fuzzCheck(index == defaultUpdates.count, "re-encoded batch has \(index) updates, expected \(defaultUpdates.count)")
        let it = memtable.makeIterator()
        it.seekToFirst()
        while it.isValid { it.next() }
    }
}
