import Foundation
import Strata
@testable import StrataStreams

/// A fresh directory under the system temp folder, removed by `remove()`.
struct StateTestDirectory {
    let path: String

    init(_ name: String) {
        path = NSTemporaryDirectory() + "strata-streams-\(name)-\(UUID().uuidString)"
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// SplitMix64: a seeded generator for reproducible tests.
struct StateTestRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A test clock for TTLs: milliseconds set by the test.
final class TestClock: @unchecked Sendable {
    // @unchecked: tests set it between engine calls on one thread; the
    // compaction filter reads it on a background thread, through the lock.
    private let lock = NSLock()
    private var millis: Int64
    init(_ start: Int64) { millis = start }
    var now: Int64 {
        get { lock.withLock { millis } }
        set { lock.withLock { millis = newValue } }
    }
}

extension StateBackendOptions {
    /// Small engine settings for tests.
    static func testing(cacheEntries: Int = 1 << 18, clock: TestClock? = nil) -> StateBackendOptions {
        var options = StateBackendOptions()
        options.engine.writeBufferSize = 1 << 20
        options.writeBackCacheEntries = cacheEntries
        if let clock { options.clock = { clock.now } }
        return options
    }
}
