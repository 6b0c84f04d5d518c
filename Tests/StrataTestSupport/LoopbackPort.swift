import Foundation
import Strata

/// Loopback ports for tests that start their own servers (nats-server,
/// redis-server, PostgreSQL) on 127.0.0.1.
package enum LoopbackPort {
    /// A loopback TCP port nothing listens on right now: binds port 0, reads
    /// back the kernel's choice, closes. Another process may take it before
    /// the caller binds it; callers that start a server retry on failure.
    package static func unused() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StrataError(.ioError, "socket() failed (errno \(errno))") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw StrataError(.ioError, "bind to 127.0.0.1:0 failed (errno \(errno))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw StrataError(.ioError, "getsockname() failed (errno \(errno))") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Calls `start` with an unused port until it succeeds, `attempts` times
    /// at most: another process may take the port between `unused()` and the
    /// server's bind. An error for which `isPortTaken` is false is thrown at
    /// once; after the last attempt its error is thrown.
    package static func retrying(attempts: Int = 5, when isPortTaken: (any Error) -> Bool = { _ in true },
                                 _ start: (Int) throws -> Void) throws {
        for attempt in 1...max(attempts, 1) {
            let port = try unused()
            do {
                try start(port)
                return
            } catch where attempt < attempts && isPortTaken(error) {
                continue
            }
        }
    }
}
