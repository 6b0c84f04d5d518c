import Strata

/// Session windows: the key's `SessionWindowSet` in state, merges through
/// the contents' `merge` (`AggregatingState.mergeNamespaces` or list moves),
/// and timers that follow a growing session lazily.
///
/// Timers. A session's timers are keyed by its *state window* (fixed for
/// its life), at its end − 1 (`M`) or `M + allowedLateness`. A session that
/// grows while `M` is still ahead of the watermark does not move its timer:
/// the old timer fires first and, finding `M` moved on, registers one at the
/// new `M` (which fires in the same watermark call if the watermark already
/// passed it). So an event that extends a session costs no timer write; only
/// new sessions and sessions growing after they fired do. The invariant that
/// makes this correct: every live session has a pending timer at or before
/// `M` while the watermark is below `M`, and at or before `M + lateness`
/// always. A timer whose state window no longer has a session (absorbed by a
/// merge, or cleaned up) is ignored.
extension WindowOperator {
    @usableFromInline
    func addSession(
        _ sessionWindows: SessionWindows, key: Key, stateKey: StateKey, timestamp: Int64, value: Input
    ) throws -> Bool {
        let state = sessions!
        var set = try state.value(for: stateKey) ?? SessionWindowSet()
        let window = sessionWindows.window(for: timestamp)
        if window.maxTimestamp + allowedLateness <= currentWatermark,
            !set.entries.contains(where: { SessionWindows.mergeable($0.window, window) })
        {
            // A late new session. (A session it would join is never late:
            // late sessions were removed by their cleanup timers.)
            return false
        }
        let addition = set.add(window)
        let entry = addition.entry
        let namespace = Namespace.window(entry.stateWindow)
        if !addition.absorbed.isEmpty {
            storedStatistics.sessionMerges += 1
            try contents.merge(addition.absorbed.map { .window($0) }, namespace, stateKey)
        }
        try contents.add(value, stateKey, namespace)
        if addition.previousWindow != entry.window || !addition.absorbed.isEmpty {
            try state.update(set, for: stateKey)
        }
        let maxTimestamp = entry.window.maxTimestamp
        if maxTimestamp > currentWatermark {
            // A new session, or one that had fired: the surviving timers are
            // past the new end (or absent). Otherwise the pending timer at or
            // before the old end will find the new one.
            if let previous = addition.previousWindow, previous.maxTimestamp > currentWatermark {
            } else {
                try register(KeyedTimer(timestamp: maxTimestamp, key: stateKey, namespace: namespace))
            }
        } else {
            if addition.previousWindow == nil {
                try register(KeyedTimer(timestamp: maxTimestamp + allowedLateness, key: stateKey, namespace: namespace))
            }
            try emit(stateKey, key: key, window: entry.window, panes: [namespace], firing: .lateUpdate)
        }
        return true
    }

    /// A timer of the session whose state window is `stateWindow`, at `at`:
    /// before the session's end − 1 `M` it moves on to `M`; at `M` it fires;
    /// between `M` and `M + lateness` it moves on to the cleanup time; at
    /// `M + lateness` it removes the session.
    @usableFromInline
    func onSessionTimer(at timestamp: Int64, key: StateKey, stateWindow: TimeWindow) throws {
        let state = sessions!
        guard var set = try state.value(for: key), let index = set.index(ofStateWindow: stateWindow) else {
            return  // absorbed by a merge or already removed
        }
        let entry = set.entries[index]
        let namespace = Namespace.window(stateWindow)
        let maxTimestamp = entry.window.maxTimestamp
        let cleanupTime = maxTimestamp + allowedLateness
        if timestamp < maxTimestamp {
            try register(KeyedTimer(timestamp: maxTimestamp, key: key, namespace: namespace))
            return
        }
        if timestamp == maxTimestamp {
            try emit(key, window: entry.window, panes: [namespace], firing: .onTime)
        }
        if timestamp < cleanupTime {
            try register(KeyedTimer(timestamp: cleanupTime, key: key, namespace: namespace))
            return
        }
        try contents.clear(key, namespace)
        set.entries.remove(at: index)
        if set.entries.isEmpty {
            try state.clear(for: key)
        } else {
            try state.update(set, for: key)
        }
        storedStatistics.windowsCleared += 1
    }
}
