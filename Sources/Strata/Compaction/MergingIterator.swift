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
    private let unretained: [ChildIterator]
    /// The heap of child indexes (`heapCount` of them), in storage
    /// allocated once: per-entry updates make no uniqueness checks.
    private let heap: UnsafeMutablePointer<Int>
    @exclusivity(unchecked)
    private var heapCount = 0
    @exclusivity(unchecked)
    private var forward = true
    @exclusivity(unchecked)
    package private(set) var error: StrataError? {
        didSet { failed = error != nil }
    }
    /// `error != nil`, without copying the error on every `isValid`.
    @exclusivity(unchecked)
    private var failed = false

    /// Each child's current key and value, cached when the child moves, so
    /// heap comparisons and `key`/`value` make no calls into the children
    /// (a child's views stay valid until that child moves).
    private let keys: UnsafeMutablePointer<UnsafeRawBufferPointer>
    private let values: UnsafeMutablePointer<UnsafeRawBufferPointer>

    /// Merges `children`; on equal keys the earlier child comes first.
    package init(children: [any InternalIterator]) {
        self.children = children
        unretained = children.map { ChildIterator($0) }
        let n = children.count
        heap = .allocate(capacity: max(n, 1))
        keys = .allocate(capacity: max(n, 1))
        keys.initialize(repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: max(n, 1))
        values = .allocate(capacity: max(n, 1))
        values.initialize(repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: max(n, 1))
    }

    deinit {
        heap.deallocate()
        keys.deallocate()
        values.deallocate()
    }

    package var isValid: Bool { heapCount > 0 && !failed }
    package var key: UnsafeRawBufferPointer { keys[heap[0]] }
    package var value: UnsafeRawBufferPointer { values[heap[0]] }

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
        let child = unretained[top]
        if child.next() {
            (keys[top], values[top]) = child.entry
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
            values[top] = child.value
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
        heapCount = 0
        for (i, c) in children.enumerated() {
            if c.isValid {
                keys[i] = c.key
                values[i] = c.value
                heap[heapCount] = i
                heapCount += 1
            } else if let e = c.error {
                error = e
                heapCount = 0
                return
            }
        }
        if heapCount > 1 {
            for i in stride(from: heapCount / 2 - 1, through: 0, by: -1) { siftDown(i) }
        }
    }

    private func removeTop() {
        heapCount -= 1
        heap[0] = heap[heapCount]
        if heapCount > 0 { siftDown(0) }
    }

    private func siftDown(_ start: Int) {
        var i = start
        let n = heapCount
        while true {
            let l = 2 * i + 1
            if l >= n { return }
            var best = l
            let r = l + 1
            if r < n && above(heap[r], heap[l]) { best = r }
            if above(heap[best], heap[i]) {
                let t = heap[best]
                heap[best] = heap[i]
                heap[i] = t
                i = best
            } else {
                return
            }
        }
    }
}

/// A child iterator referenced without a reference count (its owner keeps
/// it alive), called with static dispatch where its class is one of the
/// engine's four: loading a child through an `unowned(unsafe)` existential
/// still retains and releases it around every call (two atomic operations
/// per entry, ~5% of a sequential scan under callgrind), while an
/// `Unmanaged` reference of a concrete class lends it for the call.
struct ChildIterator {
    private enum Reference {
        case table(Unmanaged<TableIterator>)
        case level(Unmanaged<LevelIterator>)
        case memtable(Unmanaged<MemTableIterator>)
        case merging(Unmanaged<MergingIterator>)
        case other(Unmanaged<AnyObject>)
    }
    private let reference: Reference
    /// For `.other` only: the iterator through its protocol.
    private unowned(unsafe) let existential: any InternalIterator

    init(_ iterator: any InternalIterator) {
        existential = iterator
        switch iterator {
        case let t as TableIterator: reference = .table(.passUnretained(t))
        case let l as LevelIterator: reference = .level(.passUnretained(l))
        case let m as MemTableIterator: reference = .memtable(.passUnretained(m))
        case let m as MergingIterator: reference = .merging(.passUnretained(m))
        default: reference = .other(.passUnretained(iterator as AnyObject))
        }
    }

    /// Runs `body` on the child, lent without a retain.
    @inline(__always)
    private func with<R>(_ body: (any InternalIterator) -> R) -> R {
        switch reference {
        case .table(let u): return u._withUnsafeGuaranteedRef { body($0) }
        case .level(let u): return u._withUnsafeGuaranteedRef { body($0) }
        case .memtable(let u): return u._withUnsafeGuaranteedRef { body($0) }
        case .merging(let u): return u._withUnsafeGuaranteedRef { body($0) }
        case .other: return body(existential)
        }
    }

    /// Moves the child forward and returns whether it is still valid.
    @inline(__always)
    func next() -> Bool {
        switch reference {
        case .table(let u): return u._withUnsafeGuaranteedRef { $0.next(); return $0.isValid }
        case .level(let u): return u._withUnsafeGuaranteedRef { $0.next(); return $0.isValid }
        case .memtable(let u): return u._withUnsafeGuaranteedRef { $0.next(); return $0.isValid }
        case .merging(let u): return u._withUnsafeGuaranteedRef { $0.next(); return $0.isValid }
        case .other: existential.next(); return existential.isValid
        }
    }

    /// The child's current key and value (requires `isValid`).
    @inline(__always)
    var entry: (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        switch reference {
        case .table(let u): return u._withUnsafeGuaranteedRef { ($0.key, $0.value) }
        case .level(let u): return u._withUnsafeGuaranteedRef { ($0.key, $0.value) }
        case .memtable(let u): return u._withUnsafeGuaranteedRef { ($0.key, $0.value) }
        case .merging(let u): return u._withUnsafeGuaranteedRef { ($0.key, $0.value) }
        case .other: return (existential.key, existential.value)
        }
    }

    var isValid: Bool { with { $0.isValid } }
    var error: StrataError? { with { $0.error } }
}
