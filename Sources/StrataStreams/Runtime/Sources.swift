import Foundation
import Strata

/// Where a replayable source is: the byte offset of the next record and
/// its index (records before it). Stored in every pipeline checkpoint.
public struct SourcePosition: Codable, Sendable, Hashable, CustomStringConvertible {
    /// Byte offset of the next record (for generators: equal to `record`).
    public var offset: UInt64
    /// Number of records before the next one (line numbers are `record + 1`).
    public var record: UInt64

    public init(offset: UInt64 = 0, record: UInt64 = 0) {
        self.offset = offset
        self.record = record
    }

    public static let start = SourcePosition()
    public var description: String { "record \(record) at byte \(offset)" }
}

/// A source that can go back to a position it reported: what exactly-once
/// recovery needs (the pipeline seeks it to the last checkpoint's position
/// and replays).
///
/// Thread safety: used by one thread (the pipeline's source thread).
public protocol ReplayableSource<Record>: AnyObject {
    associatedtype Record
    /// The position of the next record `next()` returns.
    var position: SourcePosition { get }
    /// Moves to a position this source reported earlier.
    func seek(to position: SourcePosition) throws
    /// The next record, or nil at the end of the input. May block (a file
    /// read); a live source that can have no record yet implements `poll`.
    func next() throws -> Record?
    /// The next record if one is ready within `timeout`, `.pending` if none
    /// is (a live source between records: the pipeline then sends
    /// barriers, commits and timed watermarks, and calls again), or `.end`
    /// at the end of the input. Default: `next()`, never `.pending`.
    func poll(timeout: Duration) throws -> SourcePoll<Record>
    /// Whether records arrive in real time (a broker, a socket, a paced
    /// generator) rather than as fast as they can be read (a file). A live
    /// source gets timed watermarks (`PipelineOptions.watermarkInterval`)
    /// while records flow too; for other sources watermarks stay at fixed
    /// record indexes, so a replay is deterministic. Default false.
    var isLive: Bool { get }
}

extension ReplayableSource {
    /// Not live.
    public var isLive: Bool { false }

    /// `next()`: a record, or `.end`.
    public func poll(timeout: Duration) throws -> SourcePoll<Record> {
        if let record = try next() { return .record(record) }
        return .end
    }
}

/// What a source's `poll` returns.
public enum SourcePoll<Record> {
    /// The next record.
    case record(Record)
    /// No record is ready yet; the input has not ended.
    case pending
    /// The input has ended.
    case end
}

/// What a log source does with a record it cannot decode.
public enum MalformedInputPolicy: Sendable, Hashable {
    /// Throw a `StrataError` (`.corruption`) naming file, line/record, offset and reason.
    case stop
    /// Skip the record, count it, remember the error (`skippedRecords`, `lastSkipError`).
    case skip
}

/// Reads a file sequentially through a buffer, by byte offset.
final class BufferedFileReader {
    let path: String
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var bufferStart: UInt64 = 0      // file offset of buffer[0]
    private var cursor = 0                   // index into buffer
    private var atEOF = false
    private static let chunk = 1 << 20

