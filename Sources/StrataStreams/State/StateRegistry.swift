import Foundation
import Strata

/// What a state id holds; persisted with the id in the state catalog.
enum StateKind: UInt8, Sendable {
    case value = 1
    case list = 2
    case map = 3
    case aggregating = 4
    case timers = 5

    var name: String {
        switch self {
        case .value: "value"
        case .list: "list"
        case .map: "map"
        case .aggregating: "aggregating"
        case .timers: "timers"
        }
    }
}

/// Folds two encoded accumulators of one aggregating state into one.
typealias AccumulatorMerger = @Sendable (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> [UInt8]

/// The states a backend knows, shared with the engine's merge operator and
/// compaction filter (which run on background threads, hence the lock).
///
/// Thread safety: every member may be called from any thread.
final class StateRegistry: @unchecked Sendable {
    // @unchecked: `tables` is only touched with `lock` held (an NSLock, which
    // ThreadSanitizer can see, unlike Synchronization.Mutex).
    struct Entry: Sendable {
        var id: UInt16
        var kind: StateKind
        var ttlMilliseconds: Int64?
    }

    private struct Tables {
        var byName: [String: Entry] = [:]
        /// TTL per state id; read by the compaction filter.
        var ttl: [UInt16: Int64] = [:]
        /// Accumulator merge per aggregating state id; registered when the
        /// state is declared in this process.
        var mergers: [UInt16: AccumulatorMerger] = [:]
        var nextID: UInt16 = StateRegistry.firstUserID
    }

    /// Id 0 holds the state catalog itself.
    static let catalogID: UInt16 = 0
    static let firstUserID: UInt16 = 1

    private let lock = NSLock()
    private var unsafeTables = Tables()
    private func withTables<R>(_ body: (inout Tables) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&unsafeTables)
    }
    /// Processing-time clock in epoch milliseconds (TTL).
    let clock: @Sendable () -> Int64

    init(clock: @escaping @Sendable () -> Int64) {
        self.clock = clock
    }

    func entry(named name: String) -> Entry? { withTables { $0.byName[name] } }

    func allEntries() -> [(String, Entry)] { withTables { $0.byName.map { ($0.key, $0.value) } } }

    /// Records an entry read from the catalog or newly allocated.
    func record(name: String, entry: Entry) {
        withTables { t in
            t.byName[name] = entry
            if let ttl = entry.ttlMilliseconds { t.ttl[entry.id] = ttl } else { t.ttl[entry.id] = nil }
            if entry.id >= t.nextID { t.nextID = entry.id + 1 }
        }
    }

    /// The next free id; throws when all 65,535 are taken.
    func allocateID() throws -> UInt16 {
        try withTables { t in
            guard t.nextID < UInt16.max else {
                throw StrataError(.invalidArgument, "state backend: all 65,534 state ids are in use")
            }
            return t.nextID
        }
    }

    func ttl(of id: UInt16) -> Int64? { withTables { $0.ttl[id] } }

    func setMerger(_ merger: @escaping AccumulatorMerger, for id: UInt16) {
        withTables { $0.mergers[id] = merger }
    }

    func merger(for id: UInt16) -> AccumulatorMerger? { withTables { $0.mergers[id] } }
}

/// The state catalog: `[0x00 0x00][state name UTF-8]` →
/// `[id: 2 BE][kind: 1][ttl ms: 8 LE, only when the state has a TTL]`.
enum StateCatalog {
    static func key(_ name: String) -> [UInt8] { [0, 0] + Array(name.utf8) }

    static func encode(_ entry: StateRegistry.Entry) -> [UInt8] {
        var out: [UInt8] = [UInt8(entry.id >> 8), UInt8(entry.id & 0xFF), entry.kind.rawValue]
        if let ttl = entry.ttlMilliseconds { withUnsafeBytes(of: ttl.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }

    static func decode(name: String, _ bytes: [UInt8]) throws -> StateRegistry.Entry {
        guard bytes.count == 3 || bytes.count == 11, let kind = StateKind(rawValue: bytes[2]) else {
            throw StrataError(.corruption,
                              "state catalog: entry for '\(name)' has \(bytes.count) bytes"
                              + " (kind byte \(bytes.count > 2 ? String(bytes[2]) : "missing")),"
                              + " expected 3 or 11 bytes with kind 1...5")
        }
        let id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        var ttl: Int64? = nil
        if bytes.count == 11 {
            ttl = bytes.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: 3, as: Int64.self)) }
        }
        return .init(id: id, kind: kind, ttlMilliseconds: ttl)
    }
}

