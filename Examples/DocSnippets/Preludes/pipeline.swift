// What the lower-level Pipeline examples assume: options, a source, the
// routing key, the event time and a PartitionLogic.
import StrataStreams
struct Click: Codable, Sendable { var user: String; var time: Int64 }
final class MyLogic: PartitionLogic {
    init(_ context: PartitionContext) throws {}
    func process(_ record: Click, timestamp: Int64, output: OutputCollector) throws {}
    func processWatermark(_ watermark: Int64, output: OutputCollector) throws {}
}
let options = PipelineOptions(directory: "/tmp/job")
let source = try JSONLinesSource<Click>(path: "/tmp/clicks.jsonl")
let key: (Click) -> [UInt8] = { Array($0.user.utf8) }
let timestamp: (Click) -> Int64 = { $0.time }
let secret: String? = nil
