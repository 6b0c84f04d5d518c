/// NATS message headers (the `NATS/1.0` block of HPUB/HMSG): ordered
/// name/value pairs (a name may repeat) and, on messages the server makes,
/// an inline status such as `404 No Messages` or `408 Request Timeout`.
///
/// Names compare case-sensitively, as the server does when it reads
/// `Nats-Msg-Id`. Value semantics; Sendable.
public struct NATSHeaders: Sendable, Hashable {
    /// The pairs in wire order.
    public var fields: [(name: String, value: String)] {
        get { storage.map { ($0.name, $0.value) } }
        set { storage = newValue.map { Field(name: $0.name, value: $0.value) } }
    }
    /// The status code of a server-made message (e.g. 404, 408, 503), or nil.
    public var status: Int?
    /// The status line's description (e.g. "No Messages"), or "".
    public var statusDescription: String = ""

    struct Field: Sendable, Hashable { var name: String; var value: String }
    private var storage: [Field] = []

    /// Headers with these fields in order, and no status.
    public init(_ fields: [(String, String)] = []) {
        storage = fields.map { Field(name: $0.0, value: $0.1) }
    }

    /// The first value of `name`, or nil when absent.
    public subscript(name: String) -> String? {
        get { storage.first { $0.name == name }?.value }
        set {
            storage.removeAll { $0.name == name }
            if let newValue { storage.append(Field(name: name, value: newValue)) }
        }
    }

    /// Adds a value (keeping earlier values of the same name).
    public mutating func append(_ name: String, _ value: String) { storage.append(Field(name: name, value: value)) }

    /// True when there is nothing to send (no fields and no status).
    public var isEmpty: Bool { storage.isEmpty && status == nil }

    /// The wire form: `NATS/1.0\r\n` (or `NATS/1.0 <status> <desc>\r\n`),
    /// `Name: Value\r\n` per field, and a blank line.
    func encoded() -> [UInt8] {
        var text = "NATS/1.0"
        if let status { text += " \(status)" + (statusDescription.isEmpty ? "" : " \(statusDescription)") }
        text += "\r\n"
        for field in storage { text += "\(field.name): \(field.value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// Parses a header block; nil if it does not start with `NATS/1.0`.
    static func parse(_ bytes: ArraySlice<UInt8>) -> NATSHeaders? {
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        var lines = text.components(separatedByCRLF: ())
        guard let first = lines.first, first.hasPrefix("NATS/1.0") else { return nil }
        lines.removeFirst()
        var headers = NATSHeaders()
        let statusPart = first.dropFirst("NATS/1.0".count).drop { $0 == " " }
        if !statusPart.isEmpty {
            let code = statusPart.prefix { $0.isNumber }
            headers.status = Int(code)
            headers.statusDescription = String(statusPart.dropFirst(code.count).drop { $0 == " " })
        }
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            let value = String(line[line.index(after: colon)...].drop { $0 == " " })
            headers.append(name, value)
        }
        return headers
    }
}

extension String {
    /// Splits at "\r\n" (Swift treats "\r\n" as one Character).
    fileprivate func components(separatedByCRLF _: ()) -> [String] {
        split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
    }
}

/// One message delivered by the server (MSG or HMSG). Sendable value.
public struct NATSMessage: Sendable, Hashable {
    /// The subject it was published to.
    public var subject: String
    /// The reply subject (`_INBOX…` for requests, `$JS.ACK…` for
    /// JetStream deliveries), or nil.
    public var replyTo: String?
    /// Headers (HMSG), or nil for a plain MSG.
    public var headers: NATSHeaders?
    /// The payload bytes.
    public var payload: [UInt8]

    /// A message value (tests and tools; the client makes them from MSG/HMSG).
    public init(subject: String, replyTo: String? = nil, headers: NATSHeaders? = nil, payload: [UInt8]) {
        self.subject = subject
        self.replyTo = replyTo
        self.headers = headers
        self.payload = payload
    }

    /// The payload as UTF-8 text (invalid bytes replaced).
    public var text: String { String(decoding: payload, as: UTF8.self) }

    /// The status of a server-made message (404, 408, 409, 503), or nil.
    public var status: Int? { headers?.status }
}
