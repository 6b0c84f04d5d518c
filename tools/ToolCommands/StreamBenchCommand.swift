// The command line of `stream-bench` (its own dash-separated spellings:
// --watermark-every, --cache-entries, --checkpoint-ms, --sample-every).
import ArgumentParser

/// An integer that may be written with `_` separators (`--events=10_000_000`).
public struct GroupedInteger: ExpressibleByArgument, Equatable, Sendable, CustomStringConvertible {
    /// The number.
    public let value: Int64
    public init(_ value: Int64) { self.value = value }
    public init?(argument: String) {
        guard let v = Int64(argument.filter { $0 != "_" }) else { return nil }
        value = v
    }
    public var description: String { "\(value)" }
}

/// `stream-bench`: the window workloads (tumbling, sliding, session), the
/// Nexmark queries (`--workload=nexmark-qN`) and the traffic spike
/// (`--workload=spike`), each with its own flags.
public struct StreamBenchCommand: ToolCommandLine {
    public static let configuration = CommandConfiguration(
        commandName: "stream-bench",
        abstract: "Window operators over engine-backed state, and Nexmark queries through the pipeline: events/s.",
        usage: """
            stream-bench --workload=tumbling|sliding|session --events=N [--keys=100000] [--rate=1000000]
                [--disorder=100] [--watermark-every=1000] [--seed=1] [--db=DIR [--fresh]] [--cache-entries=262144]
            stream-bench --workload=nexmark-q0|q1|q2|q5|q7|q8|q11|q18 --events=N [--rate=10000000] [--disorder=0]
                [--bound=DISORDER] [--watermark-every=1000] [--partitions=1] [--checkpoint-ms=10000]
                [--output=count|jsonl] [--sample-every=16] [--seed=1] [--dir=DIR [--fresh]] [--cache-entries=262144]
            stream-bench --workload=spike [--spike-seconds=10] [--spike-factor=10] [--base-rate=N (default: calibrated)]
                [--keys=1000] [--partitions=2] [--seed=1]
            stream-bench --workload=latency --rate=R [--events=10*R] [--keys=1000] [--partitions=2]
                [--checkpoint-ms=100] [--disorder=10] [--watermark-ms=50] [--output-checkpoint-ms=N] [--wal=on|off] [--seed=1]
            """,
        discussion: """
            --db=DIR (--dir=DIR) keeps the state there (default: a temporary directory removed at \
            the end); a non-empty DIR holding no database (or pipeline state) is refused unless \
            --fresh, and only database (or state/, checkpoints/, outputs/) files are removed. \
            Numbers may be written with _ separators. A usage error (unknown flag, a flag the \
            workload does not take, missing or bad value, a number out of range) prints the error \
            and the usage and exits 1.
            """)

    /// The Nexmark queries `--workload=nexmark-qN` names.
    public static let nexmarkQueries = ["q0", "q1", "q2", "q5", "q7", "q8", "q11", "q18"]

