/// An operator that processes a keyed stream in event time: events in,
/// watermarks in, outputs collected in a buffer. `OperatorTestHarness`
/// drives any conforming operator.
///
/// Contract: `takeOutput()` returns the outputs produced since the last call
/// in the order they were produced, late events included as the output
/// type's late case (`WindowOutput.late`, `PatternOutput.late`,
/// `JoinOutput.lateLeft`/`lateRight`): one output convention for every
/// operator (for a given sequence of calls, always
/// the same outputs in the same order); `stateNames` lists every state the
/// operator keeps in its backend. Thread safety: one thread per operator.
public protocol StreamOperator: AnyObject {
    /// The key type of input events.
    associatedtype Key
    /// The payload type of input events.
    associatedtype Input
    /// What the operator emits.
    associatedtype Output

    /// Processes one event.
    func processElement(_ event: Event<Key, Input>) throws
    /// Advances event time; a watermark not above the current one is ignored.
    func processWatermark(_ watermark: Int64) throws
    /// Outputs since the last call, in order; empties the buffer.
    func takeOutput() -> [Output]
    /// The names of the operator's states in its backend.
    var stateNames: [String] { get }
}

/// What a window operator emits: a window result or an event for the late output.
public enum WindowOutput<Key, Input, Value> {
    /// A window fired.
    case result(WindowResult<Key, Value>)
    /// An event beyond the allowed lateness of all its windows.
    case late(Event<Key, Input>)

    /// The result, if this is one.
    public var result: WindowResult<Key, Value>? {
        if case .result(let r) = self { return r }
        return nil
    }

    /// The late event, if this is one.
    public var lateEvent: Event<Key, Input>? {
        if case .late(let e) = self { return e }
        return nil
    }
}

extension WindowOutput: Sendable where Key: Sendable, Input: Sendable, Value: Sendable {}
extension WindowOutput: Equatable where Key: Equatable, Input: Equatable, Value: Equatable {}
extension WindowOutput: Hashable where Key: Hashable, Input: Hashable, Value: Hashable {}

extension WindowOperator: StreamOperator {}
