import Foundation
import Strata
import Testing
@testable import StrataStreams

private typealias Interval = IntervalJoinOperator<Int64Codec, StringCodec, Int64Codec>
private typealias Windowed = WindowJoinOperator<Int64Codec, StringCodec, Int64Codec>
private typealias Output = JoinOutput<Int64, String, Int64>

/// Drives a two-input operator over one backend in a temp directory, with
/// restart from a checkpoint (as the single-input harness does).
private final class JoinHarness<Op: TwoInputStreamOperator> {
    let dir = StateTestDirectory("join")
    var backend: StateBackend
    var op: Op
    let make: (StateBackend) throws -> Op
    var outputs: [Op.Output] = []
    var watermark = Int64.min
    var restarts = 0

    init(_ make: @escaping (StateBackend) throws -> Op) throws {
        self.make = make
        backend = try StateBackend.open(at: dir.path + "/state", options: .testing(cacheEntries: 64))
        op = try make(backend)
    }

    func left(_ e: Event<Op.Key, Op.Left>) throws { try op.processLeft(e); outputs += op.takeOutput() }
    func right(_ e: Event<Op.Key, Op.Right>) throws { try op.processRight(e); outputs += op.takeOutput() }
    func advance(_ w: Int64) throws {
        watermark = max(watermark, w)
        try op.processWatermark(w)
        outputs += op.takeOutput()
    }

    func restart() throws {
        restarts += 1
        let path = dir.path + "/checkpoint-\(restarts)"
        try backend.checkpoint(to: path)
        try backend.close()
        backend = try StateBackend.open(at: path, options: .testing(cacheEntries: 64))
        op = try make(backend)
        if watermark > .min { try op.processWatermark(watermark) }
        outputs += op.takeOutput()
    }

    func stateEntries() throws -> Int {
        try backend.flush()
        return try op.stateNames.reduce(0) { $0 + (try backend.entryCount(ofStateNamed: $1)) }
    }

    func close() {
        try? backend.close()
        dir.remove()
    }
}

private func sorted(_ outputs: [Output]) -> [String] { outputs.map { String(describing: $0) }.sorted() }

