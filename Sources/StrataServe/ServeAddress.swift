import Strata

/// A listening address, `HOST:PORT` (`127.0.0.1:9464`, `localhost:0`,
/// `[::1]:9464`); port 0 lets the system pick a free port.
struct ServeAddress: Equatable {
    var host: String
    var port: Int

    /// Parses `text`; anything else than `HOST:PORT` with a port in
    /// 0...65535 is an `.invalidArgument` error naming the text.
    init(parsing text: String) throws {
        func bad(_ why: String) -> StrataError {
            StrataError(.invalidArgument, "metrics server: bad address \"\(text)\": \(why) (expected HOST:PORT, e.g. 127.0.0.1:9464)")
        }
        guard let colon = text.lastIndex(of: ":") else { throw bad("no port") }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw bad("no host") }
        guard !host.contains(where: { $0.isWhitespace || $0 == "/" }) else { throw bad("the host has spaces or slashes") }
        guard let port = Int(portText), (0...65_535).contains(port) else { throw bad("the port is not a number in 0...65535") }
        self.host = host
        self.port = port
    }
}