/// The merge operand and value encodings of merge-based states.
///
/// - List state: a value is a run of elements, each `[length varint][bytes]`;
///   an operand is `0x01` followed by such a run. Merging concatenates, so it
///   needs no knowledge of the state.
/// - Aggregating state: an operand is `0x02` + an encoded accumulator; a
///   merged value is `0x00` + an accumulator, or — when the state's
///   AggregateFunction is not declared in this process (a compaction right
///   after open) — `0x03` + a run of accumulators `[length varint][bytes]`,
///   folded by the next reader that knows the function. So merges never fail
///   and never lose an operand.
@usableFromInline
enum MergeEncoding {
    @inlinable static var listOperand: UInt8 { 0x01 }
    @inlinable static var accumulatorOperand: UInt8 { 0x02 }
    @inlinable static var accumulatorValue: UInt8 { 0x00 }
    static let pendingAccumulators: UInt8 = 0x03

    @inlinable
    static func appendElement(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        KeyLengthPrefix.append(bytes.count, into: &out)
        out.append(contentsOf: bytes)
    }

    /// Calls `body` with each element of a run.
    @usableFromInline
    static func forEachElement(_ run: UnsafeRawBufferPointer, what: String,
                               _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var offset = 0
        while offset < run.count {
            let (length, prefix) = try KeyLengthPrefix.read(UnsafeRawBufferPointer(rebasing: run[offset...]))
            let start = offset + prefix
            guard start + length <= run.count else {
                throw StrataError(.corruption, "\(what): element of \(length) bytes at offset \(start)"
                                  + " runs past the end of the \(run.count)-byte value")
            }
            try body(UnsafeRawBufferPointer(rebasing: run[start..<(start + length)]))
            offset = start + length
        }
    }
}

/// The engine merge operator of a state backend: concatenates list
/// operands, folds accumulator operands with the state's AggregateFunction
/// (found by the state id in the key). Never fails (see `MergeEncoding`).
struct StateMergeOperator: MergeOperator {
    let registry: StateRegistry
    var name: String { "StrataStreamsStateMerge" }

    func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) -> [UInt8]? {
        guard let first = operands.first?.first else { return existing }
        if first == MergeEncoding.listOperand {
            var out = existing ?? []
            for operand in operands { out.append(contentsOf: operand.dropFirst()) }
            return out
        }
        // Accumulators: gather every part, then fold if the function is known.
        var parts: [ArraySlice<UInt8>] = []
        if let existing, let tag = existing.first {
            if tag == MergeEncoding.pendingAccumulators {
                let ok: Bool = existing.withUnsafeBytes { raw in
                    (try? MergeEncoding.forEachElement(UnsafeRawBufferPointer(rebasing: raw[1...]), what: "accumulators") {
                        parts.append(ArraySlice($0))
                    }) != nil
                }
                if !ok { return nil }
            } else {
                parts.append(existing.dropFirst())
            }
        }
        for operand in operands { parts.append(operand.dropFirst()) }
        if key.count >= 2, let merger = registry.merger(for: UInt16(key[0]) << 8 | UInt16(key[1])),
           let folded = fold(parts, merger) {
            return [MergeEncoding.accumulatorValue] + folded
        }
        var out: [UInt8] = [MergeEncoding.pendingAccumulators]
        for part in parts { part.withUnsafeBytes { MergeEncoding.appendElement($0, into: &out) } }
        return out
    }

    func partialMerge(key: [UInt8], left: [UInt8], right: [UInt8]) -> [UInt8]? {
        guard let tag = left.first, tag == right.first else { return nil }
        if tag == MergeEncoding.listOperand { return left + right.dropFirst() }
        guard tag == MergeEncoding.accumulatorOperand, key.count >= 2,
              let merger = registry.merger(for: UInt16(key[0]) << 8 | UInt16(key[1])),
              let folded = fold([left.dropFirst(), right.dropFirst()], merger) else { return nil }
        return [MergeEncoding.accumulatorOperand] + folded
    }

    private func fold(_ parts: [ArraySlice<UInt8>], _ merger: AccumulatorMerger) -> [UInt8]? {
        guard var acc = parts.first.map(Array.init) else { return nil }
        for part in parts.dropFirst() {
            guard let next = try? acc.withUnsafeBytes({ a in try part.withUnsafeBytes { b in try merger(a, b) } }) else {
                return nil
            }
            acc = next
        }
        return acc
    }
}

/// The engine compaction filter of a state backend: drops entries of TTL
/// states whose expiry time (the first 8 bytes of the value, epoch ms LE)
/// has passed by the registry's processing-time clock.
struct StateTTLFilter: CompactionFilter {
    let registry: StateRegistry
    var name: String { "StrataStreamsStateTTL" }

    func filter(level: Int, key: [UInt8], value: [UInt8]) -> CompactionDecision {
        guard key.count >= 2, value.count >= 8,
              registry.ttl(of: UInt16(key[0]) << 8 | UInt16(key[1])) != nil else { return .keep }
        let expiry = value.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
        return expiry <= registry.clock() ? .remove : .keep
    }
}
