import Strata

/// What a window keeps and how it becomes a value: an incremental aggregate
/// (`AggregatingState`, one accumulator per window or pane namespace) or the
/// window's elements (`ListState`) handed to a full-window function.
///
/// Closures rather than a protocol keep `WindowOperator`'s public type
/// `WindowOperator<KeyCodec, Input, Value>` free of the state classes; the
/// cost is one indirect call per operation.
@usableFromInline
struct WindowContents<Key, Input, Value> {
    /// Adds one element to (key, namespace). Touches the write-back cache only.
    @usableFromInline let add: (Input, StateKey, Namespace) throws -> Void
    /// The value of `window`, made of the namespaces `panes` (one for
    /// tumbling and session windows); nil when they hold nothing.
    @usableFromInline let result: (StateKey, Key, TimeWindow, [Namespace]) throws -> Value?
    /// Moves the contents of `sources` into `target` (session merges).
    @usableFromInline let merge: ([Namespace], Namespace, StateKey) throws -> Void
    /// Removes (key, namespace).
    @usableFromInline let clear: (StateKey, Namespace) throws -> Void
    /// The state names used, for `entryCount(ofStateNamed:)`.
    @usableFromInline let stateName: String

    @usableFromInline
    init(
        add: @escaping (Input, StateKey, Namespace) throws -> Void,
        result: @escaping (StateKey, Key, TimeWindow, [Namespace]) throws -> Value?,
        merge: @escaping ([Namespace], Namespace, StateKey) throws -> Void,
        clear: @escaping (StateKey, Namespace) throws -> Void,
        stateName: String
    ) {
        self.add = add
        self.result = result
        self.merge = merge
        self.clear = clear
        self.stateName = stateName
    }

    @inlinable
    static func aggregating<F: AggregateFunction>(
        _ function: F, backend: StateBackend, name: String
    ) throws -> WindowContents where F.Input == Input, F.Output == Value {
        let state = try backend.aggregatingState(StateDescriptor(name), function: function)
        return WindowContents(
            add: { input, key, namespace in try state.add(input, for: key, in: namespace) },
            result: { key, _, _, panes in
                if panes.count == 1 { return try state.get(for: key, in: panes[0]) }
                var combined: F.Accumulator?
                for pane in panes {
                    guard let accumulator = try state.accumulator(for: key, in: pane) else { continue }
                    combined = combined.map { function.merge($0, accumulator) } ?? accumulator
                }
                return combined.map { function.result($0) }
            },
            merge: { sources, target, key in try state.mergeNamespaces(sources, into: target, for: key) },
            clear: { key, namespace in try state.clear(for: key, in: namespace) },
            stateName: name)
    }

    @usableFromInline
    static func list<C: StateCodec>(
        elementCodec: C, backend: StateBackend, name: String,
        function: @escaping (Key, TimeWindow, [Input]) throws -> Value
    ) throws -> WindowContents where C.Value == Input {
        let state = try backend.listState(StateDescriptor(name), elementCodec: elementCodec)
        return WindowContents(
            add: { input, key, namespace in try state.add(input, for: key, in: namespace) },
            result: { key, decodedKey, window, panes in
                var elements: [Input] = []
                for pane in panes { elements += try state.get(for: key, in: pane) }
                return elements.isEmpty ? nil : try function(decodedKey, window, elements)
            },
            merge: { sources, target, key in
                for source in sources where source != target {
                    let moved = try state.get(for: key, in: source)
                    try state.addAll(moved, for: key, in: target)
                    try state.clear(for: key, in: source)
                }
            },
            clear: { key, namespace in try state.clear(for: key, in: namespace) },
            stateName: name)
    }
}
