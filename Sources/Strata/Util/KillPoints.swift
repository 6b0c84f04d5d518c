#if STRATA_KILL_POINTS
import Glibc
import Synchronization
#endif

/// Named places in the write path where a whitebox crash test may kill the
/// process (RocksDB's `TEST_KILL_RANDOM`, which `db_stress
/// --kill_random_test` arms). Compiled in only with `-DSTRATA_KILL_POINTS`
/// (tools/strata-crash-test --kill_point=…, its own build folder); in every
/// other build `killPoint` is empty and inlined away.
///
/// The points (`KillPoints.all`):
///
/// * `WAL.append` — before each fragment of a WAL record is written (a
///   kill there leaves a partial record); `WAL.sync` — before a WAL fsync;
///   `WAL.synced` — after it;
/// * `MANIFEST.append`, `MANIFEST.sync`, `MANIFEST.synced` — the same for
///   the MANIFEST;
/// * `Table.finish` — after a table's last byte is written, before its
///   fsync; `Table.synced` — after it, before the MANIFEST records it;
/// * `CURRENT.rename` — before CURRENT is replaced; `CURRENT.renamed` —
///   after the rename, before the directory fsync.
///
/// Thread safety: `arm` once before the threads start; `killPoint` from any thread.
package enum KillPoints {
    /// Every point's name.
    package static let all = [
        "WAL.append", "WAL.sync", "WAL.synced", "MANIFEST.append", "MANIFEST.sync", "MANIFEST.synced",
        "Table.finish", "Table.synced", "CURRENT.rename", "CURRENT.renamed",
    ]

    /// True when kill points are compiled in.
    package static var compiledIn: Bool {
        #if STRATA_KILL_POINTS
        return true
        #else
        return false
        #endif
    }

    #if STRATA_KILL_POINTS
    private struct Armed {
        var prefix: String
        var odds: UInt64
        var state: UInt64
    }

    private static let armed = Locked<Armed?>(nil)

    /// From now on, each pass through point `prefix` (a full name), or
    /// through any point whose name starts with `prefix` (e.g. "WAL"),
    /// kills the process (SIGKILL) with probability 1/`odds`,
    /// after writing `kill point NAME` on standard output; draws are seeded.
    package static func arm(prefix: String, odds: Int, seed: UInt64) {
        armed.withLock { $0 = Armed(prefix: prefix, odds: UInt64(max(1, odds)), state: seed | 1) }
    }

    /// Passes through point `name` (see `killPoint`).
    static func pass(_ name: String) {
        let die = armed.withLock { armed -> Bool in
            // A full name arms that point only ("MANIFEST.sync" is not
            // "MANIFEST.synced"); anything else is a prefix ("WAL").
            guard var a = armed, name == a.prefix || (!all.contains(a.prefix) && name.hasPrefix(a.prefix)) else {
                return false
            }
            a.state ^= a.state << 13
            a.state ^= a.state >> 7
            a.state ^= a.state << 17
            armed = a
            return a.state % a.odds == 0
        }
        guard die else { return }
        let line = Array("kill point \(name)\n".utf8)
        _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        kill(getpid(), SIGKILL)
    }
    #endif
}

/// A named kill point (see `KillPoints`): nothing unless compiled with
/// `-DSTRATA_KILL_POINTS` and armed.
@inline(__always)
func killPoint(_ name: @autoclosure () -> String) {
    #if STRATA_KILL_POINTS
    KillPoints.pass(name())
    #endif
}
