import Foundation
import Strata
import StrataStreams

/// Runs `body` on a thread of its own and awaits it: blocking work (a
/// pipeline run, a socket read) stays off the Swift concurrency pool, which
/// the server under test needs to answer.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 4 << 20
        thread.start()
    }
}

/// An HTTP response as `httpGet` read it.
struct HTTPReply: Sendable {
    var status: Int
    var headers: [String: String]
    var body: String
}

/// GET `path` from 127.0.0.1:`port` over a plain socket (HTTP/1.1,
/// `Connection: close`, read to the end; chunked bodies decoded). Blocking:
/// call it through `offPool`.
func httpGet(port: Int, path: String) throws -> HTTPReply {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw StrataError(.ioError, "socket: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw StrataError(.ioError, "connect to port \(port): errno \(errno)") }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
    var sent = 0
    while sent < request.count {
        let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw StrataError(.ioError, "send: errno \(errno)") }
        sent += n
    }
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { throw StrataError(.ioError, "recv: errno \(errno)") }
        if n == 0 { break }
        data += buffer[0..<n]
    }
    let text = String(decoding: data, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else { throw StrataError(.corruption, "no HTTP header end in: \(text.prefix(200))") }
    let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
    let statusParts = head.first?.split(separator: " ") ?? []
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
        throw StrataError(.corruption, "bad status line: \(head.first ?? "")")
    }
    var headers: [String: String] = [:]
    for line in head.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    var body = String(text[split.upperBound...])
    if headers["transfer-encoding"] == "chunked" {
        var decoded = ""
        var rest = Substring(body)
        while let lineEnd = rest.range(of: "\r\n"), let size = Int(rest[..<lineEnd.lowerBound], radix: 16), size > 0 {
            let start = lineEnd.upperBound
            let end = rest.utf8.index(start, offsetBy: size)
            decoded += rest[start..<end]
            rest = rest[end...].dropFirst(2)
        }
        body = decoded
    }
    return HTTPReply(status: status, headers: headers, body: body)
}

/// A record of the test job: key, event time.
struct TestEvent: Sendable {
    var key: UInt64
    var ts: Int64
}

/// Events from a seed: record i alone decides event i (seekable); about 1 in
/// 50 is late (far behind the others).
func testEvents(seed: UInt64, count: UInt64) -> (UInt64) -> TestEvent? {
    { i in
        guard i < count else { return nil }
        var x = (seed &* 0x9E37_79B9_7F4A_7C15) ^ (i &* 0xBF58_476D_1CE4_E5B9)
        x ^= x >> 31
        let late = x % 50 == 0
        return TestEvent(key: x % 500, ts: Int64(i) * 10 - (late ? 5_000 : Int64(x % 100)))
    }
}

/// Writes each event into the partition's engine (so the engine has levels
/// to report), emits a row for every 10th, and counts late events.
final class TestLogic: PartitionLogic {
    let database: Database
    var watermark = Int64.min
    var late = 0
    var seen = 0

    init(_ context: PartitionContext) { database = context.backend.database }

    func process(_ record: TestEvent, timestamp: Int64, output: OutputCollector) throws {
        seen += 1
        if timestamp <= watermark { late += 1 }
        var key = Array("k".utf8)
        withUnsafeBytes(of: record.key.bigEndian) { key += $0 }
        try database.put(key, [UInt8](repeating: UInt8(truncatingIfNeeded: seen), count: 200))
        if seen % 10 == 0 { output.emit(stream: "rows", key: "\(record.key)", value: "{\"ts\":\(timestamp)}") }
    }

    func processWatermark(_ watermark: Int64, output: OutputCollector) throws { self.watermark = watermark }

    var counters: [String: Int] { ["late events": late] }
}
