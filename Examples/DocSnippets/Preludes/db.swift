// An open database `db` with a few keys (closed when the snippet returns).
import Strata
let db = try Database.open(at: "/data/db")
defer { try? db.close() }
for i in 0..<100 { try db.put(Array("key\(i)".utf8), Array("value\(i)".utf8)) }
