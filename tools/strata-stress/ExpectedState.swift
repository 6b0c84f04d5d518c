import Glibc
import Strata

/// The expected state of every key, in a file mapped `MAP_SHARED`, so it
/// survives a SIGKILL of the process that writes it (the kernel keeps the
/// page cache) — RocksDB db_stress's `ExpectedState`.
///
/// Each key has one 64-bit slot, stored with a single aligned store (a kill
/// cannot tear it):
///
/// * bits 0–29: generation of the committed state; bit 30: the key exists;
/// * bit 31: a write is in flight (pending);
/// * bits 32–61: generation of the pending state; bit 62: it exists.
///
/// A write first marks its keys pending with their new state, then writes
/// to the database, then commits (new state, not pending). After a crash a
/// pending key may hold either state; any other key must hold exactly its
/// committed one. Generations only grow, and a value is a function of
/// (key, generation), so a stale or foreign value is recognised.
///
/// The header holds a magic number, the key count, and per-thread counters
/// of acknowledged writes (each thread writes only its own slot).
final class ExpectedState: @unchecked Sendable {
    // @unchecked: each key's slot is written by the one thread that owns
    // the key; the counters by their own thread; the mapping is fixed.
    static let magic: UInt64 = 0x5354_5241_5441_4553  // "STRATAES"
    static let headerSlots = 72
    static let maxThreads = 64

    let keys: Int
    private let base: UnsafeMutablePointer<UInt64>
    private let length: Int

    struct Entry: Equatable {
        var generation: UInt32
        var exists: Bool

        static let absent = Entry(generation: 0, exists: false)
    }

    /// Maps `path`, creating it for `keys` keys if it is absent or empty.
    /// Throws if it exists for another key count.
    init(path: String, keys: Int) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StressError("cannot open expected state \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        length = (Self.headerSlots + keys) * 8
        var st = stat()
        fstat(fd, &st)
        let fresh = st.st_size == 0
        if fresh, ftruncate(fd, off_t(length)) != 0 {
            throw StressError("cannot size expected state \(path): \(String(cString: strerror(errno)))")
        } else if !fresh && Int(st.st_size) != length {
            throw StressError("expected state \(path) has \(st.st_size) bytes, not \(length) for --keys=\(keys)")
        }
        guard let map = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), map != MAP_FAILED else {
            throw StressError("cannot map expected state \(path): \(String(cString: strerror(errno)))")
        }
        base = map.bindMemory(to: UInt64.self, capacity: Self.headerSlots + keys)
        self.keys = keys
        if fresh {
            base[0] = Self.magic
            base[1] = UInt64(keys)
        } else if base[0] != Self.magic || base[1] != UInt64(keys) {
            throw StressError("\(path) is not an expected-state file for \(keys) keys")
        }
    }

    deinit { munmap(base, length) }

    private func slot(_ key: Int) -> UnsafeMutablePointer<UInt64> { base + Self.headerSlots + key }

    private static func pack(_ e: Entry) -> UInt64 {
        UInt64(e.generation & 0x3FFF_FFFF) | (e.exists ? 1 << 30 : 0)
    }

    private static func unpack(_ bits: UInt64) -> Entry {
        Entry(generation: UInt32(bits & 0x3FFF_FFFF), exists: bits & (1 << 30) != 0)
    }

    /// The committed state and the pending one (nil when no write is in flight).
    func load(_ key: Int) -> (committed: Entry, pending: Entry?) {
        let bits = slot(key).pointee
        let committed = Self.unpack(bits & 0x7FFF_FFFF)
        guard bits & (1 << 31) != 0 else { return (committed, nil) }
        return (committed, Self.unpack(bits >> 32))
    }

    /// Marks a write of `key` to `next` in flight.
    func setPending(_ key: Int, _ next: Entry) {
        let committed = slot(key).pointee & 0x7FFF_FFFF
        slot(key).pointee = committed | (1 << 31) | (Self.pack(next) << 32)
    }

    /// Records `entry` as the key's committed state, nothing in flight.
    func commit(_ key: Int, _ entry: Entry) {
        slot(key).pointee = Self.pack(entry)
    }

    /// The next state for a write: one generation up.
    func next(_ key: Int, exists: Bool) -> Entry {
        let (committed, pending) = load(key)
        let generation = max(committed.generation, pending?.generation ?? 0) + 1
        return Entry(generation: generation & 0x3FFF_FFFF, exists: exists)
    }

    /// Adds `count` to thread `thread`'s counter of acknowledged writes.
    func countAcknowledged(thread: Int, _ count: Int) {
        base[8 + thread] &+= UInt64(count)
    }

    /// Acknowledged writes over all threads and runs.
    var acknowledgedTotal: UInt64 {
        (0..<Self.maxThreads).reduce(0) { $0 &+ base[8 + $1] }
    }

    // MARK: Keys and values

    /// `key00001234`: fixed width, so byte order is numeric order.
    static func keyBytes(_ key: Int) -> [UInt8] {
        let digits = String(key)
        return Array(("key" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits).utf8)
    }

    /// The value of `key` at `generation`: "g<generation>:" then 0–99
    /// bytes derived from both.
    static func value(_ key: Int, _ generation: UInt32) -> [UInt8] {
        var rng = SplitMix64(seed: UInt64(key) << 32 | UInt64(generation))
        var out = Array("g\(generation):".utf8)
        let extra = Int(rng.next() % 100)
        for _ in 0..<extra { out.append(UInt8(truncatingIfNeeded: rng.next() | 0x20)) }
        return out
    }

    /// The state a stored value stands for; nil if it is not a value this
    /// tool could have written for `key` (a wrong read).
    /// With the compaction filter on, `f<generation>:…` is the value of
    /// that generation as the filter changed it (`StressCompactionFilter`),
    /// for the generations it changes only.
    static func decode(_ key: Int, _ value: [UInt8]?) -> Entry? {
        guard let value else { return .absent }
        var written = value
        if compactionFilter && value.first == UInt8(ascii: "f") { written[0] = UInt8(ascii: "g") }
        guard let generation = generation(of: written), Self.value(key, generation) == written,
              written == value || changedByFilter(generation) else { return nil }
        return Entry(generation: generation, exists: true)
    }

    /// True if `actual` is what an expected `entry` allows (an absent key
    /// matches any generation of absence; with the compaction filter on, a
    /// value the filter removes may read as absent).
    static func matches(_ actual: Entry, _ entry: Entry) -> Bool {
        if actual.exists { return entry == actual }
        return !entry.exists || removedByFilter(entry.generation)
    }

    /// Adds to header slot `slot` (2–7 are free: the compaction filter's counters).
    func addToHeader(_ slot: Int, _ count: Int) {
        base[slot] &+= UInt64(count)
    }

    /// Header slot `slot`.
    func header(_ slot: Int) -> UInt64 { base[slot] }
}

/// A stress-tool failure: printed, non-zero exit.
struct StressError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
