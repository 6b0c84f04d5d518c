import Strata

/// How a pattern stage's first event relates to the event before it.
public enum Contiguity: Sendable, Hashable {
    /// `next`: the very next event of the key must match, or the partial match ends.
    case strict
    /// `followedBy`: events that do not match are skipped; the first one that
    /// matches is taken (Flink's skip-till-next-match).
    case relaxed
}

/// A sequence pattern over the events of one key (CEP), built like Flink's
/// `Pattern.begin(...).times(n).followedBy(...).within(...)`:
///
/// ```swift
/// let pattern = Pattern<Login>.begin("fail") { !$0.success }.times(3)
///     .followedBy("success") { $0.success }
///     .within(60_000)
/// ```
///
/// A stage matches `times` events (default 1) that satisfy its condition;
/// between the events of one stage contiguity is relaxed (Flink's default
/// for `times`); the first event of each later stage follows its
/// predecessor with the stage's contiguity. `within(d)`: the last event of
/// a match is less than `d` ms after the first (Flink's bound); partial
/// matches older than that time out.
public struct Pattern<Payload>: Sendable {
    /// One step of the pattern.
    public struct Stage: Sendable {
        /// Name, reported with the events it matched.
        public var name: String
        /// Whether an event's payload can be taken by this stage.
        public var condition: @Sendable (Payload) -> Bool
        /// How many events the stage takes (≥ 1).
        public var times: Int
        /// Contiguity with the previous stage (ignored for the first stage).
        public var contiguity: Contiguity
    }

    /// The stages, in order.
    public private(set) var stages: [Stage]
    /// The time bound of a whole match, ms; nil = unbounded.
    public private(set) var window: Int64?

    /// A pattern starting with a stage named `name`.
    public static func begin(_ name: String, where condition: @escaping @Sendable (Payload) -> Bool) -> Pattern {
        Pattern(stages: [Stage(name: name, condition: condition, times: 1, contiguity: .relaxed)], window: nil)
    }

    /// The last stage takes `n` events instead of one.
    public func times(_ n: Int) -> Pattern {
        var copy = self
        copy.stages[copy.stages.count - 1].times = n
        return copy
    }

    /// A stage whose first event must come right after the previous stage's last (strict contiguity).
    public func next(_ name: String, where condition: @escaping @Sendable (Payload) -> Bool) -> Pattern {
        var copy = self
        copy.stages.append(Stage(name: name, condition: condition, times: 1, contiguity: .strict))
        return copy
    }

    /// A stage whose first event may come after non-matching ones (relaxed contiguity).
    public func followedBy(_ name: String, where condition: @escaping @Sendable (Payload) -> Bool) -> Pattern {
        var copy = self
        copy.stages.append(Stage(name: name, condition: condition, times: 1, contiguity: .relaxed))
        return copy
    }

    /// The whole match must span less than `milliseconds`.
    public func within(_ milliseconds: Int64) -> Pattern {
        var copy = self
        copy.window = milliseconds
        return copy
    }

    /// Checks the pattern: names unique and non-empty, `times` ≥ 1, window > 0.
    func validate() throws {
        var names = Set<String>()
        for stage in stages {
            guard !stage.name.isEmpty, names.insert(stage.name).inserted else {
                throw StrataError(.invalidArgument, "pattern: stage name '\(stage.name)' is empty or used twice")
            }
            guard stage.times >= 1, stage.times <= 10_000 else {
                throw StrataError(.invalidArgument, "pattern: stage '\(stage.name)' times(\(stage.times)), expected 1...10000")
            }
        }
        if let window, window <= 0 {
            throw StrataError(.invalidArgument, "pattern: within(\(window)), expected > 0 ms")
        }
    }
}

/// What to do with other partial matches after a match (Flink's
/// `AfterMatchSkipStrategy`).
public enum AfterMatchSkip: Sendable, Hashable {
    /// Keep them: overlapping matches are all reported (Flink's default).
    case noSkip
    /// Drop every partial match that started before the match ended.
    case skipPastLastEvent
}

/// A complete or timed-out (partial) match.
public struct PatternMatch<Key, Payload> {
    /// The key.
    public var key: Key
    /// The events taken, in order, each with its stage name.
    public var events: [(stage: String, event: Event<Key, Payload>)]

    /// The events of one stage.
    public func events(of stage: String) -> [Event<Key, Payload>] {
        events.filter { $0.stage == stage }.map(\.event)
    }
}

/// What a pattern operator emits.
public enum PatternOutput<Key, Payload> {
    /// The pattern matched.
    case match(PatternMatch<Key, Payload>)
    /// A partial match ran out of its `within` time.
    case timeout(PatternMatch<Key, Payload>)
    /// An event at or below the watermark (it cannot be ordered any more).
    case late(Event<Key, Payload>)

    /// The match, if this is one.
    public var match: PatternMatch<Key, Payload>? {
        if case .match(let m) = self { return m }
        return nil
    }
}
