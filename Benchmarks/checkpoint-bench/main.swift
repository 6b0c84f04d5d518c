// checkpoint-bench: checkpoint and restore cost against database size
// (issue 6: a checkpoint must cost about the same for 0.25, 1 and 4 GB).
// Release build:
//
//   swift build -c release --product checkpoint-bench
//   .build/release/checkpoint-bench --sizes_mb=256,1024,4096 [--dir=/tmp/strata-ckpt-bench]
//       [--value_size=1000] [--repeats=5] [--seed=1] [--keep] [--fresh]
//   .build/release/checkpoint-bench --bounded      # CI: 8, 32 and 64 MB
//
// For each size: fills a fresh database with random-order keys (values
// half-compressible, Snappy), flushes and waits for compactions, then
// measures, all excluding the flush (the memtable is empty when timed):
//   ckpt cold   db.checkpoint(to:) with no parent: links + MANIFEST, and
//               every table read once for its XXH3-64
//   ckpt warm   db.checkpoint(to:) again: links + MANIFEST, checksums
//               remembered by the open database (the steady state of a
//               job checkpointing every few seconds); median and max
//   ckpt +delta a few thousand writes and a flush (not timed), then a
//               checkpoint with the previous manifest as parent that hashes
//               the one new table
//   store first / next   CheckpointStore.create, first and later (table
//               checksums already remembered by the database)
//   restore copy / restore link   CheckpointStore.restore, copying tables
//               (default) or hard-linking them
//
// Each size runs in DIR/SIZEmb/, which the benchmark creates and (unless
// --keep) removes; DIR gets a marker file, .checkpoint-bench. A non-empty
// DIR without the marker is refused unless --fresh, and then nothing in it
// is removed (issue 24). An error (engine or file system) is printed on
// standard error and ends the run with exit status 1.
import Foundation
import Strata
import ToolCommands
import ToolSupport

// A usage error prints the error and the usage and exits 1 (`checkpoint-bench --help`).
let flags: CheckpointBenchCommand = {
    guard let parsed = ToolMain.parseOrExit(CheckpointBenchCommand.self, Array(CommandLine.arguments.dropFirst()),
                                            usageStatus: 1) as? CheckpointBenchCommand
    else { exit(1) }
    return parsed
}()
let sizesMB = flags.sizes
let root = flags.dir
let valueSize = flags.valueSize
let repeats = flags.repeats
let seed = flags.seed
let keep = flags.keep.or(false)
/// The marker file checkpoint-bench writes in a working directory it owns.
let workMarker = ".checkpoint-bench"
/// The name of one size's run directory, and the test for one.
func runName(_ sizeMB: Double) -> String { "\(Int(sizeMB))mb" }
func isRunName(_ name: String) -> Bool {
    name.hasSuffix("mb") && name.count > 2 && name.dropLast(2).allSatisfy { $0.isASCII && $0.isNumber }
}

struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let clock = ContinuousClock()
func ms(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}
func f1(_ x: Double) -> String { String(format: "%.1f", x) }

func directoryBytes(_ path: String) -> UInt64 {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    return names.reduce(0) { total, name in
        let attrs = try? FileManager.default.attributesOfItem(atPath: path + "/" + name)
        return total + ((attrs?[.size] as? NSNumber)?.uint64Value ?? 0)
    }
}