@Suite struct JoinTests {
    @Test func intervalJoinEmitsAsSoonAsBothSidesArePresentAndPrunes() throws {
        let h = try JoinHarness<Interval> { backend in
            try Interval(backend: backend, name: "ij", keyCodec: Int64Codec(), leftCodec: StringCodec(),
                         rightCodec: Int64Codec(), lower: -5, upper: 10, joinType: .leftOuter)
        }
        defer { h.close() }
        try h.left(Event(key: 1, timestamp: 100, payload: "click"))
        #expect(h.outputs.isEmpty)
        try h.right(Event(key: 1, timestamp: 96, payload: 7))          // 100 − 5 ≤ 96: match at once
        try h.right(Event(key: 1, timestamp: 111, payload: 8))         // beyond 100 + 10
        try h.right(Event(key: 2, timestamp: 100, payload: 9))         // other key
        #expect(h.outputs == [.joined(left: Event(key: 1, timestamp: 100, payload: "click"),
                                      right: Event(key: 1, timestamp: 96, payload: 7), window: nil)])
        try h.left(Event(key: 3, timestamp: 200, payload: "lonely"))
        try h.advance(150)
        try h.right(Event(key: 1, timestamp: 140, payload: 1))         // late
        #expect(h.outputs.last == .lateRight(Event(key: 1, timestamp: 140, payload: 1)))
        try h.advance(210)                                             // 200 + 10: "lonely" can no longer match
        #expect(h.outputs.last == .unmatchedLeft(Event(key: 3, timestamp: 200, payload: "lonely"), window: nil))
        try h.advance(.max - 1)
        #expect(try h.stateEntries() == 0)
    }

    @Test(arguments: [JoinType.inner, .leftOuter])
    func intervalJoinMatchesTheReference(joinType: JoinType) throws {
        for seed: UInt64 in 1...6 {
            print("seed \(seed)")
            var random = StateTestRandom(seed: seed)
            let lower = Int64.random(in: -50...20, using: &random)
            let upper = lower + Int64.random(in: 0...60, using: &random)
            let h = try JoinHarness<Interval> { backend in
                try Interval(backend: backend, name: "ij", keyCodec: Int64Codec(), leftCodec: StringCodec(),
                             rightCodec: Int64Codec(), lower: lower, upper: upper, joinType: joinType)
            }
            defer { h.close() }
            var lefts: [Event<Int64, String>] = []
            var rights: [Event<Int64, Int64>] = []
            var expected: [Output] = []
            var maxSeen: Int64 = 0
            var watermark = Int64.min
            for step in 0..<1_200 {
                let ts = maxSeen - Int64.random(in: 0...40, using: &random) + Int64.random(in: 0...5, using: &random)
                maxSeen = max(maxSeen, ts)
                let key = Int64.random(in: 0..<8, using: &random)
                if Bool.random(using: &random) {
                    let e = Event(key: key, timestamp: ts, payload: "l\(step)")
                    if ts <= watermark { expected.append(.lateLeft(e)) } else { lefts.append(e) }
                    try h.left(e)
                } else {
                    let e = Event(key: key, timestamp: ts, payload: Int64(step))
                    if ts <= watermark { expected.append(.lateRight(e)) } else { rights.append(e) }
                    try h.right(e)
                }
                if Int.random(in: 0..<15, using: &random) == 0 {
                    watermark = max(watermark, maxSeen - 30)
                    try h.advance(maxSeen - 30)
                }
                if step == 600 { try h.restart() }
            }
            try h.advance(.max - 1)
            for a in lefts {
                var matched = false
                for b in rights where b.key == a.key && a.timestamp + lower <= b.timestamp && b.timestamp <= a.timestamp + upper {
                    expected.append(.joined(left: a, right: b, window: nil))
                    matched = true
                }
                if !matched && joinType == .leftOuter { expected.append(.unmatchedLeft(a, window: nil)) }
            }
            #expect(sorted(h.outputs) == sorted(expected), "seed \(seed)")
            #expect(try h.stateEntries() == 0)
        }
    }

    @Test(arguments: [JoinType.inner, .leftOuter])
    func windowJoinMatchesTheReference(joinType: JoinType) throws {
        for seed: UInt64 in 1...6 {
            print("seed \(seed)")
            var random = StateTestRandom(seed: seed)
            let assigner: WindowAssigner = seed % 2 == 0 ? try .tumbling(size: 50) : try .sliding(size: 60, slide: 20)
            let h = try JoinHarness<Windowed> { backend in
                try Windowed(backend: backend, name: "wj", keyCodec: Int64Codec(), leftCodec: StringCodec(),
                             rightCodec: Int64Codec(), assigner: assigner, joinType: joinType)
            }
            defer { h.close() }
            func windows(_ t: Int64) -> [TimeWindow] {
                switch assigner {
                case .tumbling(let w): [w.window(containing: t)]
                case .sliding(let w): w.windows(containing: t)
                case .session: []
                }
            }
            struct Cell { var lefts: [Event<Int64, String>] = []; var rights: [Event<Int64, Int64>] = [] }
            var cells: [String: (Int64, TimeWindow, Cell)] = [:]
            var expected: [Output] = []
            var maxSeen: Int64 = 0
            var watermark = Int64.min
            for step in 0..<1_000 {
                let ts = maxSeen - Int64.random(in: 0...40, using: &random) + Int64.random(in: 0...5, using: &random)
                maxSeen = max(maxSeen, ts)
                let key = Int64.random(in: 0..<6, using: &random)
                let open = windows(ts).filter { $0.maxTimestamp > watermark }
                let isLeft = Bool.random(using: &random)
                if isLeft {
                    let e = Event(key: key, timestamp: ts, payload: "l\(step)")
                    if open.isEmpty { expected.append(.lateLeft(e)) }
                    for w in open { cells["\(key)/\(w)", default: (key, w, Cell())].2.lefts.append(e) }
                    try h.left(e)
                } else {
                    let e = Event(key: key, timestamp: ts, payload: Int64(step))
                    if open.isEmpty { expected.append(.lateRight(e)) }
                    for w in open { cells["\(key)/\(w)", default: (key, w, Cell())].2.rights.append(e) }
                    try h.right(e)
                }
                if Int.random(in: 0..<15, using: &random) == 0 {
                    watermark = max(watermark, maxSeen - 30)
                    try h.advance(maxSeen - 30)
                }
                if step == 500 { try h.restart() }
            }
            try h.advance(.max - 1)
            for (_, (_, w, cell)) in cells {
                for l in cell.lefts {
                    if cell.rights.isEmpty {
                        if joinType == .leftOuter { expected.append(.unmatchedLeft(l, window: w)) }
                    }
                    for r in cell.rights { expected.append(.joined(left: l, right: r, window: w)) }
                }
            }
            #expect(sorted(h.outputs) == sorted(expected), "seed \(seed)")
            #expect(try h.stateEntries() == 0)
        }
    }
}
