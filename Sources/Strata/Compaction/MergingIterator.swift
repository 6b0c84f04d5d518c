/// Merges several internal iterators into one in internal-key order, in
/// either direction (LevelDB/RocksDB `MergingIterator`).
///
/// Children are kept in a binary heap keyed by their current key: a min-heap
/// while moving forward, a max-heap while moving backward. Changing direction
/// repositions every other child around the current key.
///
/// Thread safety: one thread at a time. The first child error ends the
/// iteration and is reported by `error`.
package final class MergingIterator: InternalIterator {
    private let children: [any InternalIterator]
    /// `children` without reference counts, for the per-entry calls (the
    /// array above keeps them alive): a child taken out of `children` would
    /// be retained and released around every call.
    private let unretained: [UnretainedIterator]
    @exclusivity(unchecked)
    private var heap: [Int] = []
    @exclusivity(unchecked)
    private var forward = true
    @exclusivity(unchecked)
    package private(set) var error: StrataError? {
        didSet { failed = error != nil }
    }
    /// `error != nil`, without copying the error on every `isValid`.
    @exclusivity(unchecked)
    private var failed = false

    /// Each child's current key, cached when the child moves, so heap
    /// comparisons make no protocol calls (a child's key view stays valid
    /// until that child moves).
    @exclusivity(unchecked)
    private var keys: [UnsafeRawBufferPointer]

    /// Merges `children`; on equal keys the earlier child comes first.
    package init(children: [any InternalIterator]) {
        self.children = children
        unretained = children.map { UnretainedIterator(iterator: $0) }
        keys = Array(repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: children.count)
        heap.reserveCapacity(children.count)
    }

    package var isValid: Bool { !heap.isEmpty && !failed }
    package var key: UnsafeRawBufferPointer { keys[heap[0]] }
    package var value: UnsafeRawBufferPointer { unretained[heap[0]].iterator.value }

    package func seekToFirst() {
        for c in children { c.seekToFirst() }
        rebuild(forward: true)
    }

    package func seekToLast() {
        for c in children { c.seekToLast() }
        rebuild(forward: false)
    }

    package func seek(_ target: UnsafeRawBufferPointer) {
        for c in children { c.seek(target) }
        rebuild(forward: true)
    }

    package func seekForPrev(_ target: UnsafeRawBufferPointer) {
        for c in children { c.seekForPrev(target) }
        rebuild(forward: false)
    }

    package func next() {
        guard isValid else { return }
        if !forward {
            // Put every other child at the first entry after the current key.
            let currentIndex = heap[0]
            let current = Array(key)
            current.withUnsafeBytes { k in
                for (i, c) in children.enumerated() where i != currentIndex {
                    c.seek(k)
                    if c.isValid && InternalKey.compare(c.key, k) == 0 { c.next() }
                }
            }
            rebuild(forward: true)
            guard isValid else { return }
        }
        let top = heap[0]
        let child = unretained[top].iterator
        child.next()
        if child.isValid {
            keys[top] = child.key
            siftDown(0)
        } else {
            if let e = children[top].error { error = e; return }
            removeTop()
        }
    }

    package func prev() {
        guard isValid else { return }
        if forward {
            let currentIndex = heap[0]
            let current = Array(key)
            current.withUnsafeBytes { k in
                for (i, c) in children.enumerated() where i != currentIndex {
                    c.seekForPrev(k)
                    if c.isValid && InternalKey.compare(c.key, k) == 0 { c.prev() }
                }
            }
            rebuild(forward: false)
            guard isValid else { return }
        }
        let top = heap[0]
        let child = children[top]
        child.prev()
        if child.isValid {
            keys[top] = child.key
            siftDown(0)
        } else {
            if let e = child.error { error = e; return }
            removeTop()
        }
    }

    // MARK: Heap

    /// True if child a should be above child b.
    @inline(__always)
    private func above(_ a: Int, _ b: Int) -> Bool {
        let r = InternalKey.compare(keys[a], keys[b])
        if r == 0 { return forward ? a < b : a > b }
        return forward ? r < 0 : r > 0
    }

    private func rebuild(forward: Bool) {
        self.forward = forward
        heap.removeAll(keepingCapacity: true)
        for (i, c) in children.enumerated() {
            if c.isValid {
                keys[i] = c.key
                heap.append(i)
            } else if let e = c.error {
                error = e
                heap.removeAll()
                return
            }
        }
        if heap.count > 1 {
            for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
        }
    }

    private func removeTop() {
        heap[0] = heap[heap.count - 1]
        heap.removeLast()
        if !heap.isEmpty { siftDown(0) }
    }

    private func siftDown(_ start: Int) {
        var i = start
        let n = heap.count
        while true {
            let l = 2 * i + 1
            if l >= n { return }
            var best = l
            let r = l + 1
            if r < n && above(heap[r], heap[l]) { best = r }
            if above(heap[best], heap[i]) {
                heap.swapAt(best, i)
                i = best
            } else {
                return
            }
        }
    }
}

/// A child iterator referenced without a reference count (its owner keeps
/// it alive), so that calls through it cost no retain/release.
struct UnretainedIterator {
    unowned(unsafe) let iterator: any InternalIterator
}
