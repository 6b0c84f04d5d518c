import Strata

/// The session windows of one key, kept in state between events (Flink's
/// `MergingWindowSet`): each live session's current window and its *state
/// window* — the namespace its contents live in, which stays fixed while the
/// session grows and absorbs others, so a merge moves only the absorbed
/// sessions' contents, never the surviving one's.
///
/// Invariants: sorted by window start; no two windows are mergeable
/// (`SessionWindows.mergeable`); each state window belongs to one entry.
struct SessionWindowSet: Equatable, Sendable {
    struct Entry: Equatable, Sendable {
        var window: TimeWindow
        var stateWindow: TimeWindow
    }

    var entries: [Entry] = []

    /// The result of adding one event's window.
    struct Addition {
        /// The session the event belongs to after merging.
        var entry: Entry
        /// The surviving session's own window before this event (nil: a new
        /// session). Its timers are the ones the merged session inherits.
        var previousWindow: TimeWindow?
        /// State windows absorbed into `entry.stateWindow` (empty: no merge of contents).
        var absorbed: [TimeWindow]
    }

    /// Adds `window`, merging every session it overlaps or touches. The
    /// surviving state window is the earliest merged session's.
    mutating func add(_ window: TimeWindow) -> Addition {
        var low = 0
        while low < entries.count, entries[low].window.end < window.start { low += 1 }
        var high = low
        while high < entries.count, SessionWindows.mergeable(entries[high].window, window) { high += 1 }
        if low == high {
            let entry = Entry(window: window, stateWindow: window)
            entries.insert(entry, at: low)
            return Addition(entry: entry, previousWindow: nil, absorbed: [])
        }
        let first = entries[low]
        var merged = first.window
        merged.start = min(merged.start, window.start)
        merged.end = max(merged.end, window.end)
        var absorbed: [TimeWindow] = []
        for other in entries[(low + 1)..<high] {
            merged.end = max(merged.end, other.window.end)
            absorbed.append(other.stateWindow)
        }
        let entry = Entry(window: merged, stateWindow: first.stateWindow)
        entries.replaceSubrange(low..<high, with: [entry])
        return Addition(entry: entry, previousWindow: first.window, absorbed: absorbed)
    }

    /// The entry whose contents live in `stateWindow`.
    func index(ofStateWindow stateWindow: TimeWindow) -> Int? {
        entries.firstIndex { $0.stateWindow == stateWindow }
    }
}

/// Stores a `SessionWindowSet` as `[count: 4 bytes BE]` then per entry four
/// 8-byte big-endian two's-complement integers: window start, end, state
/// window start, end.
struct SessionWindowSetCodec: StateCodec {
    var fixedWidth: Int? { nil }

    func encode(_ value: SessionWindowSet, into out: inout [UInt8]) {
        func put(_ v: UInt64, bytes: Int) {
            for i in (0..<bytes).reversed() { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
        }
        put(UInt64(value.entries.count), bytes: 4)
        for entry in value.entries {
            for v in [entry.window.start, entry.window.end, entry.stateWindow.start, entry.stateWindow.end] {
                put(UInt64(bitPattern: v), bytes: 8)
            }
        }
    }

    func decode(_ bytes: UnsafeRawBufferPointer) throws -> SessionWindowSet {
        func get(_ offset: Int, _ count: Int) -> UInt64 {
            var v: UInt64 = 0
            for i in 0..<count { v = v << 8 | UInt64(bytes[offset + i]) }
            return v
        }
        guard bytes.count >= 4 else {
            throw StrataError.corruption(
                "session window set: \(bytes.count) bytes; expected at least 4 (the entry count)")
        }
        let count = Int(get(0, 4))
        guard bytes.count == 4 + 32 * count else {
            throw StrataError.corruption(
                "session window set: \(bytes.count) bytes for \(count) entries; expected \(4 + 32 * count)")
        }
        var set = SessionWindowSet()
        set.entries.reserveCapacity(count)
        for i in 0..<count {
            let o = 4 + 32 * i
            let v = (0..<4).map { Int64(bitPattern: get(o + 8 * $0, 8)) }
            let window = TimeWindow(start: v[0], end: v[1])
            let stateWindow = TimeWindow(start: v[2], end: v[3])
            guard window.start < window.end, stateWindow.start < stateWindow.end,
                window.start <= stateWindow.start, stateWindow.end <= window.end,
                i == 0 || set.entries[i - 1].window.end < window.start
            else {
                throw StrataError.corruption(
                    "session window set: entry \(i) at byte offset \(o) is window [\(v[0]), \(v[1])) with state window [\(v[2]), \(v[3])); expected non-empty windows sorted by start, separated by more than zero ms, each containing its state window")
            }
            set.entries.append(.init(window: window, stateWindow: stateWindow))
        }
        return set
    }
}
