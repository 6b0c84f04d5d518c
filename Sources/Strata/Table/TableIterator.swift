/// Iterates a table's point entries in internal-key order: an index-block
/// iterator picks the data block, a block iterator walks it (a "two-level"
/// iterator). Range tombstones are not included (see
/// `TableReader.rangeTombstones`).
///
/// Errors (checksum mismatch, bad block) end the iteration: `isValid`
/// becomes false and `error` says what and where.
///
/// Thread safety: one thread at a time; the table may be shared.
package final class TableIterator: InternalIterator {
    package let table: TableReader
    private let index: BlockIterator
    /// The current data block's iterator, reset to each block in turn (a
    /// `let`, so the per-entry calls need no retain of it; before the first
    /// block it iterates `Block.empty`).
    private let data: BlockIterator
    @exclusivity(unchecked)
    private var dataValid = false
    @exclusivity(unchecked)
    private var currentBlockOffset: UInt64 = .max
    /// The current block's pin in the block cache (released when the
    /// iterator moves to another block or is freed).
    @exclusivity(unchecked)
    private var pin: BlockCache.Handle?
    /// The first error met.
    @exclusivity(unchecked)
    package private(set) var error: StrataError?

    /// Whether blocks read from the file go into the block cache.
    private let fillCache: Bool
    /// The table's global sequence number (ingested external tables), and
    /// the buffer `key` rewrites the current key into when there is one.
    private let globalSequence: UInt64?
    @exclusivity(unchecked)
    private var rewritten: UnsafeMutableRawPointer? = nil
    @exclusivity(unchecked)
    private var rewrittenCapacity = 0

    init(table: TableReader, fillCache: Bool = true) {
        self.table = table
        self.fillCache = fillCache
        globalSequence = table.globalSequence
        index = table.makeIndexIterator()
        data = Block.empty.makeIterator(order: .internalKey)
    }

    deinit {
        rewritten?.deallocate()
        if let pin { table.options.blockCache?.release(pin) }
    }

    package var isValid: Bool { dataValid && error == nil }
    /// The current internal key; for an ingested table with a global
    /// sequence number, with that sequence (valid until the iterator moves).
    package var key: UnsafeRawBufferPointer {
        guard let globalSequence else { return data.key }
        return withGlobalSequence(data.key, globalSequence)
    }

    private func withGlobalSequence(_ stored: UnsafeRawBufferPointer, _ sequence: UInt64) -> UnsafeRawBufferPointer {
        guard stored.count >= 8, let source = stored.baseAddress else { return stored }
        if rewrittenCapacity < stored.count {
            rewritten?.deallocate()
            rewrittenCapacity = max(stored.count, 64)
            rewritten = UnsafeMutableRawPointer.allocate(byteCount: rewrittenCapacity, alignment: 8)
        }
        guard let buffer = rewritten else { return stored }
        buffer.copyMemory(from: source, byteCount: stored.count)
        let type = stored[stored.count - 8]
        storeFixed64(buffer + stored.count - 8, packSequenceAndType(sequence, type))
        return UnsafeRawBufferPointer(start: buffer, count: stored.count)
    }
    package var value: UnsafeRawBufferPointer { data.value }

    /// The handle of the data block holding the current entry.
    package var currentBlockHandle: BlockHandle? {
        guard index.isValid else { return nil }
        return try? table.indexHandle(index)
    }

    package func seekToFirst() {
        index.seekToFirst()
        loadBlock { $0.seekToFirst() }
        skipEmptyBlocksForward()
        checkEntry()
    }

    package func seekToLast() {
        index.seekToLast()
        loadBlock { $0.seekToLast() }
        skipEmptyBlocksBackward()
        checkEntry()
    }

    package func seek(_ target: UnsafeRawBufferPointer) {
        if table.indexKeyIsUserKey {
            index.seek(InternalKey.userKey(target))
        } else {
            index.seek(target)
        }
        loadBlock { $0.seek(target) }
        skipEmptyBlocksForward()
        checkEntry()
    }

    package func seekForPrev(_ target: UnsafeRawBufferPointer) {
        seek(target)
        if !isValid {
            if error == nil { seekToLast() }
        }
        while isValid && InternalKey.compare(key, target) > 0 { prev() }
    }

    package func next() {
        guard isValid else { return }
        data.next()
        dataValid = data.isValid
        if let e = data.error { return fail(e) }
        skipEmptyBlocksForward()
        checkEntry()
    }

    package func prev() {
        guard isValid else { return }
        data.prev()
        dataValid = data.isValid
        if let e = data.error { return fail(e) }
        skipEmptyBlocksBackward()
        checkEntry()
    }

    /// Ends the iteration with `.corruption` (or `.notSupported`) if the
    /// current entry's type cannot be in a data block, so no reader takes a
    /// damaged entry for a deletion or a value (BlockIterator already
    /// refuses keys shorter than the trailer).
    @inline(__always)
    private func checkEntry() {
        guard dataValid, error == nil else { return }
        let key = data.key
        let typeCode = key[key.count - 8]
        if TableEntryType.isDataBlockType(typeCode) { return }
        if let e = TableEntryType.error(typeCode: typeCode, entryOffset: data.entryOffset) { fail(e) }
    }

    private func fail(_ e: StrataError) {
        error = e.located(file: table.path, offset: currentBlockOffset == .max ? nil : currentBlockOffset)
        dataValid = false
    }

    /// Loads the block the index points at (reusing the current one if it is
    /// the same) and positions it with `position`.
    private func loadBlock(_ position: (BlockIterator) -> Void) {
        guard error == nil else { return }
        guard index.isValid else {
            dataValid = false
            if let e = index.error { fail(e) }
            return
        }
        do {
            let handle = try table.indexHandle(index)
            if handle.offset != currentBlockOffset {
                let (block, newPin) = try table.pinnedDataBlock(handle, fillCache: fillCache)
                if let pin { table.options.blockCache?.release(pin) }
                pin = newPin
                data.reset(block: block, order: .internalKey)
                currentBlockOffset = handle.offset
            }
            position(data)
            dataValid = data.isValid
            if let e = data.error { fail(e) }
        } catch let e as StrataError {
            fail(e)
        } catch {
            fail(StrataError.ioError("\(error)"))
        }
    }

    private func skipEmptyBlocksForward() {
        while !dataValid && error == nil && index.isValid {
            index.next()
            loadBlock { $0.seekToFirst() }
        }
    }

    private func skipEmptyBlocksBackward() {
        while !dataValid && error == nil && index.isValid {
            index.prev()
            loadBlock { $0.seekToLast() }
        }
    }
}
