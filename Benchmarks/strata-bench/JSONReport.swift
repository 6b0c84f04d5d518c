import Foundation
import Strata

/// The figures of one benchmark as `--report=json` writes them.
struct BenchFigures: Codable {
    var name: String
    var operations: Int
    var seconds: Double
    var opsPerSecond: Double
    var microsPerOp: Double
    var p50Micros: Double
    var p99Micros: Double
    var p999Micros: Double
    /// (WAL + flush + compaction bytes) / user bytes during the benchmark.
    var writeAmplification: Double
    /// Bytes written per level / user bytes (L0 = flushes + L0 outputs).
    var writeAmplificationPerLevel: [Double]
    /// Table bytes / `strata.estimate-live-data-size` afterwards.
    var spaceAmplification: Double?
    /// Tables probed, data blocks read (cache or disk), data blocks read
    /// from disk and bytes read from disk, per get (nil: no gets) — the
    /// engine's per-level counters of this database's point lookups.
    var tablesProbedPerGet: Double?
    var blocksReadPerGet: Double?
    var blocksFromDiskPerGet: Double?
    var bytesFromDiskPerGet: Double?
    /// Measured false-positive rate of the bloom filters (nil: no probe of
    /// a table without the key).
    var bloomFalsePositiveRate: Double?
    /// Share of filtered probes the bloom filter ruled out.
    var bloomUsefulRate: Double?
    var stallSeconds: Double
    var stalls: UInt64
    var filesPerLevel: [Int]
    var bytesPerLevel: [UInt64]
    /// Operations completed in each second of the run, all threads
    /// (the last entry covers a partial second).
    var opsPerSecondTimeline: [Int]
}

/// `--report=json`: every benchmark's figures, and the flags that made them.
struct BenchReport: Codable {
    var command: String
    var machine: String
    var seed: UInt64
    var benchmarks: [BenchFigures] = []

    /// Collects the figures of `result` (after its background work ended).
    static func figures(_ r: BenchResult, delta: DatabaseStatistics, now: DatabaseStatistics,
                        sstBytes: UInt64, liveDataEstimate: UInt64) -> BenchFigures {
        let seconds = Double(r.nanoseconds) / 1e9
        let user = Double(max(delta.userBytes, 1))
        var perLevel: [Double] = []
        for level in 0..<delta.compactionBytesWritten.count {
            let written = level == 0 ? delta.flushBytes + delta.compactionBytesWritten[0] : delta.compactionBytesWritten[level]
            perLevel.append(delta.userBytes > 0 ? Double(written) / user : 0)
        }
        let us = { (p: Double) in r.latency.totalCount > 0 ? Double(r.latency.valueAtPercentile(p)) / 1000 : 0 }
        return BenchFigures(
            name: r.name, operations: r.operations, seconds: seconds,
            opsPerSecond: seconds > 0 ? Double(r.operations) / seconds : 0,
            microsPerOp: r.operations > 0 ? seconds * 1e6 / Double(r.operations) : 0,
            p50Micros: us(50), p99Micros: us(99), p999Micros: us(99.9),
            writeAmplification: delta.userBytes > 0 ? delta.writeAmplification : 0,
            writeAmplificationPerLevel: perLevel,
            spaceAmplification: liveDataEstimate > 0 ? Double(sstBytes) / Double(liveDataEstimate) : nil,
            tablesProbedPerGet: delta.gets > 0 ? Double(delta.filesProbed) / Double(delta.gets) : nil,
            blocksReadPerGet: delta.gets > 0 ? Double(delta.getBlocksFromCache + delta.getBlocksFromDisk) / Double(delta.gets) : nil,
            blocksFromDiskPerGet: delta.gets > 0 ? Double(delta.getBlocksFromDisk) / Double(delta.gets) : nil,
            bytesFromDiskPerGet: delta.gets > 0
                ? Double(delta.getBytesFromDisk) / Double(delta.gets) : nil,
            bloomFalsePositiveRate: delta.bloomFalsePositiveRate,
            bloomUsefulRate: delta.bloomUseful + delta.bloomPositive > 0
                ? Double(delta.bloomUseful) / Double(delta.bloomUseful + delta.bloomPositive) : nil,
            stallSeconds: Double(delta.stallNanoseconds) / 1e9, stalls: delta.stalls,
            filesPerLevel: now.filesPerLevel, bytesPerLevel: now.bytesPerLevel,
            opsPerSecondTimeline: r.timeline)
    }

