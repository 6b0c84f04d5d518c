/// A cursor over internal keys (user key ‖ sequence ‖ type) in internal-key
/// order: the common shape of memtable, table, level and merging iterators.
///
/// `key` and `value` are views valid until the iterator moves. Moving an
/// invalid iterator (other than by a seek) is a no-op. An iterator that meets
/// corruption or an I/O error becomes invalid and reports it in `error`;
/// callers check `error` when `isValid` turns false.
///
/// Thread safety: one thread at a time.
package protocol InternalIterator: AnyObject {
    /// True when positioned on an entry.
    var isValid: Bool { get }
    /// The current internal key. Requires `isValid`.
    var key: UnsafeRawBufferPointer { get }
    /// The current value. Requires `isValid`.
    var value: UnsafeRawBufferPointer { get }
    /// The first error met, if any.
    var error: StrataError? { get }
    /// Positions at the first entry.
    func seekToFirst()
    /// Positions at the last entry.
    func seekToLast()
    /// Positions at the first entry ≥ `target` (an internal key).
    func seek(_ target: UnsafeRawBufferPointer)
    /// Positions at the last entry ≤ `target` (an internal key).
    func seekForPrev(_ target: UnsafeRawBufferPointer)
    /// Moves to the next entry.
    func next()
    /// Moves to the previous entry.
    func prev()
}
