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
        /// How many events the stage takes at least (≥ 1); exactly this many
        /// unless `looping`.
        public var times: Int
        /// Contiguity with the previous stage (ignored for the first stage).
        public var contiguity: Contiguity
        /// `oneOrMore()` / `timesOrMore(n)`: after `times` events the stage
        /// may take more, without bound (Flink's looping pattern).
        public var looping: Bool = false
        /// `consecutive()`: the events of this stage must follow each other
        /// with nothing in between (Flink's `consecutive()`; default relaxed).
        public var consecutive: Bool = false
        /// `greedy()`: a looping stage takes every event it can instead of
        /// also letting the next stage take it (Flink's `greedy()`).
        public var greedy: Bool = false
        /// `optional()`: the stage may also take no event at all (Flink's
        /// `optional()`; with `times(n)`: 0 or `n` events).
        public var optional: Bool = false
        /// `until(condition)`: the stop condition of a looping stage (Flink's
        /// `until`); nil = none. An event satisfying it is never taken by the
        /// stage and ends the loop: the match may go on with the next stage.
        public var until: (@Sendable (Payload) -> Bool)?
        /// A negative stage (`notNext`, contiguity `.strict`; `notFollowedBy`,
        /// `.relaxed`): it takes no event; an event satisfying its condition
        /// ends the partial match (Flink's `NOT_NEXT`/`NOT_FOLLOW`).
        public var negative: Bool = false
    }

    /// The stages, in order.
    public private(set) var stages: [Stage]
    /// The time bound of a whole match, ms; nil = unbounded.
    public private(set) var window: Int64?

    /// A pattern starting with a stage named `name`.
    public static func begin(_ name: String, where condition: @escaping @Sendable (Payload) -> Bool) -> Pattern {
        Pattern(stages: [Stage(name: name, condition: condition, times: 1, contiguity: .relaxed)], window: nil)
    }

    /// The last stage takes exactly `n` events instead of one (Flink's `times(n)`).
    public func times(_ n: Int) -> Pattern {
        var copy = self
        copy.stages[copy.stages.count - 1].times = n
        copy.stages[copy.stages.count - 1].looping = false
        return copy
    }

    /// The last stage takes one or more events (Flink's `oneOrMore()`, the
    /// regular-expression `+`). Between its events contiguity is relaxed
    /// unless `consecutive()`; not greedy unless `greedy()`.
    public func oneOrMore() -> Pattern { timesOrMore(1) }

    /// The last stage takes `n` or more events (Flink's `timesOrMore(n)`).
    public func timesOrMore(_ n: Int) -> Pattern {
        var copy = self
        copy.stages[copy.stages.count - 1].times = n
        copy.stages[copy.stages.count - 1].looping = true
        return copy
    }

    /// The events of the last stage (`times` or `oneOrMore`) must be
    /// contiguous: an event that does not match ends the partial match
    /// inside the stage (Flink's `consecutive()`).
    public func consecutive() -> Pattern {
        var copy = self
        copy.stages[copy.stages.count - 1].consecutive = true
        return copy
    }

    /// The last (looping) stage is greedy: an event it can take is never
    /// handed to the next stage instead (Flink's `greedy()`). Only for a
    /// looping stage that is not the last of the pattern.
    public func greedy() -> Pattern {
        var copy = self
        copy.stages[copy.stages.count - 1].greedy = true
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

    /// The last stage may take no event (Flink's `optional()`):
    /// `times(2).optional()` takes 0 or 2 events, `oneOrMore().optional()`
    /// any number. Not for negative stages.
    public func optional() -> Pattern {
        var copy = self
        copy.stages[copy.stages.count - 1].optional = true
        return copy
    }

    /// The stop condition of the last (looping) stage (Flink's `until`):
    /// an event satisfying `condition` is not taken by the stage, and the
    /// stage takes no event after it; the partial match goes on with the
    /// next stage (which may take that event) if the stage has taken
    /// enough events, and ends otherwise. Only after
    /// `oneOrMore()`/`timesOrMore(n)`.
    public func until(_ condition: @escaping @Sendable (Payload) -> Bool) -> Pattern {
        var copy = self
        copy.stages[copy.stages.count - 1].until = condition
        return copy
    }

    /// A negative stage (Flink's `notNext`): the event right after the
    /// previous stage's last event must not satisfy `condition`, or the
    /// partial match ends. As the last stage, a match completes with the
    /// next event that does not satisfy it. Not first, not after an
    /// optional stage, not quantified.
    public func notNext(_ name: String, where condition: @escaping @Sendable (Payload) -> Bool) -> Pattern {
        var copy = self
        copy.stages.append(Stage(name: name, condition: condition, times: 1, contiguity: .strict, negative: true))
        return copy
    }

    /// A negative stage (Flink's `notFollowedBy`): no event satisfying
    /// `condition` may come between the previous stage's last event and the
    /// next stage's first (one that does ends the partial match, even if
    /// the next stage could take it). As the last stage it needs
    /// `within(d)`: the match then completes when `d` has passed since its
    /// first event without such an event (Flink 1.16+). Not first, not
    /// after an optional stage, not quantified.
    public func notFollowedBy(_ name: String, where condition: @escaping @Sendable (Payload) -> Bool) -> Pattern {
        var copy = self
        copy.stages.append(Stage(name: name, condition: condition, times: 1, contiguity: .relaxed, negative: true))
        return copy
    }

    /// The whole match must span less than `milliseconds`: its last event
    /// is less than this after its first (Flink's `within`).
    public func within(_ milliseconds: Int64) -> Pattern {
        var copy = self
        copy.window = milliseconds
        return copy
    }

    /// The whole match must span less than `duration` (see `within(_:)`;
    /// rounded down to whole milliseconds).
    public func within(_ duration: Duration) -> Pattern { within(duration.wholeMilliseconds) }

    /// Checks the pattern: names unique and non-empty, `times` ≥ 1, window > 0,
    /// `greedy` only on a looping stage that is not the last, `until` only
    /// on a looping stage, negative stages as `checkNegative` says.
    func validate() throws {
        var names = Set<String>()
        for (index, stage) in stages.enumerated() {
            if stage.negative { try checkNegative(at: index) }
            if stage.until != nil && !stage.looping {
                throw StrataError(.invalidArgument, "pattern: stage '\(stage.name)' has until(...), but until needs a"
                                  + " looping stage (oneOrMore/timesOrMore)")
            }
            if stage.greedy && (!stage.looping || index == stages.count - 1) {
                throw StrataError(.invalidArgument, "pattern: stage '\(stage.name)' is greedy, but greedy needs a looping"
                                  + " stage (oneOrMore/timesOrMore) that is not the last")
            }
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

    /// A negative stage (Flink's rules): not the first stage, not after an
    /// optional stage or another negative one, takes exactly one event's
    /// place (no times/oneOrMore/optional/consecutive/greedy/until), and
    /// `notFollowedBy` ends a pattern only with `within`.
    private func checkNegative(at index: Int) throws {
        let stage = stages[index]
        let kind = stage.contiguity == .strict ? "notNext" : "notFollowedBy"
        guard index > 0 else {
            throw StrataError(.invalidArgument, "pattern: cannot begin with the negative stage '\(stage.name)' (\(kind));"
                              + " begin with a stage that takes an event")
        }
        let previous = stages[index - 1]
        if previous.optional || previous.negative {
            throw StrataError(.invalidArgument, "pattern: negative stage '\(stage.name)' (\(kind)) follows"
                              + " \(previous.optional ? "optional" : "negative") stage '\(previous.name)';"
                              + " expected a stage that always takes an event before it")
        }
        if stage.optional || stage.looping || stage.times != 1 || stage.consecutive || stage.greedy || stage.until != nil {
            throw StrataError(.invalidArgument, "pattern: negative stage '\(stage.name)' (\(kind)) cannot be optional,"
                              + " quantified (times/oneOrMore/timesOrMore), consecutive, greedy or have until")
        }
        if stage.contiguity == .relaxed && index == stages.count - 1 && window == nil {
            throw StrataError(.invalidArgument, "pattern: cannot end with notFollowedBy stage '\(stage.name)'"
                              + " without within(...): the match would never complete")
        }
    }
}

/// What to do with other partial and completed matches after a match is
/// emitted (Flink's `AfterMatchSkipStrategy`, with its documented results).
///
/// Matches completed by one event are emitted in the order of their first
/// events. With a strategy other than `noSkip`, a completed match also
/// waits while a partial match that started before it is still alive (it
/// may complete, and would then come first and prune it); then it is
/// emitted and the strategy discards others:
///
/// | strategy | discards partial and completed matches that start … |
/// |---|---|
/// | `noSkip` | nothing is discarded |
/// | `skipToNext` | at the match's first event |
/// | `skipPastLastEvent` | at or before the match's last event |
/// | `skipToFirst(name)` | before the first event of stage `name` in the match |
/// | `skipToLast(name)` | before the last event of stage `name` in the match |
///
/// For `skipToFirst`/`skipToLast`, a match without events of the stage
/// discards nothing (Flink's default, without `throwExceptionOnMiss`).
public enum AfterMatchSkip: Sendable, Hashable {
    /// Keep them: overlapping matches are all reported (Flink's default).
    case noSkip
    /// Discard the other matches that start with the match's first event.
    case skipToNext
    /// Discard every match that started before the match ended: no event
    /// is in two emitted matches.
    case skipPastLastEvent
    /// Discard matches that start before the first event of stage `name`.
    case skipToFirst(String)
    /// Discard matches that start before the last event of stage `name`.
    case skipToLast(String)
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
