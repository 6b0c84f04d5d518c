import Foundation
import Strata
import Testing
@testable import StrataStreams

/// The window operator against `ReferenceWindows` on random streams with
/// disorder and lateness: after every event and every watermark, the
/// operator's outputs (results and late events, as multisets) equal the
/// reference's; after the final watermark, the operator's state key ranges
/// are empty (a scan).
@Suite("Window operator vs in-memory reference")
struct WindowReferenceTests {
    /// One random configuration and stream.
    struct Scenario: CustomStringConvertible {
        var assigner: WindowAssigner
        var lateness: Int64
        var keys: Int64
        var events: Int
        var description: String { "\(assigner), lateness \(lateness), \(keys) keys, \(events) events" }
    }

    static func scenario(seed: UInt64, kind: Int) throws -> Scenario {
        var random = StateTestRandom(seed: seed)
        let assigner: WindowAssigner
        switch kind {
        case 0:
            let size = Int64.random(in: 5...40, using: &random)
            assigner = try .tumbling(size: size, offset: Int64.random(in: 0..<size, using: &random))
        case 1:
            let slide = Int64.random(in: 2...12, using: &random)
            let size = slide * Int64.random(in: 1...4, using: &random) + (Bool.random(using: &random) ? 0 : slide / 2)
            assigner = try .sliding(size: size, slide: slide, offset: Int64.random(in: 0..<slide, using: &random))
        default:
            assigner = try .session(gap: Int64.random(in: 2...15, using: &random))
        }
        let lateness: Int64 = Bool.random(using: &random) ? 0 : Int64.random(in: 1...30, using: &random)
        return Scenario(
            assigner: assigner, lateness: lateness, keys: Int64.random(in: 1...6, using: &random),
            events: Int.random(in: 150...400, using: &random))
    }

    /// Runs one seed: the operator built by `make` against the reference,
    /// with `expected` mapping a window's sorted values to the operator's value.
    func run<Value: Equatable>(
        seed: UInt64, kind: Int, label: String,
        make: @escaping (StateBackend, Scenario) throws -> WindowOperator<Int64Codec, Int64, Value>,
        expected: ([Int64]) -> Value
    ) throws {
        let scenario = try Self.scenario(seed: seed, kind: kind)
        print("WindowReferenceTests \(label) seed \(seed): \(scenario)")
        let harness = try OperatorTestHarness(options: .testing()) { try make($0, scenario) }
        defer { try? harness.close() }
        var reference = ReferenceWindows(assigner: scenario.assigner, lateness: scenario.lateness)
        var random = StateTestRandom(seed: seed &* 31 &+ 7)
        var generator = try BoundedOutOfOrdernessWatermarks(maxOutOfOrderness: Int64.random(in: 0...6, using: &random))
        var base: Int64 = Int64.random(in: -200...200, using: &random)

        func check(_ actual: [WindowOutput<Int64, Int64, Value>], _ wanted: [ReferenceWindows.Output], _ step: String)
            -> Bool
        {
            // Compare as multisets: render the reference's values through `expected`.
            func render(_ o: ReferenceWindows.Output) -> String {
                switch o {
                case .result(let k, let w, let v, let f): return "R \(k) \(w) \(expected(v)) \(f)"
                case .late(let k, let t, let v): return "L \(k) \(t) \(v)"
                }
            }
            func render(_ o: WindowOutput<Int64, Int64, Value>) -> String {
                switch o {
                case .result(let r): return "R \(r.key) \(r.window) \(r.value) \(r.firing)"
                case .late(let e): return "L \(e.key) \(e.timestamp) \(e.payload)"
                }
            }
            let a = actual.map(render).sorted()
            let b = wanted.map(render).sorted()
            #expect(a == b, "seed \(seed) \(label) \(scenario) at \(step)")
            return a == b
        }

        for index in 0..<scenario.events {
            base += Int64.random(in: 0...3, using: &random)
            let roll = Int.random(in: 0..<100, using: &random)
            let t = base - (roll < 80 ? Int64.random(in: 0...8, using: &random) : Int64.random(in: 0...60, using: &random))
            let key = Int64.random(in: 0..<scenario.keys, using: &random)
            let value = Int64.random(in: -50...50, using: &random)
            generator.observe(eventTimestamp: t, now: 0)
            let got = try harness.processElement(key: key, timestamp: t, value)
            let want = reference.element(key: key, timestamp: t, value: value)
            guard check(got, want, "event \(index) (key \(key), t \(t))") else { return }
            if Int.random(in: 0..<5, using: &random) == 0 {
                let w = generator.currentWatermark(now: 0)
                let got = try harness.processWatermark(w)
                let want = reference.advance(to: w)
                guard check(got, want, "watermark \(w) after event \(index)") else { return }
                let ends = got.compactMap { $0.result?.window.end }
                #expect(ends == ends.sorted(), "seed \(seed): results of one watermark in window-end order")
            }
            if index == scenario.events / 2 && seed % 4 == 0 {
                // Halfway, for some seeds: restart from a checkpoint.
                try harness.restartFromCheckpoint()
            }
        }
        let got = try harness.processWatermark(.max)
        let want = reference.advance(to: .max)
        _ = check(got, want, "final watermark")
        #expect(reference.liveWindowCount == 0)
        let counts = try harness.stateEntryCounts()
        #expect(counts.values.allSatisfy { $0 == 0 }, "seed \(seed) \(label): state left behind \(counts)")
    }

    static let seeds: [UInt64] = Array(1...40)

    @Test("sum aggregate equals the reference", arguments: [0, 1, 2])
    func sumAggregate(kind: Int) throws {
        for seed in Self.seeds {
            try run(
                seed: seed, kind: kind, label: "sum",
                make: { backend, s in
                    try WindowOperator(
                        name: "w", backend: backend, keyCodec: Int64Codec(), assigner: s.assigner,
                        allowedLateness: s.lateness, aggregate: SumAggregate())
                },
                expected: { $0.reduce(0, +) })
        }
    }

    @Test("full-window function over the list state equals the reference", arguments: [0, 1, 2])
    func fullWindowList(kind: Int) throws {
        for seed in Self.seeds.prefix(20) {
            try run(
                seed: seed &+ 1000, kind: kind, label: "list",
                make: { backend, s in
                    try WindowOperator(
                        name: "w", backend: backend, keyCodec: Int64Codec(), assigner: s.assigner,
                        allowedLateness: s.lateness, elementCodec: Int64Codec(),
                        process: { _, _, elements in elements.sorted() })
                },
                expected: { $0 })
        }
    }
}
