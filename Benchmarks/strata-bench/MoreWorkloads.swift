import Foundation
import Strata
import Synchronization

/// What the main thread and the writer thread of `readwhilewriting` share:
/// a stop flag, the writer's count and its error, if any.
final class WriterState: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let count = Atomic<Int>(0)
    private let failure = Mutex<String?>(nil)
    let done = DispatchSemaphore(value: 0)

    func stop() { stopped.store(true, ordering: .releasing) }
    var isStopped: Bool { stopped.load(ordering: .acquiring) }
    func wrote() { count.add(1, ordering: .relaxed) }
    var writes: Int { count.load(ordering: .relaxed) }
    func fail(_ message: String) { failure.withLock { $0 = message } }
    var error: String? { failure.withLock { $0 } }
}

extension Workloads {
    /// db_bench `mergerandom`: each of `--threads` threads merges into
    /// random keys in [0, num), `--reads` times (db_bench's
    /// max(writes, reads); `num` when --reads is not given). The operand is
    /// an 8-byte little-endian 1 under `--merge_operator=uint64add` (a
    /// counter per key), a generated value of `--value_size` bytes under
    /// `stringappend`. Needs `--merge_operator`, as db_bench does.
    func mergeRandom(_ name: String) throws -> BenchResult {
        guard let db else { throw StrataError(.invalidArgument, "no open database") }
        guard flags.mergeOperator != nil else {
            throw StrataError(.invalidArgument, "mergerandom needs --merge_operator=uint64add or stringappend")
        }
        var result = BenchResult(name: name)
        result.baseline = db.statistics()
        let flags = self.flags
        let seeds = benchmarkSeeds
        let count = flags.readCount
        let trackLive = live != nil
        let start = nanoseconds()
        let tally = try runThreads(flags.threads) { thread in
            var tally = ThreadTally()
            if trackLive { tally.live = LiveKeys(count: flags.num) }
            // Drawn as db_bench's MergeRandom draws: a database, then the key.
            var random = Mersenne64(seed: seeds[thread])
            var values = ValueGenerator(compressionRatio: flags.compressionRatio, valueSize: flags.valueSize)
            var key: [UInt8] = []
            var operand: [UInt8] = []
            var timer = OperationTimer(start: start, progressTotal: thread == 0 ? count : 0)
            for _ in 0..<count {
                _ = random.next()
                let n = random.below(flags.num)
                makeKey(n, keySize: flags.keySize, into: &key)
                if flags.mergeOperator == "uint64add" {
                    operand = [1, 0, 0, 0, 0, 0, 0, 0]
                } else {
                    values.next(flags.valueSize, into: &operand)
                }
                try db.merge(key, operand)
                tally.live?.insert(n)
                tally.bytes += key.count + operand.count
                timer.lap(&tally)
            }
            timer.finish()
            return tally
        }
        result.nanoseconds = nanoseconds() - start
        result.take(tally, threads: flags.threads)
        if let merged = tally.live { markLive(merged) }
        result.message = "( updates:\(tally.operations))"
        return result
    }

    /// db_bench `readwhilewriting`: random reads on this thread while one
    /// more thread overwrites random keys as fast as it can; reports the
    /// reads (and, in the message, how many writes happened meanwhile).
    func readWhileWriting(_ name: String) throws -> BenchResult {
        guard let db else { throw StrataError(.invalidArgument, "no open database") }
        let state = WriterState()
        let flags = self.flags
        // db_bench's thread 0 is the writer; the readers come after it.
        let writerSeed = benchmarkSeeds[0]
        // A plain thread, not the Swift concurrency pool: it blocks in I/O.
        let writer = Thread {
            var random = Mersenne64(seed: writerSeed)
            var values = ValueGenerator(compressionRatio: flags.compressionRatio, valueSize: flags.valueSize)
            var key: [UInt8] = []
            var value: [UInt8] = []
            while !state.isStopped {
                _ = random.next()  // db_bench's database choice
                makeKey(random.below(flags.num), keySize: flags.keySize, into: &key)
                values.next(flags.valueSize, into: &value)
                do {
                    try db.put(key, value, options: WriteOptions(disableWAL: flags.disableWAL))
                } catch {
                    state.fail("\(error)")
                    break
                }
                state.wrote()
            }
            state.done.signal()
        }
        writer.start()
        var result: BenchResult
        do {
            result = try readRandom(name, missing: false, readerSeeds: 1)
        } catch {
            state.stop()
            state.done.wait()
            throw error
        }
        state.stop()
        state.done.wait()
        if let message = state.error { throw StrataError(.ioError, "writer thread: \(message)") }
        result.message += " (\(state.writes) writes meanwhile)"
        return result
    }
}
