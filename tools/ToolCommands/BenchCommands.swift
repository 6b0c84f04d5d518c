// The command lines of `table-bench` and `checkpoint-bench`.
import ArgumentParser

/// `table-bench`: the table layer's build, lookup and scan throughput.
public struct TableBenchCommand: ToolCommandLine {
    public static let configuration = CommandConfiguration(
        commandName: "table-bench",
        abstract: "Measure the table layer: build MB/s, warm point-lookup ns/op, scan MB/s.",
        discussion: """
            Keys are db_bench-style fixed-width decimal keys; values are half-compressible like \
            db_bench's. A usage error (unknown flag, missing or bad value, a number out of range) \
            prints the error and the usage on standard error and exits 1.
            """)

    @Option(name: .customLong("num"), help: ArgumentHelp("Entries, 1...10^12.", valueName: "N")) public var num: Int = 1_000_000
    @Option(name: .customLong("key_size"), help: ArgumentHelp("Key size in bytes, 1...64.", valueName: "N")) public var keySize: Int = 16
    @Option(name: .customLong("value_size"), help: ArgumentHelp("Value size in bytes, 0...65536.", valueName: "N"))
    public var valueSize: Int = 100
    @Option(name: .customLong("compression"), help: ArgumentHelp("Block compression.", valueName: "snappy|none"))
    public var compression: String = "snappy"
    @Option(name: .customLong("checksum"), help: ArgumentHelp("Block checksum.", valueName: "xxh3|crc32c|xxhash|xxhash64"))
    public var checksum: String = "xxh3"
    @Option(name: .customLong("bloom_bits"), help: ArgumentHelp("Bloom bits per key (>= 0).", valueName: "N"))
    public var bloomBits: Double = 10
    @Option(name: .customLong("reads"), help: ArgumentHelp("Point lookups, 1...10^12.", valueName: "N")) public var reads: Int = 1_000_000
    @Option(name: .customLong("seed"), help: ArgumentHelp("Random seed.", valueName: "N")) public var seed: UInt64 = 1
    @Option(name: .customLong("dir"), help: ArgumentHelp("Where the table is written (default the temporary directory).", valueName: "DIR"))
    public var dir: String?

    public init() {}
    public static let booleanFlags: Set<String> = []
    /// The largest `--num` and `--reads`.
    public static let maxCount = 1_000_000_000_000

    public func validate() throws {
        // Bounded so that key numbers (num + reads for absent keys) and
        // value offsets (i * 97) cannot overflow; far beyond any real run.
        try checkRange(num, "num", 1...TableBenchCommand.maxCount)
        try checkRange(keySize, "key_size", 1...64)
        // Values are cut from a 1 MiB pool.
        try checkRange(valueSize, "value_size", 0...(1 << 16))
        try checkChoice(compression, "compression", ["snappy", "none"])
        try checkChoice(checksum, "checksum", ["xxh3", "crc32c", "xxhash", "xxhash64"])
        if !(bloomBits >= 0 && bloomBits <= 1000) { throw rangeError("bloom_bits", bloomBits, expected: "0...1000") }
        try checkRange(reads, "reads", 1...TableBenchCommand.maxCount)
    }
}

/// `checkpoint-bench`: checkpoint and restore cost against database size.
public struct CheckpointBenchCommand: ToolCommandLine {
    public static let configuration = CommandConfiguration(
        commandName: "checkpoint-bench",
        abstract: "Checkpoint and restore cost against database size.",
        discussion: """
            --bounded (CI) runs 8, 32 and 64 MB. A usage error (unknown flag, missing or bad value, \
            a number out of range) prints the error and the usage on standard error and exits 1.
            """)

    @Option(name: .customLong("sizes_mb"), help: ArgumentHelp("Database sizes in MB, each in (0, 1048576], comma-separated (default 256,1024; --bounded 8,32,64).", valueName: "LIST"))
    public var sizesMB: String?
    @Option(name: .customLong("dir"), help: ArgumentHelp(
        "Working directory. The runs go into SIZEmb/ subdirectories, removed afterwards unless --keep; a non-empty directory checkpoint-bench did not make is refused without --fresh, and nothing the benchmark did not create is ever removed.",
        valueName: "DIR"))
    public var dir: String = "/tmp/strata-ckpt-bench"
    @Option(name: .customLong("fresh"), help: ArgumentHelp(
        "Run in a non-empty --dir that checkpoint-bench did not make, beside what is there (nothing in it is removed).",
        valueName: "0|1"))
    public var fresh: Flag01?
    @Option(name: .customLong("value_size"), help: ArgumentHelp("Value size in bytes, 1...65536.", valueName: "N"))
    public var valueSize: Int = 1000
    @Option(name: .customLong("repeats"), help: ArgumentHelp("Repetitions of each measurement (>= 1).", valueName: "N"))
    public var repeats: Int = 5
    @Option(name: .customLong("seed"), help: ArgumentHelp("Random seed.", valueName: "N")) public var seed: UInt64 = 1
    @Option(name: .customLong("bounded"), help: ArgumentHelp("CI sizes: 8, 32 and 64 MB.", valueName: "0|1")) public var bounded: Flag01?
    @Option(name: .customLong("keep"), help: ArgumentHelp("Keep the databases afterwards.", valueName: "0|1")) public var keep: Flag01?

    public init() {}
    public static let booleanFlags: Set<String> = ["bounded", "keep", "fresh"]

    /// The sizes to run, in MB.
    public var sizes: [Double] {
        (sizesMB ?? (bounded.or(false) ? "8,32,64" : "256,1024")).split(separator: ",").compactMap { Double($0) }
    }

    public func validate() throws {
        if let list = sizesMB {
            let parts = list.split(separator: ",", omittingEmptySubsequences: false)
            // At most 2^20 MB (1 TiB): the entry count derived from it must fit an Int.
            guard !parts.isEmpty, parts.allSatisfy({ Double($0).map { $0 > 0 && $0 <= 1_048_576 } ?? false }) else {
                throw rangeError("sizes_mb", list, expected: "numbers of MB in (0, 1048576], comma-separated")
            }
        }
        // Values are cut from a 1 MiB pool.
        try checkRange(valueSize, "value_size", 1...(1 << 16))
        try checkRange(repeats, "repeats", 1...Int(Int32.max))
    }
}
