import Foundation
import Strata

/// A table of (key, value) rows that every partition of a job holds whole,
/// in its state (Kafka Streams' `GlobalKTable`; in Flink, broadcast state
/// or a lookup-join table), for enriching elements with `DataStream.lookup`.
/// Declared with `StreamJob.table(_:keyCodec:valueCodec:rows:)`.
///
/// Each partition fills its copy from `rows` the first time the job runs
/// in its directory; checkpoints hold the table, so a restart restores it
/// rather than loading it again (the rows are read once per partition and
/// fresh directory). The table is read-only while the job runs. Reads are
/// point lookups served by the state's write-back cache after the first.
public struct GlobalTable<KeyCodec: StateCodec, ValueCodec: StateCodec> {
    let graph: JobGraph
    let id: Int
    let name: String
    let keyCodec: KeyCodec
    let valueCodec: ValueCodec
    let rows: () throws -> [(KeyCodec.Value, ValueCodec.Value)]

    /// The partition's copy, built and loaded the first time a node asks.
    func table(in partition: JobPartition) throws -> LookupTable<KeyCodec, ValueCodec> {
        try partition.node(id) {
            let table = try LookupTable(backend: partition.backend, name: name, keyCodec: keyCodec, valueCodec: valueCodec)
            try table.loadIfEmpty(rows)
            return table
        }
    }
}

extension StreamJob {
    /// Declares a table every partition holds whole (see `GlobalTable`),
    /// kept in state named `name` (and `<name>/loaded`); `rows` gives its
    /// contents, called once per partition when the partition's state does
    /// not hold the table yet. The name must be unique among the job's
    /// operators and stay the same across restarts.
    public func table<KeyCodec: StateCodec, ValueCodec: StateCodec>(
        _ name: String, keyCodec: KeyCodec, valueCodec: ValueCodec,
        rows: @escaping () throws -> [(KeyCodec.Value, ValueCodec.Value)]
    ) -> GlobalTable<KeyCodec, ValueCodec> {
        let id = graph.newID()
        return GlobalTable(graph: graph, id: id, name: graph.operatorName(name, kind: "table", id: id),
                           keyCodec: keyCodec, valueCodec: valueCodec, rows: rows)
    }
}

extension DataStream {
    /// Enriches each element with the row of `key(element)` in `table`:
    /// `combine(element, value)`, with `nil` for a key the table lacks
    /// (Kafka Streams' `KStream.leftJoin(GlobalKTable, …)`, Flink SQL's
    /// lookup join). The timestamp stays; stateless but for the table.
    public func lookup<KeyCodec, ValueCodec, T>(
        _ table: GlobalTable<KeyCodec, ValueCodec>, key: @escaping (Element) -> KeyCodec.Value,
        _ combine: @escaping (Element, ValueCodec.Value?) throws -> T
    ) -> DataStream<T> {
        if table.graph !== graph { graph.fail("a lookup's table must come from the same job") }
        let upstream = self
        return DataStream<T>(graph: graph, id: graph.newID()) { partition in
            let input = try upstream.port(in: partition)
            let rows = try table.table(in: partition)
            let port = Port<T>()
            input.subscribe(elements: { element, ts in
                try port.push(combine(element, try rows.get(key(element))), timestamp: ts)
            }, watermark: { try port.watermark($0) })
            return port
        }
    }
}
