/// File names inside a database directory (spec section 15; RocksDB
/// file/filename.cc): numbers are zero-padded to six digits.
package enum DBFileName {
    /// The kinds of files a database directory holds.
    package enum Kind: Equatable, Sendable {
        case wal(UInt64)
        case table(UInt64)
        case manifest(UInt64)
        case current
        case lock
        case identity
        case options(UInt64)
        case temp(UInt64)
        case infoLog
    }

    /// `NNNNNN` (at least six digits).
    package static func number(_ n: UInt64) -> String {
        let s = String(n)
        return s.count >= 6 ? s : String(repeating: "0", count: 6 - s.count) + s
    }

    package static func wal(_ n: UInt64) -> String { number(n) + ".log" }
    package static func table(_ n: UInt64) -> String { number(n) + ".sst" }
    package static func manifest(_ n: UInt64) -> String { "MANIFEST-" + number(n) }
    package static func temp(_ n: UInt64) -> String { number(n) + ".dbtmp" }
    package static func options(_ n: UInt64) -> String { "OPTIONS-" + number(n) }
    package static let current = "CURRENT"
    package static let lock = "LOCK"
    package static let identity = "IDENTITY"
    package static let infoLog = "LOG"

    /// Classifies a directory entry; nil for names that are not ours.
    package static func parse(_ name: String) -> Kind? {
        switch name {
        case current: return .current
        case lock: return .lock
        case identity: return .identity
        case infoLog: return .infoLog
        default: break
        }
        if name.hasPrefix("LOG.old") { return .infoLog }
        if name.hasPrefix("MANIFEST-"), let n = UInt64(name.dropFirst(9)) { return .manifest(n) }
        if name.hasPrefix("OPTIONS-"), let n = UInt64(name.dropFirst(8)) { return .options(n) }
        guard let dot = name.firstIndex(of: "."), let n = UInt64(name[..<dot]) else { return nil }
        switch name[dot...] {
        case ".log": return .wal(n)
        case ".sst", ".ldb": return .table(n)
        case ".dbtmp": return .temp(n)
        default: return nil
        }
    }
}
