// The command line of `strata-demo` (the clickstream demo job).
import ArgumentParser

/// `strata-demo`: every number is range-checked here (`--events=-5`,
/// `--users=0` are usage errors naming the flag; the tool exits 2 on them).
public struct StrataDemoCommand: ToolCommandLine {
    public static let configuration = CommandConfiguration(
        commandName: "strata-demo",
        abstract: "The clickstream demo job: keyed windows, sessions, dedup, a join and a pattern, exactly once to JSON lines and SQLite.",
        discussion: """
            Runs the clickstream job into DIR (resuming from its last checkpoint if DIR holds one). \
            --fresh starts over (removes what the demo wrote in DIR: state/, checkpoints/, outputs/, \
            results.sqlite); --input reads events from a JSON-lines event log instead of the \
            generator; --write_log writes the generated events to a JSON-lines event log and exits; \
            --dump prints the committed output and exits (each partition's JSON-lines rows in \
            commit order, then the SQLite rows sorted); --serve serves /metrics and the live \
            dashboard while the job runs (docs/operations.md). Boolean flags may be given bare. \
            A usage error (unknown flag, missing or bad value, a number out of range) prints the \
            error and the usage on standard error and exits 2; a pipeline or engine error exits 1.
            """)

    @Option(name: .customLong("dir"), help: ArgumentHelp("The job's directory.", valueName: "DIR"))
    public var dir: String = "strata-demo-data"
    @Option(name: .customLong("events"), help: ArgumentHelp("Events to generate (>= 0).", valueName: "N"))
    public var events: Int = 2_000_000
    @Option(name: .customLong("partitions"), help: ArgumentHelp("Partitions, 1...1024.", valueName: "N"))
    public var partitions: Int = 2
    @Option(name: .customLong("seed"), help: ArgumentHelp("Generator seed (>= 0).", valueName: "N"))
    public var seed: Int = 42
    @Option(name: .customLong("users"), help: ArgumentHelp("Users, 1...2147483647.", valueName: "N"))
    public var users: Int = 5_000
    @Option(name: .customLong("checkpoint_ms"), help: ArgumentHelp("Checkpoint interval in ms, 1...2147483647.", valueName: "MS"))
    public var checkpointMilliseconds: Int = 2_000
    @Option(name: .customLong("disorder_ms"), help: ArgumentHelp("Event-time disorder in ms, 0...2147483647.", valueName: "MS"))
    public var disorderMilliseconds: Int = 2_000
    @Option(name: .customLong("late_per_mille"), help: ArgumentHelp("Late events per 1000, 0...1000.", valueName: "N"))
    public var latePerMille: Int = 2
    @Option(name: .customLong("duplicate_per_mille"), help: ArgumentHelp("Duplicate click ids per 1000, 0...1000.", valueName: "N"))
    public var duplicatePerMille: Int = 50
    @Option(name: .customLong("fresh"), help: ArgumentHelp("Start over.", valueName: "0|1"))
    public var fresh: Flag01?
    @Option(name: .customLong("input"), help: ArgumentHelp("Read events from a JSON-lines event log.", valueName: "FILE.jsonl"))
    public var input: String?
    @Option(name: .customLong("write_log"), help: ArgumentHelp("Write the generated events to a JSON-lines log and exit.", valueName: "FILE.jsonl"))
    public var writeLog: String?
    @Option(name: .customLong("dump"), help: ArgumentHelp("Print the committed output and exit.", valueName: "0|1"))
    public var dump: Flag01?
    @Option(name: .customLong("quiet"), help: ArgumentHelp("No progress line.", valueName: "0|1"))
    public var quiet: Flag01?
    @Option(name: .customLong("serve"), help: ArgumentHelp(
        "While the job runs, serve /metrics (Prometheus) and a live dashboard at / on HOST:PORT.", valueName: "HOST:PORT"))
    public var serve: String?

    public init() {}

    public static let booleanFlags: Set<String> = ["fresh", "dump", "quiet"]

    public func validate() throws {
        try checkRange(events, "events", 0...Int.max)
        try checkRange(seed, "seed", 0...Int.max)
        try checkRange(users, "users", 1...Int(Int32.max))
        try checkRange(disorderMilliseconds, "disorder_ms", 0...Int(Int32.max))
        try checkRange(latePerMille, "late_per_mille", 0...1000)
        try checkRange(duplicatePerMille, "duplicate_per_mille", 0...1000)
        try checkRange(partitions, "partitions", 1...1024)
        try checkRange(checkpointMilliseconds, "checkpoint_ms", 1...Int(Int32.max))
    }
}
