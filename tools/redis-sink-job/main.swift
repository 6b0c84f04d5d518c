// redis-sink-job: a small exactly-once pipeline job whose results go to a
// Redis cache through RedisEpochCommitter — the job tools/redis-sink-check.sh
// kills and restarts (docs/redis-sink.md).
//
//   redis-sink-job --dir=DIR --redis=HOST:PORT [--prefix=P] [--events=N] [--seed=N]
//                  [--partitions=N] [--checkpoint-ms=N] [--layout=strings|hashes] [--fresh]
//   redis-sink-job --dump --redis=HOST:PORT [--prefix=P] [--layout=strings|hashes]
//
// A run resumes from DIR's latest complete checkpoint (--fresh deletes DIR
// first) and reads seeded page visits: per user, a running visit count
// (stream "totals", a value that changes with every visit) and tumbling 1 s
// visit counts (stream "counts", key "user|window start"). --dump prints
// every row under the prefix as JSON lines sorted by (stream, key).
// Exit status: 0 done, 1 the job failed (message on stderr), 2 bad arguments.
import Foundation
import Strata
import StrataStreams
import StrataStreamsRedis
import StreamsTestSupport

/// The job's visits: visit i is decided by (seed, i) alone (a seekable
/// source) — 500 users, one visit per 2 ms of event time with up to 300 ms
/// of jitter: a denser workload than the tests' `visitGenerator`, kept as
/// it was so the check replays the same events.
func visit(seed: UInt64, index i: UInt64) -> Visit {
    var random = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ i)
    let user = Int64(random.next() % 500)
    let jitter = Int64(random.next() % 300)
    return Visit(user: user, ts: Int64(i) * 2 - jitter)
}

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("redis-sink-job: \(message)\n".utf8))
    exit(status)
}

/// `--name=value` and `--name` arguments.
func parseFlags() -> [String: String] {
    var flags: [String: String] = [:]
    for argument in CommandLine.arguments.dropFirst() {
        guard argument.hasPrefix("--") else { fail("unexpected argument \(argument)", status: 2) }
        let body = argument.dropFirst(2)
        if let eq = body.firstIndex(of: "=") {
            flags[String(body[..<eq])] = String(body[body.index(after: eq)...])
        } else {
            flags[String(body)] = ""
        }
    }
    return flags
}
let flags = parseFlags()
let known: Set = ["dir", "redis", "prefix", "events", "seed", "partitions", "checkpoint-ms", "layout", "fresh", "dump"]
if let unknown = flags.keys.first(where: { !known.contains($0) }) {
    fail("unknown option --\(unknown) (expected --\(known.sorted().joined(separator: " --")))", status: 2)
}
func number(_ flags: [String: String], _ name: String, _ fallback: UInt64) -> UInt64 {
    guard let text = flags[name] else { return fallback }
    guard let value = UInt64(text) else { fail("--\(name)=\(text) is not a number", status: 2) }
    return value
}
guard let address = flags["redis"] else { fail("--redis=HOST:PORT is required", status: 2) }
var sinkOptions = RedisSinkOptions(address: address)
sinkOptions.keyPrefix = flags["prefix"] ?? "visits"
if let layout = flags["layout"] {
    guard let parsed = RedisKeyLayout(rawValue: layout) else { fail("--layout=\(layout): expected strings or hashes", status: 2) }
    sinkOptions.layout = parsed
}

do {
    let sink = try RedisEpochCommitter(options: sinkOptions)
    if flags["dump"] != nil {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Data()
        for row in try sink.contents() {
            out += try encoder.encode(row)
            out.append(UInt8(ascii: "\n"))
        }
        // SIGPIPE is ignored (the committer's doing): a closed stdout is an error to end on quietly.
        try? FileHandle.standardOutput.write(contentsOf: out)
        exit(0)
    }
    guard let dir = flags["dir"] else { fail("--dir=DIR is required", status: 2) }
    if flags["fresh"] != nil { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let seed = number(flags, "seed", 1)
    let events = number(flags, "events", 200_000)
    var options = PipelineOptions(directory: dir)
    options.partitions = Int(number(flags, "partitions", 3))
    options.checkpointInterval = .every(milliseconds: Int64(number(flags, "checkpoint-ms", 200)))
    options.maxOutOfOrderness = 300
    options.watermarkEveryRecords = 200
    options.metricsPrefix = nil
    let source = GeneratorSource<Visit> { i in i < events ? visit(seed: seed, index: i) : nil }
    let pipeline = try Pipeline(options: options, source: source, key: { Int64Codec().encoded($0.user) },
                                timestamp: \.ts, committers: [sink]) { context in try VisitLogic(context) }
    let summary = try pipeline.run()
    print("redis-sink-job: \(summary.records) events, resumed from \(summary.recoveredFromEpoch.map { "checkpoint \($0)" } ?? "nothing"), "
          + "Redis at epoch \(try sink.lastCommittedEpoch())")
} catch {
    fail("\(error)", status: 1)
}