    @Option(name: .customLong("workload"), help: ArgumentHelp("The workload (default tumbling).", valueName: "WORKLOAD"))
    public var workload: String = "tumbling"
    @Option(name: .customLong("events"), help: ArgumentHelp("Events (> 0).", valueName: "N")) public var events: GroupedInteger?
    @Option(name: .customLong("keys"), help: ArgumentHelp("Window workloads: keys (> 0, default 100000).", valueName: "N"))
    public var keys: GroupedInteger?
    @Option(name: .customLong("rate"), help: ArgumentHelp("Events per event-time second (> 0).", valueName: "N"))
    public var rate: GroupedInteger?
    @Option(name: .customLong("disorder"), help: ArgumentHelp("Event-time lag in ms (windows > 0, default 100; Nexmark >= 0, default 0).", valueName: "MS"))
    public var disorder: GroupedInteger?
    @Option(name: .customLong("bound"), help: ArgumentHelp("Nexmark: watermark bound in ms (>= 0, default the disorder).", valueName: "MS"))
    public var bound: GroupedInteger?
    @Option(name: .customLong("watermark-every"), help: ArgumentHelp("Records between watermarks (> 0, default 1000).", valueName: "N"))
    public var watermarkEvery: GroupedInteger?
    @Option(name: .customLong("partitions"), help: ArgumentHelp("Nexmark: partitions (> 0, default 1).", valueName: "N"))
    public var partitions: GroupedInteger?
    @Option(name: .customLong("checkpoint-ms"), help: ArgumentHelp("Nexmark: checkpoint interval in ms (> 0, default 10000).", valueName: "MS"))
    public var checkpointMilliseconds: GroupedInteger?
    @Option(name: .customLong("output"), help: ArgumentHelp("Nexmark: counting sink or exactly-once JSON lines (default count).", valueName: "count|jsonl"))
    public var output: String?
    @Option(name: .customLong("sample-every"), help: ArgumentHelp("Nexmark: latency sample rate (>= 0, default 16).", valueName: "N"))
    public var sampleEvery: GroupedInteger?
    @Option(name: .customLong("spike-seconds"), help: ArgumentHelp("Spike: seconds of the spike (1...3600, default 10); the run is S s at the base rate, S s at the spike rate, 2S s at the base rate.", valueName: "S"))
    public var spikeSeconds: GroupedInteger?
    @Option(name: .customLong("spike-factor"), help: ArgumentHelp("Spike: the spike rate over the base rate (2...1000, default 10).", valueName: "F"))
    public var spikeFactor: GroupedInteger?
    @Option(name: .customLong("base-rate"), help: ArgumentHelp("Spike: the sustainable rate in events/s (1...100000000, default a fifth of the throughput a calibration run measures).", valueName: "N"))
    public var baseRate: GroupedInteger?
    @Option(name: .customLong("watermark-ms"), help: ArgumentHelp("Latency: timed watermark interval in ms (> 0, default the pipeline's 50).", valueName: "MS"))
    public var watermarkMilliseconds: GroupedInteger?
    @Option(name: .customLong("output-checkpoint-ms"), help: ArgumentHelp("Latency: send a barrier this long after the previous one once output rows are staged (PipelineOptions.outputCheckpointDelay; default off).", valueName: "MS"))
    public var outputCheckpointMilliseconds: GroupedInteger?
    @Option(name: .customLong("wal"), help: ArgumentHelp("Latency: the state engine's write-ahead log (default: the pipeline's, off).", valueName: "on|off"))
    public var wal: String?
    @Option(name: .customLong("seed"), help: ArgumentHelp("Random seed (default 1).", valueName: "N")) public var seed: GroupedInteger?
    @Option(name: .customLong("db"), help: ArgumentHelp("Keep the state in DIR.", valueName: "DIR")) public var db: String?
    @Option(name: .customLong("dir"), help: ArgumentHelp("Nexmark: keep the run in DIR (as --db).", valueName: "DIR")) public var dir: String?
    @Option(name: .customLong("cache-entries"), help: ArgumentHelp("State write-back cache entries (> 0, default 262144).", valueName: "N"))
    public var cacheEntries: GroupedInteger?
    @Option(name: .customLong("fresh"), help: ArgumentHelp("Start over in a non-empty DIR (bare --fresh means 1).", valueName: "0|1"))
    public var fresh: Flag01?

    public init() {}

    public static let booleanFlags: Set<String> = ["fresh"]

    /// `--workload=nexmark-*`.
    public var isNexmark: Bool { workload.hasPrefix("nexmark-") }

    /// `--workload=spike`.
    public var isSpike: Bool { workload == "spike" }

    /// `--workload=latency`.
    public var isLatency: Bool { workload == "latency" }

