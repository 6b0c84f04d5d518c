import Strata

/// The compaction filter of `--enable_compaction_filter=1` (RocksDB
/// db_stress's `--enable_compaction_filter`), designed so the expected
/// state stays exact:
///
/// * A value whose generation is 1 mod 8 is changed: its leading `g`
///   becomes `f` (`ExpectedState.filtered`). The verifier reads
///   `f<generation>:…` as that same generation, so a changed value still
///   says exactly which write it came from: an older version resurrected
///   instead is still caught.
/// * A value whose generation is 2 mod 8 is removed. The verifier accepts
///   "absent" for a key whose expected generation is removable — and only
///   for that generation: if the engine dropped the value without the
///   deletion it must leave behind, an older version comes back and reads
///   as a lost write.
/// * Any other value is removed when the expected state says its key is
///   deleted and no write to it is in flight (db_stress's
///   `DbStressCompactionFilter`): the value is then an old version that a
///   newer acknowledged deletion already hides, so removing it can never be
///   observed — unless the engine filters a version a snapshot still reads,
///   which the snapshot checks catch (`StressWorkers.checkSnapshot`). This
///   part is active only in a stress run after its opening verification
///   (`FilterContext.state`), never in `--verify_only` or a checkpoint copy.
///
/// Counts its decisions in the expected-state file (they survive the kills).
///
/// Thread safety: called from compaction threads at once; `FilterContext`
/// is set before the workers start, the counters are behind a lock.
struct StressCompactionFilter: CompactionFilter {
    /// The family's index (expected-state slots `family·keys ..< (family+1)·keys`).
    let family: Int
    let keys: Int
    let context: FilterContext

    var name: String { "StrataStressCompactionFilter" }

    func filter(level: Int, key: [UInt8], value: [UInt8]) -> CompactionDecision {
        guard let generation = ExpectedState.generation(of: value) else { return .keep }
        switch generation % 8 {
        case 1:
            context.count(.changed)
            return .change(ExpectedState.filtered(value))
        case 2:
            context.count(.removedByMarker)
            return .remove
        default:
            guard let state = context.state, let k = ExpectedState.keyIndex(key), k < keys else { return .keep }
            let (committed, pending) = state.load(family * keys + k)
            guard pending == nil, !committed.exists else { return .keep }
            context.count(.removedByState)
            return .remove
        }
    }
}

/// What the stress filters share: the expected state (set once a run has
/// verified the database) and the decision counters.
final class FilterContext: @unchecked Sendable {
    // @unchecked: both fields behind the lock.
    private struct Shared {
        var state: ExpectedState?
        var counters: ExpectedState?
    }
    private let lock = ToolLock(Shared())

    init() {}

    /// The expected state the state-based removals consult (nil: none).
    var state: ExpectedState? { lock.withLock { $0.state } }

    /// Counts decisions in `state`'s header from now on.
    func countIn(_ state: ExpectedState) { lock.withLock { $0.counters = state } }

    /// Turns on the state-based removals.
    func activate(_ state: ExpectedState) { lock.withLock { $0.state = state } }

    enum Decision: Int, CaseIterable { case removedByMarker = 2, changed = 3, removedByState = 4 }

    func count(_ decision: Decision) {
        lock.withLock { $0.counters?.addToHeader(decision.rawValue, 1) }
    }

    /// "compaction filter: R removed (marker), C changed, S removed (state)" from `state`'s header.
    static func summary(_ state: ExpectedState) -> String {
        "compaction filter: \(state.header(Decision.removedByMarker.rawValue)) values removed by marker, "
            + "\(state.header(Decision.changed.rawValue)) changed, "
            + "\(state.header(Decision.removedByState.rawValue)) removed as deleted in the expected state"
    }
}

extension ExpectedState {
    /// Whether `--enable_compaction_filter` is on: the verifier then accepts
    /// what `StressCompactionFilter` does. Set once at startup.
    nonisolated(unsafe) static var compactionFilter = false

    /// A changed value: `g` → `f`.
    static func filtered(_ value: [UInt8]) -> [UInt8] {
        var out = value
        out[0] = UInt8(ascii: "f")
        return out
    }

    /// The generation of a `g<generation>:…` value; nil for anything else.
    static func generation(of value: [UInt8]) -> UInt32? {
        guard value.first == UInt8(ascii: "g"), let colon = value.firstIndex(of: UInt8(ascii: ":")), colon > 1 else { return nil }
        return UInt32(String(decoding: value[1..<colon], as: UTF8.self))
    }

    /// `key00001234` → 1234.
    static func keyIndex(_ key: [UInt8]) -> Int? {
        guard key.count == 11, key.starts(with: Array("key".utf8)) else { return nil }
        return Int(String(decoding: key.dropFirst(3), as: UTF8.self))
    }

    /// Generations the filter changes.
    static func changedByFilter(_ generation: UInt32) -> Bool { compactionFilter && generation % 8 == 1 }
    /// Generations the filter removes.
    static func removedByFilter(_ generation: UInt32) -> Bool { compactionFilter && generation % 8 == 2 }
}
