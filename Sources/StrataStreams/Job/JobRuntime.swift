import Foundation
import Strata

/// Where one node of a job pushes its elements and watermarks inside a
/// partition: every downstream node subscribes when it is built. Elements
/// carry their event timestamp.
final class Port<Element> {
    var elementHandlers: [(Element, Int64) throws -> Void] = []
    var watermarkHandlers: [(Int64) throws -> Void] = []

    func push(_ element: Element, timestamp: Int64) throws {
        for handler in elementHandlers { try handler(element, timestamp) }
    }

    func watermark(_ watermark: Int64) throws {
        for handler in watermarkHandlers { try handler(watermark) }
    }

    /// Subscribes `elements`, and forwards watermarks to `downstream` after
    /// `watermark` (the operator's own processing of it) has run.
    func subscribe(elements: @escaping (Element, Int64) throws -> Void,
                   watermark: @escaping (Int64) throws -> Void) {
        elementHandlers.append(elements)
        watermarkHandlers.append(watermark)
    }
}

/// One partition's instance of a job: the nodes built for it (once each,
/// by node id, so a stream consumed twice is computed once), its state
/// backend and the collector of the call in progress.
final class JobPartition {
    let context: PartitionContext
    var nodes: [Int: AnyObject] = [:]
    /// The output of the `process`/`processWatermark` call in progress.
    var output = OutputCollector()
    /// Counters of the partition's operators (name → current value).
    var counters: [String: () -> Int] = [:]
    /// The current watermark (`Int64.min` before the first).
    var watermark: Int64 = .min
    let encoder: JSONEncoder

    init(context: PartitionContext) {
        self.context = context
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    var backend: StateBackend { context.backend }

    /// The port of node `id`, built by `build` the first time.
    func port<Element>(_ id: Int, build: () throws -> Port<Element>) throws -> Port<Element> {
        try node(id, build: build)
    }

    /// Node `id` of the partition (a port, a table), built by `build` the first time.
    func node<Node: AnyObject>(_ id: Int, build: () throws -> Node) throws -> Node {
        if let existing = nodes[id] {
            guard let node = existing as? Node else {
                throw StrataError(.invalidArgument, "job: node \(id) was built with another type")
            }
            return node
        }
        let node = try build()
        nodes[id] = node
        return node
    }

    /// Emits `value` as one JSON row of sink stream `stream`.
    func emitRow<Value: Encodable>(stream: String, key: String, value: Value) throws {
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            throw StrataError(.invalidArgument, "job: sink '\(stream)': cannot encode a row as JSON: \(error)")
        }
        output.emit(stream: stream, key: key, value: String(decoding: data, as: UTF8.self))
    }
}

/// The build-time description of a job: node ids, the partition-side
/// installers of its sinks, and how to run it (set by `StreamJob.source`
/// and `keyBy`).
final class JobGraph: @unchecked Sendable {
    // @unchecked: built on one thread before `run`; read-only afterwards.
    private var nextID = 0
    /// Installs each sink (and the nodes it reads from) in a partition.
    var sinks: [(JobPartition) throws -> Void] = []
    /// Names of sinks and side outputs, to reject a name used twice.
    var outputNames: Set<String> = []
    /// Operator names, to reject a state name used twice.
    var operatorNames: Set<String> = []
    /// A mistake found while the job was built, reported by `run`.
    var buildError: StrataError?
    /// The source side: set by `StreamJob.source`.
    var sourceSet = false
    /// The routing key: set by `keyBy` (type-erased `(Record) -> [UInt8]`).
    var routing: Any?
    /// Runs the job as a `Pipeline`; set by `StreamJob.source`.
    var runner: ((PipelineOptions, [any EpochCommitter], PipelineTestHooks) throws -> PipelineSummary)?
    /// The watermark strategy given to `source`.
    var watermarks: WatermarkStrategy?

    func newID() -> Int {
        nextID += 1
        return nextID
    }

    func fail(_ message: String) {
        if buildError == nil { buildError = StrataError(.invalidArgument, "job: " + message) }
    }

    /// A unique operator name: `name` if given (an error if taken), else `kind-<id>`.
    func operatorName(_ name: String?, kind: String, id: Int) -> String {
        let chosen = name ?? "\(kind)-\(id)"
        if chosen.isEmpty || !operatorNames.insert(chosen).inserted {
            fail("operator name '\(chosen)' is empty or used twice")
        }
        return chosen
    }

    func claimOutput(_ name: String) {
        if name.isEmpty || !outputNames.insert(name).inserted { fail("output name '\(name)' is empty or used twice") }
    }
}

/// The `PartitionLogic` a job compiles to: feeds records and watermarks
/// into the partition's root port; the nodes push on to the sinks.
final class JobLogic<Record>: PartitionLogic {
    let partition: JobPartition
    let root: Port<Record>

    init(graph: JobGraph, context: PartitionContext) throws {
        partition = JobPartition(context: context)
        root = Port<Record>()
        partition.nodes[0] = root
        for install in graph.sinks { try install(partition) }
    }

    func process(_ record: Record, timestamp: Int64, output: OutputCollector) throws {
        partition.output = output
        try root.push(record, timestamp: timestamp)
    }

    func processWatermark(_ watermark: Int64, output: OutputCollector) throws {
        partition.output = output
        guard watermark > partition.watermark else { return }
        partition.watermark = watermark
        try root.watermark(watermark)
    }

    /// The operators' counters, and `late events`: the sum of every
    /// `<operator>.late` counter (when the job has one).
    var counters: [String: Int] {
        var values = partition.counters.mapValues { $0() }
        let late = values.filter { $0.key.hasSuffix(".late") }
        if !late.isEmpty { values["late events"] = late.values.reduce(0, +) }
        return values
    }
}

/// A count that a partition's counters read (one partition thread).
final class RunningCount {
    var value = 0
}
