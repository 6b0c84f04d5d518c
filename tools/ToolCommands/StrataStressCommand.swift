// The command line of `strata-stress` (db_stress's flags and spellings) and
// of its crash test (`--crash_test`, as tools/strata-crash-test runs it).
import ArgumentParser

/// `strata-stress`: every number is range-checked here (`--threads=0`,
/// `--duration=abc` are usage errors naming the flag).
public struct StrataStressCommand: ToolCommandLine {
    public static let configuration = CommandConfiguration(
        commandName: "strata-stress",
        abstract: "Random multi-threaded operations with an expected-state oracle (db_stress), and the SIGKILL crash test.",
        usage: """
            strata-stress --db=DIR [--seed=N] [--threads=N] [--keys=N] [--duration=SECONDS] [RUN FLAGS]
            strata-stress --db=DIR --verify_only [--keys=N] [--column_families=N] [--expected_state=FILE]
            strata-stress --crash_test [--cycles=N] [--kill_min_ms=MS] [--kill_max_ms=MS] [--max_seconds=S] [RUN FLAGS]
            """,
        discussion: """
            A run verifies DIR against the expected state, prints "ready", then runs puts, deletes, \
            merges, batches over several column families, range deletions, gets, scans, snapshot \
            reads, flushes, compactions and checkpoints (each checked) on N threads (each owns a key \
            range, in every family) until the duration ends; with --reopen_seconds it closes, \
            reopens and verifies the database that often. Any wrong read or error: exit status 1.

            --verify_only checks DIR against the expected state (after a crash): exit status 0 if \
            nothing acknowledged was lost and no read was wrong, else 3.

            --crash_test repeats: start a run, SIGKILL it after a seeded random delay, verify in a \
            fresh process; prints one line per cycle and "N cycles, L lost acknowledged writes, \
            W wrong reads"; exit status 0 only if both are 0. Without --db it uses (and then \
            removes) a temporary directory.

            Whitebox (a build with -Xswiftc -DSTRATA_KILL_POINTS, which tools/strata-crash-test \
            makes when given --kill_point): --kill_point=NAME|PREFIX|all [--kill_odds=N] makes the \
            run kill itself at a named point of the write path (WAL.append, WAL.sync, WAL.synced, \
            MANIFEST.append, MANIFEST.sync, MANIFEST.synced, Table.finish, Table.synced, \
            CURRENT.rename, CURRENT.renamed) with probability 1/N per pass; "all" takes the next \
            point each cycle.

            --disable_wal is a negative control: a kill then loses acknowledged writes, and the \
            crash test must report them; --split_batches is the atomicity check's: multi-family \
            batches are written as separate writes, a kill tears them, and the crash test must \
            report torn batches. The expected state defaults to DIR.expected. \
            Boolean flags take 0/1 (bare means 1). A usage error (unknown flag, missing or bad \
            value, a number out of range) prints the error and the usage and exits 1.
            """)

    /// The most threads a run takes (the expected state's per-thread
    /// counters: `ExpectedState.maxThreads` in the tool).
    public static let maxThreads = 64

