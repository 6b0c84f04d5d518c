// client-tumbling: a tumbling-window count over a generated stream, built
// as a user's application builds StrataStreams (a SwiftPM dependency, plain
// release build). The same workload as `stream-bench --workload=tumbling`:
//
//   client-tumbling [--events=3000000] [--keys=100000] [--seed=1]
//
// One thread: a deterministic generator (SplitMix64; event time advances
// 1 ms per 1,000 events, minus a uniform disorder below 100 ms, keys
// uniform over --keys) feeds a WindowOperator counting per key in 10 s
// tumbling windows, state in a StateBackend in a temporary directory (WAL
// on, no sync); a bounded-out-of-orderness watermark every 1,000 events, a
// final watermark that fires everything, then a flush. Checks that the
// counts add up, and prints a final line
// `CLIENT-TUMBLING: N events in S s, X events/s, Y events per CPU-second`.
import Foundation
import Strata
import StrataStreams

struct Options {
    var events = 3_000_000
    var keys: UInt64 = 100_000
    var seed: UInt64 = 1

    init(_ arguments: [String]) throws {
        for argument in arguments {
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = UInt64(parts[1].replacingOccurrences(of: "_", with: "")), value > 0
            else { throw StrataError.invalidArgument("client-tumbling: '\(argument)'; expected --events=N, --keys=N or --seed=N (N > 0)") }
            switch parts[0] {
            case "--events": events = Int(value)
            case "--keys": keys = value
            case "--seed": seed = value
            default: throw StrataError.invalidArgument("client-tumbling: unknown flag \(parts[0])")
            }
        }
    }
}

/// SplitMix64: a small deterministic generator (Steele, Lea, Flood 2014).
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func run() throws {
    let options = try Options(Array(CommandLine.arguments.dropFirst()))
    let directory = NSTemporaryDirectory() + "client-tumbling-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let backend = try StateBackend.open(at: directory)
    let op = try WindowOperator(
        name: "tumbling", backend: backend, keyCodec: Int64Codec(), assigner: try .tumbling(size: 10_000),
        aggregate: CountAggregate<Int64>())
    let disorder: Int64 = 100
    var watermarks = try BoundedOutOfOrdernessWatermarks(maxOutOfOrderness: disorder)
    var random = SplitMix64(state: options.seed)
    var total: Int64 = 0

    let clock = ContinuousClock()
    let start = clock.now
    let cpuStart = cpuSeconds()
    for i in 0..<options.events {
        let t = Int64(i / 1_000) - Int64(random.next() % UInt64(disorder))
        let key = Int64(random.next() % options.keys)
        try op.processElement(key: key, timestamp: t, value: 1)
        watermarks.observe(eventTimestamp: t, now: 0)
        if (i + 1) % 1_000 == 0 {
            try op.processWatermark(watermarks.currentWatermark(now: 0))
            for case .result(let r) in op.takeOutput() { total &+= r.value }
        }
    }
    try op.processWatermark(.max)
    for case .result(let r) in op.takeOutput() { total &+= r.value }
    try backend.flush()
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let cpu = cpuSeconds() - cpuStart
    try backend.close()
    guard total == Int64(options.events) else {
        throw StrataError(.corruption, "client-tumbling: window counts add up to \(total), expected \(options.events)")
    }
    print(String(format: "CLIENT-TUMBLING: %d events in %.3f s, %.0f events/s, %.0f events per CPU-second",
                 options.events, seconds, Double(options.events) / seconds, Double(options.events) / cpu))
}

do {
    try run()
} catch {
    FileHandle.standardError.write("client-tumbling: \(error)\n".data(using: .utf8)!)
    exit(1)
}