    init(path: String) throws {
        self.path = path
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StrataError(.ioError, "cannot open event log for reading", file: path)
        }
        self.handle = handle
    }

    deinit { try? handle.close() }

    var offset: UInt64 { bufferStart + UInt64(cursor) }

    func seek(to offset: UInt64) throws {
        try handle.seek(toOffset: offset)
        buffer.removeAll(keepingCapacity: true)
        bufferStart = offset
        cursor = 0
        atEOF = false
    }

    /// Ensures `count` bytes are buffered from the cursor; false at end of file.
    private func fill(_ count: Int) throws -> Bool {
        while buffer.count - cursor < count {
            if atEOF { return false }
            if cursor > 0 {
                buffer.removeFirst(cursor)
                bufferStart += UInt64(cursor)
                cursor = 0
            }
            let data = try handle.read(upToCount: Self.chunk) ?? Data()
            if data.isEmpty { atEOF = true } else { buffer.append(contentsOf: data) }
        }
        return true
    }

    /// The next `count` bytes, or nil if the file ends first (cursor unchanged then).
    func read(_ count: Int) throws -> ArraySlice<UInt8>? {
        guard try fill(count) else { return nil }
        defer { cursor += count }
        return buffer[cursor..<(cursor + count)]
    }

    /// The bytes up to (not including) the next '\n', consuming the newline;
    /// `complete` is false for a last line without a newline. nil at end of file.
    func readLine() throws -> (line: ArraySlice<UInt8>, complete: Bool)? {
        var scanned = 0
        while true {
            if let index = buffer[(cursor + scanned)...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[cursor..<index]
                cursor = index + 1
                return (line, true)
            }
            scanned = buffer.count - cursor
            if try !fill(scanned + 1) {
                guard buffer.count > cursor else { return nil }
                let line = buffer[cursor...]
                cursor = buffer.count
                return (line, false)
            }
        }
    }
}

/// An append-only event log of JSON lines, one `Decodable` record per line
/// (empty lines are skipped). Position = byte offset of the next line.
/// A last line without its newline is treated as not yet written (a torn
/// append): the source ends before it.
public final class JSONLinesSource<Record: Decodable>: ReplayableSource {
    private let reader: BufferedFileReader
    private let decoder = JSONDecoder()
    /// What happens to a malformed line.
    public let policy: MalformedInputPolicy
    public private(set) var position = SourcePosition.start
    /// Lines skipped under `.skip`.
    public private(set) var skippedRecords = 0
    /// The last skip's reason (file, line, offset, error).
    public private(set) var lastSkipError: StrataError?

    public init(path: String, policy: MalformedInputPolicy = .stop) throws {
        reader = try BufferedFileReader(path: path)
        self.policy = policy
    }

    public func seek(to position: SourcePosition) throws {
        try reader.seek(to: position.offset)
        self.position = position
    }

    public func next() throws -> Record? {
        while true {
            let start = reader.offset
            guard let (line, complete) = try reader.readLine(), complete else {
                try reader.seek(to: position.offset)       // leave a torn tail unread
                return nil
            }
            let lineNumber = position.record + 1
            position = SourcePosition(offset: reader.offset, record: position.record + 1)
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
            do {
                return try decoder.decode(Record.self, from: Data(line))
            } catch {
                let failure = StrataError(.corruption, "event log line \(lineNumber): not a \(Record.self) JSON object: \(error)",
                                          file: reader.path, offset: start)
                if policy == .stop { throw failure }
                skippedRecords += 1
                lastSkipError = failure
            }
        }
    }
}

/// Appends JSON lines to an event log (creating it).
public final class JSONLinesWriter<Record: Encodable> {
    private let handle: FileHandle
    private let encoder = JSONEncoder()
    private var pending = Data()

    public init(path: String) throws {
        handle = try openForAppending(path)
        encoder.outputFormatting = [.sortedKeys]
    }

    public func append(_ record: Record) throws {
        pending.append(try encoder.encode(record))
        pending.append(UInt8(ascii: "\n"))
        if pending.count >= 1 << 20 { try flush() }
    }

    /// Writes buffered lines and fsyncs.
    public func flush() throws {
        if !pending.isEmpty { try handle.write(contentsOf: pending) }
        pending.removeAll(keepingCapacity: true)
        try handle.synchronize()
    }

    public func close() throws {
        try flush()
        try handle.close()
    }
}

