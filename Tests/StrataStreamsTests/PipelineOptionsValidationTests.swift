import Foundation
import Testing
@testable import Strata
@testable import StrataStreams

/// `PipelineOptions` and `StateBackendOptions` are validated where they are
/// set (issue 24): an out-of-range value is an `.invalidArgument` naming
/// the option, its value and the range.
@Suite("Pipeline options validation")
struct PipelineOptionsValidationTests {
    @Test("each out-of-range pipeline option is refused by validate(), naming it")
    func pipelineOptionsRefused() throws {
        let cases: [(String, (inout PipelineOptions) -> Void)] = [
            ("partitions", { $0.partitions = 0 }),
            ("partitions", { $0.partitions = 200 }),
            ("maxParallelism", { $0.maxParallelism = 40_000 }),
            ("checkpointInterval.every(milliseconds:)", { $0.checkpointInterval = .every(milliseconds: 0) }),
            ("checkpointInterval.records", { $0.checkpointInterval = .records(-5) }),
            ("checkpointInterval.auto maximum", {
                $0.checkpointInterval = .auto(failuresPerHour: 1, costPerSecond: 1, minimum: 100, maximum: 10)
            }),
            ("checkpointInterval.auto failuresPerHour", {
                $0.checkpointInterval = .auto(failuresPerHour: .nan, costPerSecond: 1, minimum: 1, maximum: 10)
            }),
            ("maxOutOfOrderness", { $0.maxOutOfOrderness = -1 }),
            ("watermarkEveryRecords", { $0.watermarkEveryRecords = 0 }),
            ("batchSize", { $0.batchSize = 0 }),
            ("queueBatches", { $0.queueBatches = -1 }),
            ("writeBackCacheEntries", { $0.backend.writeBackCacheEntries = 0 }),
            ("writeBufferSize", { $0.backend.engine.writeBufferSize = 1 }),
        ]
        for (name, apply) in cases {
            var options = PipelineOptions(directory: "/nonexistent")
            apply(&options)
            do {
                try options.validate()
                Issue.record("validate accepted a bad \(name)")
            } catch {
                #expect(error.kind == .invalidArgument)
                #expect(error.message.contains("invalid option \(name)"), "\(name): \(error)")
            }
        }
        try PipelineOptions(directory: "/nonexistent").validate()
    }

    @Test("StateBackend.open refuses bad backend options before opening anything")
    func backendRefuses() throws {
        var options = StateBackendOptions()
        options.engine.writeBufferSize = 0
        let path = NSTemporaryDirectory() + "/strata-backend-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: StrataError.self) { _ = try StateBackend.open(at: path, options: options) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
