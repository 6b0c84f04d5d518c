import Foundation
import Strata
import Testing
@testable import StrataStreams

@Suite("Operator test harness")
struct HarnessTests {
    /// A user-written operator: emits each event's payload once the watermark passes its timestamp.
    final class EchoOperator: StreamOperator {
        var buffered: [Event<String, Int64>] = []
        var out: [String] = []
        func processElement(_ event: Event<String, Int64>) throws { buffered.append(event) }
        func processWatermark(_ watermark: Int64) throws {
            let due = buffered.filter { $0.timestamp <= watermark }.sorted { $0.timestamp < $1.timestamp }
            buffered.removeAll { $0.timestamp <= watermark }
            out += due.map { "\($0.key)=\($0.payload)" }
        }
        func takeOutput() -> [String] {
            defer { out.removeAll() }
            return out
        }
        var stateNames: [String] { [] }
    }

    @Test("records outputs and watermarks in order; ignores watermarks that do not advance")
    func records() throws {
        let h = try OperatorTestHarness { _ in EchoOperator() }
        defer { try? h.close() }
        try h.processElement(key: "a", timestamp: 5, 1)
        try h.processElement(key: "b", timestamp: 2, 2)
        #expect(try h.processWatermark(3) == ["b=2"])
        #expect(try h.processWatermark(3).isEmpty)
        #expect(try h.processWatermark(10) == ["a=1"])
        let lines = h.records.map { record -> String in
            switch record {
            case .output(let o): return o
            case .watermark(let w): return "W\(w)"
            }
        }
        #expect(lines == ["W3", "b=2", "W10", "a=1"])
        #expect(h.outputs == ["b=2", "a=1"])
    }

    @Test("a watermark generator driven by processing time emits periodic watermarks")
    func generatorAndProcessingTime() throws {
        let generator = try IdleDetectingWatermarks(BoundedOutOfOrdernessWatermarks(maxOutOfOrderness: 10), idleTimeout: 1_000)
        let h = try OperatorTestHarness(watermarkGenerator: generator) { backend in
            try WindowOperator(
                name: "w", backend: backend, keyCodec: StringCodec(), assigner: .tumbling(size: 100),
                aggregate: SumAggregate())
        }
        defer { try? h.close() }
        try h.processElement(key: "k", timestamp: 50, 5)
        try h.processElement(key: "k", timestamp: 105, 7)
        #expect(try h.advanceProcessingTime(to: 200).isEmpty)  // w = 94
        #expect(h.watermark == 94)
        try h.processElement(key: "k", timestamp: 111, 1)
        let fired = try h.advanceProcessingTime(to: 400)  // w = 100 ≥ 99
        #expect(fired.map(\.result?.value) == [5])
        #expect(h.processingTime == 400)
        #expect(h.watermarkGenerator?.isIdle(now: 1_400) == true)
    }

    @Test("close removes the temporary directory; restart keeps state")
    func closeAndRestart() throws {
        let h = try OperatorTestHarness { backend in
            try WindowOperator(
                name: "w", backend: backend, keyCodec: Int64Codec(), assigner: .tumbling(size: 10),
                aggregate: CountAggregate<Int64>())
        }
        try h.processElement(key: 1, timestamp: 1, 0)
        try h.restartFromCheckpoint()
        try h.processElement(key: 1, timestamp: 2, 0)
        #expect(try h.processWatermark(9).map(\.result?.value) == [2])
        let directory = h.directory
        try h.close()
        #expect(!FileManager.default.fileExists(atPath: directory))
    }
}
