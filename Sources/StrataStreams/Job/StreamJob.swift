import Foundation
import Strata

/// A streaming job built fluently, in the vocabulary of Flink's DataStream
/// API, that compiles to a `Pipeline` with exactly-once output:
///
/// ```swift
/// let job = StreamJob()
/// job.source(JSONLinesSource<Login>(path: "logins.jsonl"),
///            watermarks: .boundedOutOfOrderness(.seconds(5)), timestamp: \.time)
///     .keyBy(StringCodec()) { $0.user }
///     .pattern(Pattern<Login>.begin("fail") { !$0.success }.times(3)
///                  .followedBy("success") { $0.success }.within(.seconds(60)),
///              afterMatch: .skipPastLastEvent)
///     .map { Alert(user: $0.key, at: $0.events.last?.event.timestamp ?? 0) }
///     .sink("alerts") { $0.user }
/// let summary = try job.run(PipelineOptions(directory: "/tmp/fraud"))
/// ```
///
/// A job has one source and one `keyBy` (records are routed to partitions
/// by their key; there is no re-keying shuffle); keyed operators
/// (`window`, `dedup`, `pattern`, `process`) keep their state in the
/// partition's `StateBackend`, keyed by the key's codec encoding, and
/// watermarks flow from the source through every operator without user
/// code. A stream may feed several operators or sinks. Only nodes that
/// reach a sink run (as in Flink). Sinks write JSON rows
/// (`SinkRecord`): JSON lines per partition, committed per checkpoint,
/// and to any `EpochCommitter` given to `run` (e.g. StrataStreamsSQLite's
/// `SQLiteEpochCommitter`).
///
/// Counters (`PipelineSummary.counters`, summed over partitions, and the
/// metrics `<prefix>_logic_<name>_total` per partition, published at
/// checkpoints; counts of the current run, not of earlier runs):
/// `source.filtered` (records the source stream's `filter` dropped),
/// `<window>.late` and `<window>.fired`, `<dedup>.duplicates`,
/// `<dedup>.stale` and, with a Bloom filter, `<dedup>.lookupsSkipped`,
/// `<pattern>.late`, `<pattern>.matches` and `<pattern>.timeouts`, `<join>.late`,
/// `late events`, the sum of every `.late` counter, and the user-defined
/// counters of process functions, `<process>.<name>`
/// (`ProcessContext.counter(_:)`).
///
/// Thread safety: build a job on one thread, then call `run`; the
/// closures it holds run on the pipeline's partition threads (each
/// partition has its own instances of every operator).
public final class StreamJob {
    let graph = JobGraph()

    /// An empty job.
    public init() {}

    /// Reads `source`, with each record's event time in milliseconds from
    /// `timestamp` and watermarks by `watermarks` (Flink's
    /// `env.fromSource(source, watermarkStrategy)`). One source per job.
    public func source<S: ReplayableSource>(
        _ source: S, watermarks: WatermarkStrategy, timestamp: @escaping (S.Record) -> Int64
    ) -> SourceStream<S.Record, S.Record> {
        let graph = self.graph
        if graph.sourceSet { graph.fail("a job has one source; source(...) was called twice") }
        graph.sourceSet = true
        graph.watermarks = watermarks
        graph.runner = { options, committers, testHooks in
            guard let routing = graph.routing as? (S.Record) -> [UInt8] else {
                throw StrataError(.invalidArgument, "job: the source is never keyed; call keyBy(...) on it")
            }
            let pipeline = try Pipeline(options: options, source: source, key: routing, timestamp: timestamp,
                                        committers: committers) { context in
                try JobLogic<S.Record>(graph: graph, context: context)
            }
            return try pipeline.run(testHooks: testHooks)
        }
        return SourceStream(graph: graph, transform: { $0 })
    }

