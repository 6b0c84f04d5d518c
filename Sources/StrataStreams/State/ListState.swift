import Strata

/// A list of elements per (key, namespace), in the order they were added.
///
/// Stored as one engine entry: a run of `[length varint][element]`.
/// `add` writes a merge operand (`0x01` + the element), so appending never
/// reads; the engine concatenates operands on read and in compaction.
/// Writes are blind, so they collect in a pending batch written before the
/// next read of this state, when it reaches 1 MiB, and on the backend's flush
/// (one engine write for many appends instead of one each).
///
/// Thread safety: owned by the backend's thread. Absent keys read as `[]`.
public final class ListState<V: StateCodec>: WriteBackBuffer {
    @usableFromInline unowned let backend: StateBackend
    /// The state's name in the catalog.
    public let name: String
    let id: UInt16
    @usableFromInline let codec: V
    private var pending = WriteBatch()

    init(backend: StateBackend, name: String, id: UInt16, codec: V) {
        self.backend = backend
        self.name = name
        self.id = id
        self.codec = codec
    }

    private func engineKey(_ key: StateKey, _ namespace: Namespace) -> [UInt8] {
        StateKeyLayout.prefix(stateID: id, key: key, namespace: namespace)
    }

    @inlinable
    func appendRun(_ elements: some Sequence<V.Value>, into out: inout [UInt8]) {
        var scratch: [UInt8] = []
        for element in elements {
            scratch.removeAll(keepingCapacity: true)
            codec.encode(element, into: &scratch)
            scratch.withUnsafeBytes { MergeEncoding.appendElement($0, into: &out) }
        }
    }

    /// Appends one element (a merge operand; no read).
    @inlinable
    public func add(_ element: V.Value, for key: StateKey, in namespace: Namespace = .none) throws {
        try addAll([element], for: key, in: namespace)
    }

    /// Appends elements in order, as one merge operand.
    @inlinable
    public func addAll(_ elements: [V.Value], for key: StateKey, in namespace: Namespace = .none) throws {
        try backend.checkOpen()
        guard !elements.isEmpty else { return }
        var operand: [UInt8] = [MergeEncoding.listOperand]
        appendRun(elements, into: &operand)
        try appendOperand(operand, for: key, in: namespace)
    }

    /// Queues a merge operand (`0x01` + a run) for (key, namespace): the
    /// byte-level, non-generic half of `addAll`.
    @usableFromInline
    func appendOperand(_ operand: [UInt8], for key: StateKey, in namespace: Namespace) throws {
        pending.merge(engineKey(key, namespace), operand)
        try bound()
    }

    /// The engine's value of (key, namespace) after the pending writes: the
    /// byte-level, non-generic half of `get`.
    @usableFromInline
    func storedRun(for key: StateKey, in namespace: Namespace) throws -> [UInt8]? {
        try backend.checkOpen()
        try writePending()
        return try backend.database.get(engineKey(key, namespace))
    }

    /// The elements, oldest first; `[]` when none were added or the list was cleared.
    @inlinable
    public func get(for key: StateKey, in namespace: Namespace = .none) throws -> [V.Value] {
        guard let stored = try storedRun(for: key, in: namespace) else { return [] }
        var out: [V.Value] = []
        try stored.withUnsafeBytes { raw in
            try MergeEncoding.forEachElement(raw, what: "list state '\(name)'") { out.append(try codec.decode($0)) }
        }
        return out
    }

    /// Replaces the list (an empty array clears it).
    public func update(_ elements: [V.Value], for key: StateKey, in namespace: Namespace = .none) throws {
        try backend.checkOpen()
        if elements.isEmpty { return try clear(for: key, in: namespace) }
        var run: [UInt8] = []
        appendRun(elements, into: &run)
        pending.put(engineKey(key, namespace), run)
        try bound()
    }

    /// Removes the list.
    public func clear(for key: StateKey, in namespace: Namespace = .none) throws {
        try backend.checkOpen()
        pending.delete(engineKey(key, namespace))
        try bound()
    }

    private func bound() throws {
        if pending.byteSize >= 1 << 20 { try writePending() }
    }

    private func writePending() throws {
        guard !pending.isEmpty else { return }
        try backend.write(pending)
        pending.clear()
    }

    func drain(into batch: inout WriteBatch) throws {
        batch.append(contentsOf: pending)
        pending.clear()
    }
}
