import Strata
@testable import StrataStreams

/// A straightforward in-memory model of `WindowOperator`'s semantics, for
/// randomized comparison: every (key, window) keeps the list of its values
/// (sliding windows: every window of every event, no panes; sessions: a
/// plain list of sessions per key, merged by scanning). No timers, no
/// engine: windows fire when the watermark crosses their end − 1 and vanish
/// when it reaches end − 1 + lateness.
struct ReferenceWindows {
    enum Output: Hashable, CustomStringConvertible {
        /// (key, window, the window's values sorted, firing)
        case result(key: Int64, window: TimeWindow, values: [Int64], firing: WindowFiring)
        case late(key: Int64, timestamp: Int64, value: Int64)

        var description: String {
            switch self {
            case .result(let k, let w, let v, let f): return "result(\(k), \(w), \(v), \(f))"
            case .late(let k, let t, let v): return "late(\(k), \(t), \(v))"
            }
        }
    }

    let assigner: WindowAssigner
    let lateness: Int64
    private(set) var watermark: Int64 = .min
    /// key → [(window, values)]
    private var windows: [Int64: [(window: TimeWindow, values: [Int64])]] = [:]

    init(assigner: WindowAssigner, lateness: Int64) {
        self.assigner = assigner
        self.lateness = lateness
    }

    private func isLate(_ w: TimeWindow) -> Bool { w.maxTimestamp + lateness <= watermark }

    private func result(_ key: Int64, _ entry: (window: TimeWindow, values: [Int64]), _ firing: WindowFiring) -> Output {
        .result(key: key, window: entry.window, values: entry.values.sorted(), firing: firing)
    }

    mutating func element(key: Int64, timestamp t: Int64, value: Int64) -> [Output] {
        var list = windows[key] ?? []
        var out: [Output] = []
        switch assigner {
        case .tumbling, .sliding:
            let targets: [TimeWindow]
            if case .tumbling(let a) = assigner {
                targets = [a.window(containing: t)]
            } else if case .sliding(let a) = assigner {
                // Every window [s, s + size) with s on the slide grid holding t.
                var starts: [Int64] = []
                var s = t - (t - a.offset).modulo(a.slide)
                while s > t - a.size { starts.append(s); s -= a.slide }
                targets = starts.map { TimeWindow(start: $0, end: $0 + a.size) }
            } else { targets = [] }
            var accepted = false
            for w in targets where !isLate(w) {
                accepted = true
                if let i = list.firstIndex(where: { $0.window == w }) {
                    list[i].values.append(value)
                } else {
                    list.append((w, [value]))
                }
                if w.maxTimestamp <= watermark {
                    out.append(result(key, list.first { $0.window == w }!, .lateUpdate))
                }
            }
            if !accepted { out.append(.late(key: key, timestamp: t, value: value)) }
        case .session(let s):
            let w = TimeWindow(start: t, end: t + s.gap)
            let touching = list.filter { $0.window.start <= w.end && w.start <= $0.window.end }
            if touching.isEmpty && isLate(w) {
                out.append(.late(key: key, timestamp: t, value: value))
                break
            }
            var merged = (window: w, values: [value])
            for other in touching {
                merged.window = TimeWindow(
                    start: min(merged.window.start, other.window.start), end: max(merged.window.end, other.window.end))
                merged.values += other.values
            }
            list.removeAll { $0.window.start <= w.end && w.start <= $0.window.end }
            list.append(merged)
            if merged.window.maxTimestamp <= watermark { out.append(result(key, merged, .lateUpdate)) }
        }
        windows[key] = list
        return out
    }

    mutating func advance(to w: Int64) -> [Output] {
        guard w > watermark else { return [] }
        var out: [Output] = []
        for (key, list) in windows {
            for entry in list where entry.window.maxTimestamp > watermark && entry.window.maxTimestamp <= w {
                out.append(result(key, entry, .onTime))
            }
        }
        watermark = w
        let lateness = self.lateness
        for key in Array(windows.keys) {
            windows[key]!.removeAll { $0.window.maxTimestamp + lateness <= w }
            if windows[key]!.isEmpty { windows[key] = nil }
        }
        return out
    }

    /// Live (key, window) pairs.
    var liveWindowCount: Int { windows.values.reduce(0) { $0 + $1.count } }
}