    /// Runs the job to the end of its source (or `options.maxRecords`),
    /// starting from the latest complete checkpoint in `options.directory`
    /// if there is one (see `Pipeline.run`). The watermark strategy given
    /// to `source` replaces `options.watermarks`. Committed rows:
    /// `Pipeline.committedOutput(directory:)` and each of `committers`.
    /// Throws `.invalidArgument` for a job built wrong (no source, no
    /// `keyBy`, no sink, a name used twice), and what the pipeline throws.
    /// Run a job once: its source object is read from where it is (a
    /// restart after a crash builds the job again, as a new process does).
    @discardableResult
    public func run(_ options: PipelineOptions, committers: [any EpochCommitter] = []) throws -> PipelineSummary {
        try run(options, committers: committers, testHooks: PipelineTestHooks())
    }

    /// `run` with test hooks (simulated crashes).
    package func run(_ options: PipelineOptions, committers: [any EpochCommitter],
                     testHooks: PipelineTestHooks) throws -> PipelineSummary {
        if let error = graph.buildError { throw error }
        guard let runner = graph.runner else { throw StrataError(.invalidArgument, "job: no source; call source(...)") }
        guard !graph.sinks.isEmpty else { throw StrataError(.invalidArgument, "job: no sink; nothing would be written") }
        var options = options
        if let watermarks = graph.watermarks { options.watermarks = watermarks }
        return try runner(options, committers, testHooks)
    }

    /// The rows a job committed in `directory` (its `PipelineOptions.directory`),
    /// per partition in commit order (see `Pipeline.committedOutput`).
    public static func committedOutput(directory: String) throws -> [[SinkRecord]] {
        try EpochOutputs.committedRecords(root: "\(directory)/outputs")
    }
}

/// The records of a job's source before `keyBy`, with stateless
/// `map`/`filter` applied (they run again on the source thread to route
/// each record, so keep them cheap, deterministic and free of side
/// effects). Records the filters drop are counted in `source.filtered`.
public struct SourceStream<Record, Element> {
    let graph: JobGraph
    let transform: (Record) throws -> Element?

    /// Transforms each record.
    public func map<T>(_ body: @escaping (Element) throws -> T) -> SourceStream<Record, T> {
        let transform = self.transform
        return SourceStream<Record, T>(graph: graph) { try transform($0).map(body) }
    }

    /// Keeps the records `isIncluded` accepts.
    public func filter(_ isIncluded: @escaping (Element) throws -> Bool) -> SourceStream<Record, Element> {
        let transform = self.transform
        return SourceStream(graph: graph) { record in
            guard let element = try transform(record), try isIncluded(element) else { return nil }
            return element
        }
    }

    /// Partitions the stream by `key`, stored and routed with `codec`'s
    /// encoding (Flink's `keyBy`, Kafka Streams' `groupByKey`). A key's
    /// events reach one partition in source order, and its state lives in
    /// that partition's key groups. One `keyBy` per job.
    public func keyBy<KeyCodec: StateCodec>(
        _ codec: KeyCodec, _ key: @escaping (Element) -> KeyCodec.Value
    ) -> KeyedStream<KeyCodec, Element> {
        if graph.routing != nil { graph.fail("a job has one keyBy; keyBy(...) was called twice") }
        let transform = self.transform
        let routing: (Record) -> [UInt8] = { record in
            // A record the transforms drop (or fail on) goes anywhere: its
            // partition drops it (or reports the error) again.
            guard let element = try? transform(record) else { return [] }
            return StateKey.storedEncoding(of: key(element), codec: codec)
        }
        graph.routing = routing
        let id = graph.newID()
        return KeyedStream(graph: graph, keyCodec: codec, id: id) { partition in
            let root = try partition.port(0) { Port<Record>() }
            let port = Port<Event<KeyCodec.Value, Element>>()
            let filtered = RunningCount()
            partition.counters["source.filtered"] = { filtered.value }
            root.subscribe(elements: { record, timestamp in
                guard let element = try transform(record) else {
                    filtered.value += 1
                    return
                }
                try port.push(Event(key: key(element), timestamp: timestamp, payload: element), timestamp: timestamp)
            }, watermark: { try port.watermark($0) })
            return port
        }
    }
}
