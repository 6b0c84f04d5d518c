// The fraud job's input: two users, one with three failed logins then a
// success within a minute (one alert), the other with a success only.
import Foundation
try FileManager.default.createDirectory(atPath: "/tmp/fraud-demo", withIntermediateDirectories: true)
let t0: Int64 = 1_733_580_000_000
var lines = ""
for (user, offset, success) in [("alice", 0, false), ("bob", 1_000, true), ("alice", 10_000, false),
                                ("alice", 20_000, false), ("alice", 42_000, true), ("bob", 200_000, false)] {
    lines += "{\"user\":\"\(user)\",\"time\":\(t0 + Int64(offset)),\"success\":\(success)}\n"
}
try lines.write(toFile: "/tmp/fraud-demo/logins.jsonl", atomically: true, encoding: .utf8)
