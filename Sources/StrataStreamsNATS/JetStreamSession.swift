import Foundation
import StrataNATS

/// A JetStream connection that is made again when the server goes away:
/// `run` retries its body on a closed or refused connection (a broker
/// restart) until `reconnectSeconds` pass, then throws the last error.
/// Bodies must be safe to repeat (the source re-creates its consumer at
/// its position; the sink's publishes carry `Nats-Msg-Id`s).
///
/// Thread safety: one thread (the pipeline's source thread).
final class JetStreamSession {
    let options: NATSConnectionOptions
    let reconnectSeconds: Double
    private var connection: NATSConnection?
    /// Connections made (1 after the first call): a restart shows as 2+.
    private(set) var connects = 0
    /// `connects` when `run` last returned: a body that sees a higher
    /// count runs on a new connection (and a restarted server).
    private var connectsSeen = 0

    init(options: NATSConnectionOptions, reconnectSeconds: Double) {
        self.options = options
        self.reconnectSeconds = reconnectSeconds
    }

    deinit { connection?.close() }

    /// The current connection's JetStream API, connecting if needed.
    func jetStream() throws(NATSError) -> JetStream {
        if let connection, !connection.isClosed { return JetStream(connection) }
        connection?.close()
        connection = nil
        let made = try NATSConnection.connect(options)
        connection = made
        connects += 1
        return JetStream(made)
    }

    /// Runs `body`; on a lost or refused connection drops it, waits a
    /// moment and runs `body` again on a new one, until the deadline.
    /// `reconnected` tells the body that the connection is not the one the
    /// previous call used (state on the server may be gone).
    func run<T>(_ body: (JetStream, _ reconnected: Bool) throws(NATSError) -> T) throws(NATSError) -> T {
        let deadline = Date(timeIntervalSinceNow: reconnectSeconds)
        var pause = 0.05
        while true {
            do {
                let js = try jetStream()
                let reconnected = connects != connectsSeen && connectsSeen != 0
                connectsSeen = connects
                return try body(js, reconnected)
            } catch {
                switch error {
                case .connectionClosed, .connectionRefused, .noServer:
                    guard Date() < deadline else { throw error }
                    connection?.close()
                    connection = nil
                    Thread.sleep(forTimeInterval: pause)       // back-off while the broker restarts
                    pause = min(pause * 2, 1)
                default:
                    throw error
                }
            }
        }
    }
}
