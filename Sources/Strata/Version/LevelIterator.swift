/// Iterates the files of one level ≥ 1 as a single sorted sequence: the
/// files are disjoint and sorted, so it walks them in order, opening each
/// table only when the iteration reaches it (RocksDB `LevelIterator`).
///
/// Thread safety: one thread at a time. The `TableFile`s it holds keep the
/// files from being deleted while it lives.
public final class LevelIterator: InternalIterator {
    private let files: [TableFile]
    private let tables: TableCache
    @exclusivity(unchecked)
    private var index = -1
    @exclusivity(unchecked)
    private var current: TableIterator?
    @exclusivity(unchecked)
    public private(set) var error: StrataError?

    private let fillCache: Bool

    /// Iterates `files` (disjoint, sorted by smallest key); `fillCache`
    /// false keeps the blocks it reads out of the block cache.
    public init(files: [TableFile], tables: TableCache, fillCache: Bool = true) {
        self.files = files
        self.tables = tables
        self.fillCache = fillCache
    }

    public var isValid: Bool { current?.isValid ?? false }
    public var key: UnsafeRawBufferPointer { current!.key }
    public var value: UnsafeRawBufferPointer { current!.value }

    private func open(_ i: Int) -> Bool {
        guard i >= 0 && i < files.count else {
            index = i
            current = nil
            return false
        }
        if i == index && current != nil { return true }
        index = i
        do {
            current = try tables.table(files[i]).makeIterator(fillCache: fillCache)
            return true
        } catch let e as StrataError {
            error = e
        } catch {
            self.error = StrataError.ioError("\(error)")
        }
        current = nil
        return false
    }

    private func checkError() {
        if let e = current?.error {
            error = e
            current = nil
        }
    }

    public func seekToFirst() {
        if open(0) { current!.seekToFirst(); checkError(); skipForward() }
    }

    public func seekToLast() {
        if open(files.count - 1) { current!.seekToLast(); checkError(); skipBackward() }
    }

    public func seek(_ target: UnsafeRawBufferPointer) {
        // First file whose largest key is ≥ target.
        var lo = 0
        var hi = files.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if files[mid].meta.largest.withUnsafeBytes({ InternalKey.compare($0, target) < 0 }) {
                lo = mid + 1
            } else {
                hi = mid
            }
        }
        if open(lo) { current!.seek(target); checkError(); skipForward() }
    }

    public func seekForPrev(_ target: UnsafeRawBufferPointer) {
        // Last file whose smallest key is ≤ target.
        var lo = 0
        var hi = files.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if files[mid].meta.smallest.withUnsafeBytes({ InternalKey.compare($0, target) <= 0 }) {
                lo = mid + 1
            } else {
                hi = mid
            }
        }
        if open(lo - 1) { current!.seekForPrev(target); checkError(); skipBackward() }
    }

    public func next() {
        guard isValid else { return }
        current!.next()
        checkError()
        skipForward()
    }

    public func prev() {
        guard isValid else { return }
        current!.prev()
        checkError()
        skipBackward()
    }

    private func skipForward() {
        while error == nil, let c = current, !c.isValid {
            guard open(index + 1) else { return }
            current!.seekToFirst()
            checkError()
        }
    }

    private func skipBackward() {
        while error == nil, let c = current, !c.isValid {
            guard open(index - 1) else { return }
            current!.seekToLast()
            checkError()
        }
    }
}