/// An append-only binary event log: records `[length: 4 LE][payload]`,
/// payloads encoded by a `StateCodec`. Position = byte offset of the next
/// record. A record cut short at the end of the file (torn append) ends the
/// input before it.
public final class BinaryLogSource<Codec: StateCodec>: ReplayableSource {
    public typealias Record = Codec.Value
    private let reader: BufferedFileReader
    private let codec: Codec
    /// What happens to a record the codec rejects.
    public let policy: MalformedInputPolicy
    public private(set) var position = SourcePosition.start
    public private(set) var skippedRecords = 0
    public private(set) var lastSkipError: StrataError?
    /// Longest record accepted; a larger length is corruption.
    public static var maxRecordBytes: Int { 64 << 20 }

    public init(path: String, codec: Codec, policy: MalformedInputPolicy = .stop) throws {
        reader = try BufferedFileReader(path: path)
        self.codec = codec
        self.policy = policy
    }

    public func seek(to position: SourcePosition) throws {
        try reader.seek(to: position.offset)
        self.position = position
    }

    public func next() throws -> Codec.Value? {
        while true {
            let start = reader.offset
            guard let header = try reader.read(4) else {
                try reader.seek(to: position.offset)
                return nil
            }
            let length = Int(header.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) })
            guard length <= Self.maxRecordBytes else {
                throw StrataError(.corruption, "binary event log record \(position.record + 1): length \(length),"
                                  + " expected at most \(Self.maxRecordBytes)", file: reader.path, offset: start)
            }
            guard let body = try reader.read(length) else {
                try reader.seek(to: position.offset)
                return nil
            }
            let index = position.record + 1
            position = SourcePosition(offset: reader.offset, record: position.record + 1)
            do {
                return try body.withUnsafeBytes { try codec.decode($0) }
            } catch {
                let failure = StrataError(.corruption, "binary event log record \(index): \(error)", file: reader.path, offset: start)
                if policy == .stop { throw failure }
                skippedRecords += 1
                lastSkipError = failure
            }
        }
    }
}

/// Appends length-prefixed records to a binary event log.
public final class BinaryLogWriter<Codec: StateCodec> {
    private let handle: FileHandle
    private let codec: Codec
    private var pending: [UInt8] = []

    public init(path: String, codec: Codec) throws {
        handle = try openForAppending(path)
        self.codec = codec
    }

    public func append(_ record: Codec.Value) throws {
        let lengthAt = pending.count
        pending.append(contentsOf: [0, 0, 0, 0])
        codec.encode(record, into: &pending)
        let length = UInt32(pending.count - lengthAt - 4)
        withUnsafeBytes(of: length.littleEndian) { bytes in
            for i in 0..<4 { pending[lengthAt + i] = bytes[i] }
        }
        if pending.count >= 1 << 20 { try flush() }
    }

    public func flush() throws {
        if !pending.isEmpty { try handle.write(contentsOf: Data(pending)) }
        pending.removeAll(keepingCapacity: true)
        try handle.synchronize()
    }

    public func close() throws {
        try flush()
        try handle.close()
    }
}

/// A deterministic generator: record i is `make(i)` (nil ends the input).
/// Position = record index, so seeking is free: generators for benchmarks
/// and tests compute record i from a seed and i alone.
public final class GeneratorSource<Record>: ReplayableSource {
    private let make: (UInt64) -> Record?
    public private(set) var position = SourcePosition.start

    public init(_ make: @escaping (UInt64) -> Record?) { self.make = make }

    public func seek(to position: SourcePosition) throws { self.position = position }

    public func next() throws -> Record? {
        guard let record = make(position.record) else { return nil }
        position = SourcePosition(offset: position.record + 1, record: position.record + 1)
        return record
    }
}

/// Opens an event log for appending, creating it if missing.
private func openForAppending(_ path: String) throws -> FileHandle {
    if !FileManager.default.fileExists(atPath: path) {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw StrataError(.ioError, "cannot create event log", file: path)
        }
    }
    guard let handle = FileHandle(forWritingAtPath: path) else {
        throw StrataError(.ioError, "cannot open event log for writing", file: path)
    }
    try handle.seekToEnd()
    return handle
}
