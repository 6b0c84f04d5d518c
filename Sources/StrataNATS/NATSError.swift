/// Everything the NATS client reports as a failure. Each case names what
/// went wrong and where (server address, subject, stream, API call), so a
/// message read alone in a log says what to fix.
public enum NATSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Nothing accepted a TCP connection at `host:port` (ECONNREFUSED): no
    /// server is listening there.
    case connectionRefused(host: String, port: Int)
    /// No NATS server could be reached at `host:port` for another reason
    /// (name resolution, unreachable network, a peer that never sent INFO).
    case noServer(host: String, port: Int, reason: String)
    /// The connection closed (server stopped or restarted, network cut)
    /// while `operation` was waiting. Nothing sent on it is known to be
    /// delivered; reconnect with a new `NATSConnection`.
    case connectionClosed(operation: String)
    /// The server answered `-ERR '<message>'`.
    case serverError(String)
    /// The server sent bytes that are not the NATS protocol.
    case protocolViolation(String)
    /// A JetStream API call (`api`, e.g. `$JS.API.STREAM.CREATE.ORDERS`)
    /// returned an error object: HTTP-like `code`, JetStream `errorCode`
    /// (`err_code`, e.g. 10059 "stream not found") and the description.
    case jetStream(api: String, code: Int, errorCode: Int, description: String)
    /// No stream listens on `subject` (a JetStream publish or API request
    /// met no responder), or the JetStream API is not enabled on the server.
    case noStream(subject: String)
    /// A request to `subject` found no subscriber (the server's 503 "No
    /// Responders" status).
    case noResponders(subject: String)
    /// No reply arrived for `operation` within `seconds`.
    case timeout(operation: String, seconds: Double)
    /// An argument the client rejects before sending anything (an empty
    /// subject, a subject with spaces, a batch of 0).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .connectionRefused(let host, let port):
            return "NATS: connection refused at \(host):\(port): no server is listening there (start one with tools/nats-server.sh)"
        case .noServer(let host, let port, let reason):
            return "NATS: no server reachable at \(host):\(port): \(reason)"
        case .connectionClosed(let operation):
            return "NATS: the connection closed during \(operation); reconnect and retry"
        case .serverError(let message):
            return "NATS: server error -ERR '\(message)'"
        case .protocolViolation(let what):
            return "NATS: protocol violation: \(what)"
        case .jetStream(let api, let code, let errorCode, let description):
            return "NATS JetStream: \(api) failed: \(description) (code \(code), err_code \(errorCode))"
        case .noStream(let subject):
            return "NATS JetStream: no stream captures subject '\(subject)' (or JetStream is not enabled on the server)"
        case .noResponders(let subject):
            return "NATS: no responders: nobody subscribes to '\(subject)'"
        case .timeout(let operation, let seconds):
            return "NATS: no reply to \(operation) within \(seconds) s"
        case .invalidArgument(let what):
            return "NATS: invalid argument: \(what)"
        }
    }
}