    /// Writes the JSON to `path` and an SVG chart beside it (same name,
    /// `.svg`): per benchmark, ops/s and W-Amp per level as bars.
    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
        let svgPath = (path.hasSuffix(".json") ? String(path.dropLast(5)) : path) + ".svg"
        try Data(svg().utf8).write(to: URL(fileURLWithPath: svgPath))
    }

    /// Three panels: ops/s per benchmark, W-Amp per level per benchmark,
    /// and ops/s over time (one line per benchmark, its seconds end to end).
    func svg() -> String {
        let width = 760.0, panel = 220.0, left = 150.0, barArea = width - left - 30
        var out = #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(width))" height="\#(Int(3 * panel + 90))" font-family="sans-serif" font-size="11">"#
        out += #"<text x="10" y="18" font-size="13">strata-bench \#(escape(command))</text>"#
        let rows = max(benchmarks.count, 1)
        let rowHeight = (panel - 30) / Double(rows)
        let maxOps = benchmarks.map(\.opsPerSecond).max() ?? 1
        out += #"<text x="10" y="42">ops/s</text>"#
        for (i, b) in benchmarks.enumerated() {
            let y = 50 + Double(i) * rowHeight
            let w = maxOps > 0 ? barArea * b.opsPerSecond / maxOps : 0
            out += #"<text x="10" y="\#(y + rowHeight * 0.7)">\#(escape(b.name))</text>"#
            out += ##"<rect x="\##(left)" y="\##(y)" width="\##(w)" height="\##(rowHeight * 0.8)" fill="#4a7ab5"/>"##
            out += #"<text x="\#(left + w + 4)" y="\#(y + rowHeight * 0.7)">\#(Int(b.opsPerSecond))</text>"#
        }
        let top = panel + 50
        let maxAmp = benchmarks.map { $0.writeAmplificationPerLevel.reduce(0, +) }.max() ?? 1
        out += #"<text x="10" y="\#(top - 8)">W-Amp without WAL, stacked by level (L0 dark … L6 light)</text>"#
        for (i, b) in benchmarks.enumerated() {
            let y = top + Double(i) * rowHeight
            out += #"<text x="10" y="\#(y + rowHeight * 0.7)">\#(escape(b.name))</text>"#
            var x = left
            for (level, amp) in b.writeAmplificationPerLevel.enumerated() where amp > 0 {
                let w = maxAmp > 0 ? barArea * amp / maxAmp : 0
                let shade = 60 + level * 25
                out += #"<rect x="\#(x)" y="\#(y)" width="\#(w)" height="\#(rowHeight * 0.8)" fill="rgb(\#(shade),\#(shade + 40),\#(min(255, shade + 110)))"><title>L\#(level) \#(String(format: "%.2f", amp))</title></rect>"#
                x += w
            }
            out += #"<text x="\#(x + 4)" y="\#(y + rowHeight * 0.7)">\#(String(format: "%.2f", b.writeAmplificationPerLevel.reduce(0, +)))</text>"#
        }
        out += timelinePanel(top: 2 * panel + 70, height: panel - 20, left: 60, width: width - 90)
        return out + "</svg>\n"
    }

    /// ops/s over time: the benchmarks' per-second counts laid end to end
    /// (whole seconds only; the last, partial second of each is left out).
    private func timelinePanel(top: Double, height: Double, left: Double, width: Double) -> String {
        let series = benchmarks.map { Array($0.opsPerSecondTimeline.dropLast()) }
        let seconds = series.reduce(0) { $0 + $1.count }
        let peak = series.flatMap { $0 }.max() ?? 0
        var out = #"<text x="10" y="\#(top - 8)">ops/s over time (1 s buckets; peak \#(peak))</text>"#
        out += ##"<rect x="\##(left)" y="\##(top)" width="\##(width)" height="\##(height)" fill="none" stroke="#999"/>"##
        guard seconds > 1, peak > 0 else { return out }
        let dx = width / Double(seconds - 1)
        var t = 0
        for (i, points) in series.enumerated() where !points.isEmpty {
            let x0 = left + Double(t) * dx
            let path = points.enumerated().map { j, n in
                let x = left + Double(t + j) * dx
                let y = top + height - height * Double(n) / Double(peak)
                return (j == 0 ? "M" : "L") + String(format: "%.1f,%.1f", x, y)
            }.joined(separator: " ")
            out += ##"<path d="\##(path)" fill="none" stroke="#4a7ab5" stroke-width="1.5"/>"##
            out += #"<text x="\#(x0 + 2)" y="\#(top + 12)">\#(escape(benchmarks[i].name))</text>"#
            out += ##"<line x1="\##(x0)" y1="\##(top)" x2="\##(x0)" y2="\##(top + height)" stroke="#ccc"/>"##
            t += points.count
        }
        return out
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
