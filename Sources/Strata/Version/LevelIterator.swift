/// Iterates the files of one level ≥ 1 as a single sorted sequence: the
/// files are disjoint and sorted, so it walks them in order, opening each
/// table only when the iteration reaches it (RocksDB `LevelIterator`).
///
/// Thread safety: one thread at a time. The `TableFile`s it holds keep the
/// files from being deleted while it lives.
package final class LevelIterator: InternalIterator {
    private let files: [TableFile]
    private let tables: TableCache
    @exclusivity(unchecked)
    private var index = -1
    @exclusivity(unchecked)
    private var current: TableIterator? {
        didSet { active = current.map { Unmanaged.passUnretained($0) } }
    }
    /// `current` without a reference count: the per-entry calls (`next`,
    /// `isValid`, `key`, `value`) go through it with no retain/release, while
    /// `current` keeps the iterator alive.
    @exclusivity(unchecked)
    private var active: Unmanaged<TableIterator>?
    @exclusivity(unchecked)
    package private(set) var error: StrataError?

    private let fillCache: Bool

    /// Iterates `files` (disjoint, sorted by smallest key); `fillCache`
    /// false keeps the blocks it reads out of the block cache.
    package init(files: [TableFile], tables: TableCache, fillCache: Bool = true) {
        self.files = files
        self.tables = tables
        self.fillCache = fillCache
    }

    package var isValid: Bool { active?._withUnsafeGuaranteedRef { $0.isValid } ?? false }
    package var key: UnsafeRawBufferPointer { active!._withUnsafeGuaranteedRef { $0.key } }
    package var value: UnsafeRawBufferPointer { active!._withUnsafeGuaranteedRef { $0.value } }

    private func open(_ i: Int) -> Bool {
        guard i >= 0 && i < files.count else {
            index = i
            current = nil
            return false
        }
        if i == index && current != nil { return true }
        index = i
        do {
            current = try files[i].reader(tables).makeIterator(fillCache: fillCache)
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

    package func seekToFirst() {
        if open(0) { current!.seekToFirst(); checkError(); skipForward() }
    }

    package func seekToLast() {
        if open(files.count - 1) { current!.seekToLast(); checkError(); skipBackward() }
    }

    package func seek(_ target: UnsafeRawBufferPointer) {
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

    package func seekForPrev(_ target: UnsafeRawBufferPointer) {
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

    package func next() {
        guard let active, active._withUnsafeGuaranteedRef({ $0.isValid }) else { return }
        // The common case: the next entry is in the same table.
        if active._withUnsafeGuaranteedRef({ $0.next(); return $0.isValid }) { return }
        checkError()
        skipForward()
    }

    package func prev() {
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