    @Option(name: .customLong("db"), help: ArgumentHelp("The database directory.", valueName: "DIR"))
    public var db: String?
    @Option(name: .customLong("expected_state"), help: ArgumentHelp("The expected-state file (default DIR.expected).", valueName: "FILE"))
    public var expectedState: String?
    @Option(name: .customLong("seed"), help: ArgumentHelp("Random seed (default 1).", valueName: "N"))
    public var seed: UInt64?
    @Option(name: .customLong("threads"), help: ArgumentHelp("Threads, 1...64 (default 4).", valueName: "N"))
    public var threads: Int?
    @Option(name: .customLong("keys"), help: ArgumentHelp("Keys per family, --threads...2147483647 (default 10000).", valueName: "N"))
    public var keys: Int?
    @Option(name: .customLong("duration"), help: ArgumentHelp("Seconds to run (default 60).", valueName: "SECONDS"))
    public var duration: Seconds?
    @Option(name: .customLong("sync_percent"), help: ArgumentHelp("Percent of writes synced, 0...100 (default 5).", valueName: "P"))
    public var syncPercent: Int?
    @Option(name: .customLong("range_deletes"), help: ArgumentHelp("Range deletions (default 1).", valueName: "0|1"))
    public var rangeDeletes: Flag01?
    @Option(name: .customLong("merges"), help: ArgumentHelp("Merges (default 1).", valueName: "0|1"))
    public var merges: Flag01?
    @Option(name: .customLong("checkpoints"), help: ArgumentHelp("Checkpoints (default 1).", valueName: "0|1"))
    public var checkpoints: Flag01?
    @Option(name: .customLong("compaction_style"), help: ArgumentHelp("0 leveled, 1 universal (default 0).", valueName: "0|1"))
    public var compactionStyle: Int?
    @Option(name: .customLong("column_families"), help: ArgumentHelp("Column families, 1...8 (default 2).", valueName: "N"))
    public var columnFamilies: Int?
    @Option(name: .customLong("reopen_seconds"), help: ArgumentHelp("Close, reopen and verify this often (0: never; crash test default 0.7).", valueName: "S"))
    public var reopenSeconds: Seconds?
    @Option(name: .customLong("disable_wal"), help: ArgumentHelp("Write without the WAL (a negative control).", valueName: "0|1"))
    public var disableWAL: Flag01?
    @Option(name: .customLong("split_batches"), help: ArgumentHelp(
        "Write multi-family batches as separate synced writes (a negative control for the atomicity check).", valueName: "0|1"))
    public var splitBatches: Flag01?
    @Option(name: .customLong("enable_compaction_filter"), help: ArgumentHelp("The stress compaction filter in every family (default 0).", valueName: "0|1"))
    public var enableCompactionFilter: Flag01?
    @Option(name: .customLong("verify_only"), help: ArgumentHelp("Only verify (exit 3 on a loss).", valueName: "0|1"))
    public var verifyOnly: Flag01?
    @Option(name: .customLong("crash_test"), help: ArgumentHelp("Run the SIGKILL crash test.", valueName: "0|1"))
    public var crashTest: Flag01?
    @Option(name: .customLong("cycles"), help: ArgumentHelp("Crash test cycles (>= 1, default 10).", valueName: "N"))
    public var cycles: Int?
    @Option(name: .customLong("kill_min_ms"), help: ArgumentHelp("Shortest delay before a kill (default 200).", valueName: "MS"))
    public var killMinMilliseconds: Int?
    @Option(name: .customLong("kill_max_ms"), help: ArgumentHelp("Longest delay before a kill (default 2000).", valueName: "MS"))
    public var killMaxMilliseconds: Int?
    @Option(name: .customLong("max_seconds"), help: ArgumentHelp("Stop the crash test after this long (0: no limit).", valueName: "S"))
    public var maxSeconds: Seconds?
    @Option(name: .customLong("kill_point"), help: ArgumentHelp("Whitebox kill point (a kill-point build).", valueName: "NAME|PREFIX|all"))
    public var killPoint: String?
    @Option(name: .customLong("kill_odds"), help: ArgumentHelp("Kill with probability 1/N per pass (>= 1).", valueName: "N"))
    public var killOdds: Int?

    public init() {}

    public static let booleanFlags: Set<String> = [
        "range_deletes", "merges", "checkpoints", "disable_wal", "split_batches", "enable_compaction_filter", "verify_only", "crash_test",
    ]

    public func validate() throws {
        try checkRange(threads, "threads", 1...Self.maxThreads)
        try checkRange(keys, "keys", (threads ?? 4)...Int(Int32.max))
        try checkRange(syncPercent, "sync_percent", 0...100)
        try checkRange(compactionStyle, "compaction_style", 0...1)
        try checkRange(columnFamilies, "column_families", 1...8)
        try checkRange(cycles, "cycles", 1...Int(Int32.max))
        try checkRange(killMinMilliseconds, "kill_min_ms", 0...Int(Int32.max))
        try checkRange(killMaxMilliseconds, "kill_max_ms", 0...Int(Int32.max))
        try checkRange(killOdds, "kill_odds", 1...Int(Int32.max))
        if db == nil && !crashTest.or(false) { throw ValidationError("--db=DIR is required") }
    }
}
