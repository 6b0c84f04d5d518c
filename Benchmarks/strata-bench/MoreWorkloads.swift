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
    /// db_bench `mergerandom`: `num` merges of random keys. The operand is
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
        var key: [UInt8] = []
        var operand: [UInt8] = []
        var progress = Progress(total: flags.num)
        let start = nanoseconds()
        var last = start
        for _ in 0..<flags.num {
            let n = nextRandomKey()
            makeKey(n, keySize: flags.keySize, into: &key)
            if flags.mergeOperator == "uint64add" {
                operand = [1, 0, 0, 0, 0, 0, 0, 0]
            } else {
                nextValue(into: &operand)
            }
            try db.merge(key, operand)
            markLive(n)
            let now = nanoseconds()
            _ = result.latency.record(now - last)
            last = now
            result.operations += 1
            result.bytes += key.count + operand.count
            progress.tick(result.operations)
        }
        result.nanoseconds = nanoseconds() - start
        progress.finish()
        return result
    }

    /// db_bench `readwhilewriting`: random reads on this thread while one
    /// more thread overwrites random keys as fast as it can; reports the
    /// reads (and, in the message, how many writes happened meanwhile).
    func readWhileWriting(_ name: String) throws -> BenchResult {
        guard let db else { throw StrataError(.invalidArgument, "no open database") }
        let state = WriterState()
        let flags = self.flags
        let writerSeed = UInt64(truncatingIfNeeded: nextRandomKey()) &+ 7919
        // A plain thread, not the Swift concurrency pool: it blocks in I/O.
        let writer = Thread {
            var random = KeyRandom(seed: writerSeed)
            var values = ValueGenerator(compressionRatio: flags.compressionRatio, valueSize: flags.valueSize)
            var key: [UInt8] = []
            var value: [UInt8] = []
            while !state.isStopped {
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
            result = try readRandom(name, missing: false)
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
