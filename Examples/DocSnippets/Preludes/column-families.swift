// The names the column-family example assumes: a counter merge operator,
// a database path, keys, values and an operand.
import Strata
struct MyCounterOperator: MergeOperator {
    var name: String { "MyCounter" }
    func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) -> [UInt8]? {
        Array(String((existing.flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0) + operands.count).utf8)
    }
}
let path = "/data/cf"
let (k1, v1, k2, operand) = (Array("a".utf8), Array("1".utf8), Array("hits".utf8), Array("+1".utf8))
