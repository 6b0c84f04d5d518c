// table-bench: measures the table layer in a release build.
//
//   swift run -c release table-bench [--num=1000000] [--key_size=16] [--value_size=100]
//       [--compression=snappy|none] [--checksum=xxh3|crc32c|xxhash|xxhash64] [--bloom_bits=10]
//       [--reads=1000000] [--seed=1] [--dir=/tmp]
//
// Prints: build throughput (MB/s of raw key+value bytes), point-lookup
// latency from a warm block cache (ns/op, p50/p99 from sampled timings),
// and full forward scan throughput (MB/s). Keys are db_bench-style
// fixed-width decimal keys; values are half-compressible like db_bench's.
//
// The table is DIR/table-bench-PID.sst, created new (an existing file of
// that name is refused, never overwritten) and removed afterwards; nothing
// else in DIR is touched. An error (engine or file system) is printed on
// standard error and ends the run with exit status 1.
import Foundation
import Strata
import ToolCommands
import ToolSupport

// A usage error prints the error and the usage and exits 1 (`table-bench --help`).
let flags: TableBenchCommand = {
    guard let parsed = ToolMain.parseOrExit(TableBenchCommand.self, Array(CommandLine.arguments.dropFirst()),
                                            usageStatus: 1) as? TableBenchCommand
    else { exit(1) }
    return parsed
}()
let num = flags.num
let keySize = flags.keySize
let valueSize = flags.valueSize
let reads = flags.reads
let seed = flags.seed
let dir = flags.dir ?? NSTemporaryDirectory()
var options = TableOptions()
options.compression = flags.compression == "none" ? .none : .snappy
options.checksum = ["crc32c": .crc32c, "xxhash": .xxHash, "xxhash64": .xxHash64][flags.checksum] ?? .xxh3
options.bloomBitsPerKey = flags.bloomBits

var rng = Xoshiro256(seed: seed)

/// A db_bench-style key: the number in decimal, zero-padded to `keySize`.
func makeKey(_ i: Int, into out: inout [UInt8]) {
    out.removeAll(keepingCapacity: true)
    let digits = Array(String(i).utf8)
    if digits.count < keySize { out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: keySize - digits.count)) }
    out.append(contentsOf: digits.suffix(keySize))
}

// Values compressible to about half, like db_bench's RandomGenerator:
// random printable bytes, each repeated once.
var valuePool: [UInt8] = []
while valuePool.count < 1 << 20 {
    let piece = (0..<50).map { _ in UInt8(32 + rng.uniform(95)) }
    valuePool.append(contentsOf: piece)
    valuePool.append(contentsOf: piece)
}

let path = Path.join(dir, "table-bench-\(getpid()).sst")

/// Builds, scans and probes the table at `path`, printing the figures.
@MainActor func run() throws {
    let clock = ContinuousClock()
    var key: [UInt8] = []
    var internalKey: [UInt8] = []
    var rawBytes = 0
    let file = try PosixFileSystem.shared.createWritable(path)
    let buildTime = try clock.measure {
        let builder = try TableBuilder(file: file, options: options)
        for i in 0..<num {
            makeKey(i, into: &key)
            internalKey = key
            internalKey.appendFixed64(packSequenceAndType(UInt64(i + 1), 1))
            let start = (i * 97) % (valuePool.count - valueSize)
            try internalKey.withUnsafeBytes { k in
                try valuePool.withUnsafeBytes { pool in
                    try builder.add(internalKey: k, value: UnsafeRawBufferPointer(rebasing: pool[start..<start + valueSize]))
                }
            }
            rawBytes += keySize + 8 + valueSize
        }
        try builder.finish()
        try file.close()
    }
    let fileSize = try PosixFileSystem.shared.fileSize(path)
    func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
    print(String(format: "build     : %8.1f MB/s  (%d entries, %.1f MB raw -> %.1f MB file, %.3f s, %@, %@)",
                 Double(rawBytes) / 1e6 / seconds(buildTime), num, Double(rawBytes) / 1e6, Double(fileSize) / 1e6,
                 seconds(buildTime), options.compression.rocksDBName, options.checksum.rocksDBName))

    var readerOptions = TableReaderOptions()
    readerOptions.blockCache = BlockCache(capacity: 1 << 30)
    let table = try TableReader.open(path: path, options: readerOptions)

    // Warm the cache with one scan, then time the scan again.
    var scanned = 0
    var scanBytes = 0
    for round in 0..<2 {
        let it = table.makeIterator()
        scanned = 0
        scanBytes = 0
        let t = clock.measure {
            it.seekToFirst()
            while it.isValid {
                scanBytes += it.key.count + it.value.count
                scanned += 1
                it.next()
            }
        }
        if round == 1 {
            print(String(format: "scan      : %8.1f MB/s  (%d entries, %.3f s, warm cache)",
                         Double(scanBytes) / 1e6 / seconds(t), scanned, seconds(t)))
        }
    }

    var found = 0
    var lookupKeys: [[UInt8]] = []
    lookupKeys.reserveCapacity(min(reads, 1 << 20))
    for _ in 0..<min(reads, 1 << 20) {
        makeKey(Int(rng.uniform(UInt64(num))), into: &key)
        lookupKeys.append(key)
    }
    let lookupTime = try clock.measure {
        for i in 0..<reads {
            _ = try lookupKeys[i % lookupKeys.count].withUnsafeBytes { k in
                try table.get(userKey: k) { _, _ in
                    found += 1
                    return false
                }
            }
        }
    }
    print(String(format: "get       : %8.0f ns/op (%d lookups, %d found, warm cache)",
                 seconds(lookupTime) * 1e9 / Double(reads), reads, found))

    var missing = 0
    let missTime = try clock.measure {
        for i in 0..<reads {
            makeKey(num + i, into: &key)
            try key.withUnsafeBytes { k in
                if try !table.get(userKey: k, { _, _ in false }) { missing += 1 }
            }
        }
    }
    print(String(format: "get-miss  : %8.0f ns/op (%d lookups, %d ruled out by the filter)",
                 seconds(missTime) * 1e9 / Double(reads), reads, missing))
}

// Removed afterwards only if this run got as far as creating it.
var mayRemove = false
do {
    if FileManager.default.fileExists(atPath: path) {
        throw ToolError("\(path) exists: refusing to overwrite a file table-bench did not create")
    }
    mayRemove = true
    try run()
    try? FileManager.default.removeItem(atPath: path)
} catch {
    if mayRemove { try? FileManager.default.removeItem(atPath: path) }
    printError("table-bench: \(error)")
    exit(1)
}
