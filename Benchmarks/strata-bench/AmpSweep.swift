import Foundation
import Strata

/// `ampsweep`: the same fillrandom + overwrite workload under leveled
/// compaction with r = 4 and r = 10 and under universal compaction with two
/// size ratios (1% and 20%), each in a fresh database, and one table of the
/// measured amplification beside the textbook models (benchmarks.md):
/// leveled W-Amp ≈ 1 + r·log_r(N/C₀), S-Amp ≤ (r+1)/(r−1); tiered W-Amp ≈
/// k·log_k(N/C₀), S-Amp ≈ (k+1)/2 with k = the sorted-run trigger
/// (`level0_file_num_compaction_trigger`, 4). N = live user bytes, C₀ = the
/// write buffer. W-Amp is measured over the overwrite phase, without the
/// WAL (the models count compaction rewrites); S-Amp after it.
func runAmpSweep(flags base: BenchFlags, seed: UInt64) throws {
    struct Config {
        var name: String
        var style: Int
        var ratio: Double
        var sizeRatio: Int
    }
    let configs = [
        Config(name: "leveled r=4", style: 0, ratio: 4, sizeRatio: 1),
        Config(name: "leveled r=10", style: 0, ratio: 10, sizeRatio: 1),
        Config(name: "universal ratio=1%", style: 1, ratio: 10, sizeRatio: 1),
        Config(name: "universal ratio=20%", style: 1, ratio: 10, sizeRatio: 20),
    ]
    let k = 4.0  // Options.level0FileNumCompactionTrigger default: runs merged at a time
    print("ampsweep: fillrandom then overwrite of \(base.num) keys per configuration")
    print("configuration          ops/s(ow)  W-Amp  model   S-Amp  model   levels")
    for (i, config) in configs.enumerated() {
        var flags = base
        flags.db = base.db + "-ampsweep-\(i)"
        flags.useExistingDB = false
        flags.compactionStyle = config.style
        flags.maxBytesForLevelMultiplier = config.ratio
        flags.universalSizeRatio = config.sizeRatio
        let workloads = try Workloads(flags: flags, seed: seed)
        guard try workloads.run("fillrandom") != nil, let overwrite = try workloads.run("overwrite"),
              let db = workloads.db else { continue }
        try db.waitForBackgroundWork()
        let now = db.statistics()
        let delta = overwrite.baseline.map { now.since($0) } ?? now
        let user = Double(max(delta.userBytes, 1))
        let wAmp = Double(delta.flushBytes + delta.totalCompactionBytesWritten) / user
        let sst = Double(UInt64(db.property("strata.total-sst-files-size") ?? "") ?? 0)
        let live = Double(UInt64(db.property("strata.estimate-live-data-size") ?? "") ?? 0)
        let sAmp = live > 0 ? sst / live : 0
        let n = Double((workloads.live?.count ?? flags.num) * (flags.keySize + flags.valueSize))
        let c0 = Double(flags.writeBufferSize)
        let levels = max(n / c0, 1)
        let wModel: Double
        let sModel: Double
        if config.style == 0 {
            wModel = 1 + config.ratio * log(levels) / log(config.ratio)
            sModel = (config.ratio + 1) / (config.ratio - 1)
        } else {
            wModel = k * log(levels) / log(k)
            sModel = (k + 1) / 2
        }
        let seconds = Double(overwrite.nanoseconds) / 1e9
        let ops = seconds > 0 ? Int(Double(overwrite.operations) / seconds) : 0
        var layout: [String] = []
        for (level, files) in now.filesPerLevel.enumerated() where files > 0 { layout.append("L\(level):\(files)") }
        print(config.name.padding(toLength: 22, withPad: " ", startingAt: 0)
              + String(format: " %10d  %5.2f  %5.2f   %5.2f  %5.2f   ", ops, wAmp, wModel, sAmp, sModel)
              + layout.joined(separator: " "))
        try workloads.destroy()
    }
}