    public func validate() throws {
        func positive(_ value: GroupedInteger?, _ flag: String) throws {
            if let value, value.value <= 0 { throw rangeError(flag, value, expected: "a positive integer") }
        }
        func nonNegative(_ value: GroupedInteger?, _ flag: String) throws {
            if let value, value.value < 0 { throw rangeError(flag, value, expected: "a non-negative integer") }
        }
        func absent(_ given: Bool, _ flag: String) throws {
            if given {
                throw ValidationError("--\(flag) is not a flag of --workload=\(workload)")
            }
        }
        try positive(events, "events")
        try positive(rate, "rate")
        try positive(watermarkEvery, "watermark-every")
        try positive(cacheEntries, "cache-entries")
        if !isSpike {
            for (given, flag) in [(spikeSeconds != nil, "spike-seconds"), (spikeFactor != nil, "spike-factor"),
                                  (baseRate != nil, "base-rate")] {
                try absent(given, flag)
            }
        }
        if !isLatency {
            try absent(wal != nil, "wal")
            try absent(watermarkMilliseconds != nil, "watermark-ms")
            try absent(outputCheckpointMilliseconds != nil, "output-checkpoint-ms")
        }
        if isLatency {
            try checkRange(rate?.value, "rate", 1...10_000_000)
            try checkRange(keys?.value, "keys", 1...10_000_000)
            try checkRange(partitions?.value, "partitions", 1...64)
            try positive(checkpointMilliseconds, "checkpoint-ms")
            try positive(watermarkMilliseconds, "watermark-ms")
            try positive(outputCheckpointMilliseconds, "output-checkpoint-ms")
            try nonNegative(disorder, "disorder")
            try checkChoice(wal, "wal", ["on", "off"])
            try nonNegative(seed, "seed")
            for (given, flag) in [(bound != nil, "bound"), (watermarkEvery != nil, "watermark-every"),
                                  (output != nil, "output"), (sampleEvery != nil, "sample-every"), (db != nil, "db"),
                                  (dir != nil, "dir"), (cacheEntries != nil, "cache-entries"), (fresh != nil, "fresh")] {
                try absent(given, flag)
            }
        } else if isSpike {
            try checkRange(spikeSeconds?.value, "spike-seconds", 1...3_600)
            try checkRange(spikeFactor?.value, "spike-factor", 2...1_000)
            try checkRange(baseRate?.value, "base-rate", 1...100_000_000)
            try checkRange(keys?.value, "keys", 1...10_000_000)
            try checkRange(partitions?.value, "partitions", 1...64)
            try nonNegative(seed, "seed")
            for (given, flag) in [(events != nil, "events"), (rate != nil, "rate"), (disorder != nil, "disorder"),
                                  (bound != nil, "bound"), (watermarkEvery != nil, "watermark-every"),
                                  (checkpointMilliseconds != nil, "checkpoint-ms"), (output != nil, "output"),
                                  (sampleEvery != nil, "sample-every"), (db != nil, "db"), (dir != nil, "dir"),
                                  (cacheEntries != nil, "cache-entries"), (fresh != nil, "fresh")] {
                try absent(given, flag)
            }
        } else if isNexmark {
            try checkChoice(workload, "workload", Self.nexmarkQueries.map { "nexmark-" + $0 })
            try absent(keys != nil, "keys")
            try nonNegative(disorder, "disorder")
            try nonNegative(bound, "bound")
            try positive(partitions, "partitions")
            try positive(checkpointMilliseconds, "checkpoint-ms")
            try checkChoice(output, "output", ["count", "jsonl"])
            try nonNegative(sampleEvery, "sample-every")
            try nonNegative(seed, "seed")
        } else {
            try checkChoice(workload, "workload", ["tumbling", "sliding", "session", "spike", "latency"] + Self.nexmarkQueries.map { "nexmark-" + $0 })
            try positive(keys, "keys")
            try positive(disorder, "disorder")
            try positive(seed, "seed")
            for (given, flag) in [(bound != nil, "bound"), (partitions != nil, "partitions"),
                                  (checkpointMilliseconds != nil, "checkpoint-ms"), (output != nil, "output"),
                                  (sampleEvery != nil, "sample-every"), (dir != nil, "dir")] {
                try absent(given, flag)
            }
        }
    }
}
