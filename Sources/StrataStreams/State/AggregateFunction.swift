import Strata

/// An incremental aggregation (Flink `AggregateFunction`): inputs are
/// folded into an accumulator, accumulators merge associatively (the
/// engine combines them as merge operands, in any grouping), and the
/// result is read from an accumulator.
///
/// Contract: `merge` is associative, and `merge(createAccumulator(), a)`
/// equals `a`; `add(x, to: &acc)` equals `acc = merge(acc, add(x, to: fresh))`.
/// Functions are values called from the backend's thread and from engine
/// compaction threads, hence `Sendable`.
public protocol AggregateFunction<Input, Accumulator, Output>: Sendable {
    associatedtype Input
    associatedtype Accumulator
    associatedtype Output
    associatedtype AccumulatorCodec: StateCodec where AccumulatorCodec.Value == Accumulator

    /// How accumulators are stored.
    var accumulatorCodec: AccumulatorCodec { get }
    /// The accumulator of no inputs.
    func createAccumulator() -> Accumulator
    /// Folds one input in.
    func add(_ input: Input, to accumulator: inout Accumulator)
    /// Combines two accumulators (associative).
    func merge(_ a: Accumulator, _ b: Accumulator) -> Accumulator
    /// The result an accumulator stands for.
    func result(_ accumulator: Accumulator) -> Output
}

/// Counts inputs (of any type). Output: the count.
public struct CountAggregate<Input>: AggregateFunction {
    @inlinable public init() {}
    @inlinable public var accumulatorCodec: Int64Codec { Int64Codec() }
    @inlinable public func createAccumulator() -> Int64 { 0 }
    @inlinable public func add(_ input: Input, to accumulator: inout Int64) { accumulator &+= 1 }
    @inlinable public func merge(_ a: Int64, _ b: Int64) -> Int64 { a &+ b }
    @inlinable public func result(_ accumulator: Int64) -> Int64 { accumulator }
}

/// Sums Int64 inputs (wrapping on overflow, like the engine's Int64 add).
public struct SumAggregate: AggregateFunction {
    @inlinable public init() {}
    @inlinable public var accumulatorCodec: Int64Codec { Int64Codec() }
    @inlinable public func createAccumulator() -> Int64 { 0 }
    @inlinable public func add(_ input: Int64, to accumulator: inout Int64) { accumulator &+= input }
    @inlinable public func merge(_ a: Int64, _ b: Int64) -> Int64 { a &+ b }
    @inlinable public func result(_ accumulator: Int64) -> Int64 { accumulator }
}

/// Sums Double inputs.
public struct DoubleSumAggregate: AggregateFunction {
    @inlinable public init() {}
    @inlinable public var accumulatorCodec: DoubleCodec { DoubleCodec() }
    @inlinable public func createAccumulator() -> Double { 0 }
    @inlinable public func add(_ input: Double, to accumulator: inout Double) { accumulator += input }
    @inlinable public func merge(_ a: Double, _ b: Double) -> Double { a + b }
    @inlinable public func result(_ accumulator: Double) -> Double { accumulator }
}

/// Smallest Int64 input. (A state holds an accumulator only after an
/// input, so the empty accumulator's `Int64.max` is never a result.)
public struct MinAggregate: AggregateFunction {
    @inlinable public init() {}
    @inlinable public var accumulatorCodec: Int64Codec { Int64Codec() }
    @inlinable public func createAccumulator() -> Int64 { .max }
    @inlinable public func add(_ input: Int64, to accumulator: inout Int64) { accumulator = Swift.min(accumulator, input) }
    @inlinable public func merge(_ a: Int64, _ b: Int64) -> Int64 { Swift.min(a, b) }
    @inlinable public func result(_ accumulator: Int64) -> Int64 { accumulator }
}

/// Largest Int64 input. (A state holds an accumulator only after an
/// input, so the empty accumulator's `Int64.min` is never a result.)
public struct MaxAggregate: AggregateFunction {
    @inlinable public init() {}
    @inlinable public var accumulatorCodec: Int64Codec { Int64Codec() }
    @inlinable public func createAccumulator() -> Int64 { .min }
    @inlinable public func add(_ input: Int64, to accumulator: inout Int64) { accumulator = Swift.max(accumulator, input) }
    @inlinable public func merge(_ a: Int64, _ b: Int64) -> Int64 { Swift.max(a, b) }
    @inlinable public func result(_ accumulator: Int64) -> Int64 { accumulator }
}

/// Mean of Double inputs (NaN for the empty accumulator, which a state
/// never returns). Accumulator: (sum, count).
public struct AverageAggregate: AggregateFunction {
    /// Sum and count, stored as 16 bytes (sum's IEEE bits, count; both LE).
    public struct Accumulator: Sendable, Equatable {
        public var sum: Double
        public var count: Int64
        public init(sum: Double, count: Int64) {
            self.sum = sum
            self.count = count
        }
    }

    /// Codec of the (sum, count) accumulator.
    public struct Codec: StateCodec {
        public init() {}
        public var fixedWidth: Int? { 16 }
        public func encode(_ value: Accumulator, into out: inout [UInt8]) {
            withUnsafeBytes(of: value.sum.bitPattern.littleEndian) { out.append(contentsOf: $0) }
            withUnsafeBytes(of: value.count.littleEndian) { out.append(contentsOf: $0) }
        }
        public func decode(_ bytes: UnsafeRawBufferPointer) throws -> Accumulator {
            guard bytes.count == 16 else { throw codecError("AverageAggregate.Codec", expected: "16 bytes", got: bytes.count) }
            return Accumulator(sum: Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))),
                               count: Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: Int64.self)))
        }
    }

    @inlinable public init() {}
    @inlinable public var accumulatorCodec: Codec { Codec() }
    @inlinable public func createAccumulator() -> Accumulator { Accumulator(sum: 0, count: 0) }
    @inlinable public func add(_ input: Double, to accumulator: inout Accumulator) {
        accumulator.sum += input
        accumulator.count += 1
    }
    @inlinable public func merge(_ a: Accumulator, _ b: Accumulator) -> Accumulator {
        Accumulator(sum: a.sum + b.sum, count: a.count + b.count)
    }
    @inlinable public func result(_ accumulator: Accumulator) -> Double {
        accumulator.sum / Double(accumulator.count)
    }
}