@MainActor func run() throws {
    print("checkpoint-bench: seed \(seed), values \(valueSize) B (Snappy, ~50% compressible), repeats \(repeats)")
    let work = try FreshDirectory.claimWorkDirectory(at: root, marker: workMarker, isRunEntry: isRunName,
                                                     force: flags.fresh.or(false), forceFlag: "--fresh")
    print("size_mb  tables  db_bytes    ckpt_cold_ms  ckpt_warm_ms(med/max)  ckpt_delta_ms  store_first_ms  store_next_ms  restore_copy_ms  restore_link_ms")
    var made: Set<String> = []
    var rng = SplitMix(state: seed)
    var pool: [UInt8] = []
    while pool.count < 1 << 20 {
        let piece = (0..<50).map { _ in UInt8(32 + rng.next() % 95) }
        pool += piece + piece
    }

    for sizeMB in sizesMB {
        // Sizes with the same whole MB share a name: this run's earlier one (kept) goes first.
        if !made.insert(runName(sizeMB)).inserted { try work.removeRunDirectory(runName(sizeMB)) }
        let base = try work.makeRunDirectory(runName(sizeMB))
        var options = Options()
        options.writeBufferSize = 64 << 20
        let db = try Database.open(at: base + "/db", options: options)
        // On-disk bytes per entry are about key + 0.7 × value (measured with Snappy); fill to the target.
        let entries = Int(sizeMB * 1_048_576 / (26 + Double(valueSize) * 0.7))
        var batch = WriteBatch()
        for i in 0..<entries {
            let k = rng.next() % UInt64(entries * 4)
            let key = Array(String(format: "%016llu", k).utf8)
            let offset = Int(rng.next() % UInt64(pool.count - valueSize))
            batch.put(key, Array(pool[offset..<(offset + valueSize)]))
            if i % 100 == 99 {
                try db.write(batch)
                batch = WriteBatch()
            }
        }
        try db.write(batch)
        try db.flush()
        try db.waitForBackgroundWork()

        // Cold: every table hashed.
        var result = CheckpointResult?.none
        let cold = try clock.measure { result = try db.checkpoint(to: base + "/c0") }
        var parent = result!.manifest
        let tableCount = parent.tables.count
        // Warm: plain db.checkpoint(to:); checksums remembered from the first one.
        var warm: [Double] = []
        for r in 1...repeats {
            let d = try clock.measure { result = try db.checkpoint(to: base + "/c\(r)") }
            warm.append(ms(d))
            parent = result!.manifest
        }
        warm.sort()
        // A small delta: new writes and a flush (not timed), then a warm checkpoint.
        for i in 0..<5000 {
            let offset = Int(rng.next() % UInt64(pool.count - valueSize))
            try db.put(Array(String(format: "delta%011d", i).utf8), Array(pool[offset..<(offset + valueSize)]))
        }
        try db.flush()
        var o = CheckpointOptions()
        o.parent = parent
        let delta = try clock.measure { result = try db.checkpoint(to: base + "/cdelta", options: o) }
        let dbBytes = result!.manifest.tables.reduce(UInt64(0)) { $0 + $1.size }

        // Store: first create hashes everything, later ones reuse checksums.
        let store = try CheckpointStore.open(at: base + "/store")
        var m = CheckpointManifest?.none
        let storeCold = try clock.measure { m = try store.create(from: db) }
        var storeWarm: [Double] = []
        for _ in 0..<repeats { storeWarm.append(ms(try clock.measure { m = try store.create(from: db) })) }
        storeWarm.sort()
        let restoreCopy = try clock.measure { try store.restore(id: m!.id, to: base + "/restored-copy") }
        var linkOptions = RestoreOptions()
        linkOptions.hardLinkTables = true
        linkOptions.verifyChecksums = false
        let restoreLink = try clock.measure { try store.restore(id: m!.id, to: base + "/restored-link", options: linkOptions) }
        // The restored database opens and holds the same number of tables.
        let restored = try Database.open(at: base + "/restored-copy", options: options)
        try restored.close()
        store.close()
        try db.close()

        print([
            String(format: "%-8.0f", sizeMB), String(format: "%6d", tableCount), String(format: "%-11llu", dbBytes),
            String(format: "%12.1f", ms(cold)), String(format: "%13.1f/%-8.1f", warm[warm.count / 2], warm.last!),
            String(format: "%13.1f", ms(delta)), String(format: "%13.1f", ms(storeCold)),
            String(format: "%14.1f", storeWarm[storeWarm.count / 2]), String(format: "%16.1f", ms(restoreCopy)),
            String(format: "%16.1f", ms(restoreLink)),
        ].joined(separator: "  "))
        if !keep { try work.removeRunDirectory(runName(sizeMB)) }
    }
    if !keep { work.finish() }
}

do {
    try run()
} catch {
    printError("checkpoint-bench: \(error)")
    exit(1)
}
