// strata-demo: the demo job (README's main command runs it through
// tools/run-demo.sh), written on the job API (DemoJob.swift). A clickstream
// generator (or a JSON-lines event log) feeds a job keyed by user whose state
// lives in Strata: per-user 1-minute tumbling counts, session windows, dedup
// of click ids, an interval join of clicks to impressions (with the ad's
// campaign from a table) and the failed-login pattern; results go exactly
// once to JSON lines and SQLite; checkpoints are incremental engine
// checkpoints.
//
//   strata-demo [--dir=strata-demo-data] [--events=2000000] [--partitions=2] [--seed=42]
//               [--users=5000] [--checkpoint_ms=2000] [--disorder_ms=2000] [--late_per_mille=2]
//               [--duplicate_per_mille=50] [--fresh] [--input=events.jsonl]
//               [--write_log=events.jsonl] [--dump] [--quiet]
import Foundation
import Strata
import StrataStreams
import StrataServe
import StrataStreamsSQLite
import ToolCommands
import ToolSupport

// The flags and their ranges: ToolCommands/StrataDemoCommand.swift
// (`strata-demo --help`); a usage error exits 2.
let flags: StrataDemoCommand = {
    guard let parsed = ToolMain.parseOrExit(StrataDemoCommand.self, Array(CommandLine.arguments.dropFirst()),
                                            usageStatus: 2) as? StrataDemoCommand
    else { exit(2) }
    return parsed
}()

let dir = flags.dir
var shape = ClickstreamShape()
shape.events = UInt64(flags.events)
shape.seed = UInt64(flags.seed)
shape.users = Int64(flags.users)
shape.disorder = Int64(flags.disorderMilliseconds)
shape.latePerMille = Int64(flags.latePerMille)
shape.duplicatePerMille = Int64(flags.duplicatePerMille)
let partitions = flags.partitions
let quiet = flags.quiet.or(false)

func elapsedSeconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

do {
    if let log = flags.writeLog {
        let writer = try JSONLinesWriter<ClickstreamEvent>(path: log)
        let make = clickstream(shape)
        var i: UInt64 = 0
        while let e = make(i) {
            try writer.append(e)
            i += 1
        }
        try writer.close()
        print("wrote \(i) events to \(log)")
        exit(0)
    }
    if flags.dump.or(false) {
        var lines: [String] = []
        for (p, rows) in try StreamJob.committedOutput(directory: dir).enumerated() {
            for row in rows { lines.append("jsonl part-\(p) \(row.stream) \(row.key) \(row.value)") }
        }
        // Each partition's JSON-lines rows in their commit order (part of
        // what exactly-once promises: tools/exactly-once-check.sh compares
        // it), partition by partition; the SQLite rows, a table, sorted.
        var sqliteLines: [String] = []
        for row in try SQLiteEpochCommitter(path: "\(dir)/results.sqlite").rows() {
            sqliteLines.append("sqlite \(row.stream) \(row.key) \(row.value)")
        }
        for line in lines { print(line) }
        for line in sqliteLines.sorted() { print(line) }
        exit(0)
    }
    if flags.fresh.or(false) {
        // Only what the demo writes: the pipeline's subdirectories and the
        // SQLite results (with SQLite's journal files), never other files.
        try FreshDirectory.clearPipeline(at: dir, force: true, forceFlag: "--fresh")
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: "\(dir)/results.sqlite\(suffix)") }
    }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)

    var options = PipelineOptions(directory: dir)
    options.partitions = partitions
    options.checkpointInterval = .every(milliseconds: Int64(flags.checkpointMilliseconds))
    options.watermarkEveryRecords = 1_000
    options.backend.engine.writeBufferSize = 16 << 20
    let total = shape.events
    if !quiet {
        options.progress = { p in
            let rate = p.seconds > 0 ? Double(p.records) / p.seconds : 0
            writeProgress(String(format: "\r%11llu events  %9.0f events/s  watermark %@  checkpoint %llu   ",
                                 p.records, rate, p.watermark == .min ? "-" : String(p.watermark), p.lastCheckpointEpoch))
        }
    }
    // Said before the run starts (and flushed: a SIGKILL may follow), so a
    // killed run's log shows where it resumed (tools/exactly-once-check.sh
    // checks it): the pipeline restores from the latest complete checkpoint,
    // the highest checkpoints/epoch-E.json.
    let epochs = ((try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/checkpoints")) ?? []).compactMap { name -> UInt64? in
        guard name.hasPrefix("epoch-"), name.hasSuffix(".json") else { return nil }
        return UInt64(name.dropFirst(6).dropLast(5))
    }
    if let latest = epochs.max() { print("strata-demo: restoring from checkpoint \(latest)") } else { print("strata-demo: no checkpoint, starting from the first event") }
    fflush(nil)
    let sqlite = try SQLiteEpochCommitter(path: "\(dir)/results.sqlite")
    let summary: PipelineSummary
    let started = ContinuousClock.now
    let disorder = Duration.milliseconds(shape.disorder)
    func run(_ job: StreamJob) throws -> PipelineSummary {
        // Not `flags.serve.map { … }`: capturing the job and the committer
        // in that closure is a "sending risks data races" error in release
        // builds (region isolation), though debug builds accept it.
        if let address = flags.serve { return try job.run(options, committers: [sqlite], serving: address) }
        return try job.run(options, committers: [sqlite])
    }
    if let input = flags.input {
        let source = try JSONLinesSource<ClickstreamEvent>(path: input, policy: .skip)
        summary = try run(demoJob(source: source, disorder: disorder))
        if source.skippedRecords > 0 {
            print("skipped \(source.skippedRecords) malformed lines; last: \(source.lastSkipError.map { "\($0)" } ?? "")")
        }
    } else {
        summary = try run(demoJob(source: GeneratorSource(clickstream(shape)), disorder: disorder))
    }
    let seconds = elapsedSeconds(ContinuousClock.now - started)
    if !quiet { writeProgress("\r" + String(repeating: " ", count: 90) + "\r") }
    print("strata-demo: \(dir)")
    if let epoch = summary.recoveredFromEpoch { print("  resumed from checkpoint \(epoch)") }
    print(String(format: "  %llu events in %.2f s: %.0f events/s (%d partitions, %llu generated in all)",
                 summary.records, seconds, seconds > 0 ? Double(summary.records) / seconds : 0, partitions, total))
    for (name, value) in demoCounters(summary.counters).sorted(by: { $0.key < $1.key }) { print("  \(name): \(value)") }
    print("  output rows committed this run: \(summary.outputs) (JSON lines in \(dir)/outputs, SQLite \(dir)/results.sqlite)")
    let times = summary.checkpoints.map(\.milliseconds)
    if !times.isEmpty {
        let sorted = times.sorted()
        print(String(format: "  checkpoints: %d, %.1f ms median, %.1f ms max (barrier to commit), %.1f MB of new tables in all",
                     times.count, sorted[sorted.count / 2], sorted.last!,
                     Double(summary.checkpoints.reduce(0) { $0 + $1.newBytes }) / 1_048_576))
    }
    for (p, line) in summary.engineStats.enumerated() { print("  engine part-\(p): \(line)") }
    let rows = try sqlite.rows()
    var perStream: [String: Int] = [:]
    for row in rows { perStream[row.stream, default: 0] += 1 }
    print("  SQLite rows: " + perStream.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
} catch {
    printError("strata-demo: \(error)")
    exit(1)
}

func writeProgress(_ text: String) {
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { raw in _ = write(2, raw.baseAddress!, raw.count) }
}
