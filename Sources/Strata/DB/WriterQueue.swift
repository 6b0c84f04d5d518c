/// The group-commit queue: writers in arrival order, linked through
/// `PendingWrite.next` so appending and removing the head group allocate
/// nothing (LevelDB and RocksDB keep their writers in a linked list too).
///
/// Thread safety: none; the database uses it under its monitor.
struct WriterQueue {
    private(set) var first: PendingWrite?
    private var last: PendingWrite?

    /// True when no writer waits.
    var isEmpty: Bool { first == nil }

    /// Adds `writer` at the tail.
    mutating func append(_ writer: PendingWrite) {
        writer.next = nil
        if let last { last.next = writer } else { first = writer }
        last = writer
    }

    /// Removes the first `count` writers (the group just committed).
    mutating func removeFirst(_ count: Int = 1) {
        for _ in 0..<count {
            guard let head = first else { return }
            first = head.next
            head.next = nil
        }
        if first == nil { last = nil }
    }

    /// Calls `body` with each writer after the first, in order, until it
    /// returns false.
    func forEachAfterFirst(_ body: (PendingWrite) -> Bool) {
        var writer = first?.next
        while let w = writer, body(w) { writer = w.next }
    }
}
