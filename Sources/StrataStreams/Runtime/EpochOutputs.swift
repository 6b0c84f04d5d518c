import Foundation
import Strata

/// Applies committed output to an external system exactly once per epoch
/// (a transactional sink): e.g. SQLite, one transaction per epoch that
/// upserts the epoch's rows and records the epoch number.
///
/// Contract: `commit(epoch:records:)` is called with epochs in increasing
/// order; after a crash, epochs above `lastCommittedEpoch()` and up to the
/// last complete checkpoint are committed again (so the sink must record
/// the epoch atomically with the rows). Called on the pipeline's source thread.
public protocol EpochCommitter: AnyObject {
    /// The newest epoch whose rows are committed (0: none).
    func lastCommittedEpoch() throws -> UInt64
    /// Commits one epoch's rows atomically.
    func commit(epoch: UInt64, records: [SinkRecord]) throws
}

/// The pipeline's own transactional JSON-lines sink: each partition writes
/// an epoch's rows to `outputs/part-P/epoch-E.jsonl.tmp`, fsynced at the
/// epoch's barrier; when checkpoint E is complete the file is renamed to
/// `epoch-E.jsonl` (atomic), which commits it. Recovery renames staged
/// files of complete epochs and deletes those of later epochs, which the
/// replay writes again. With a combine stage its final rows are one more
/// writer, index `partitions`, in `outputs/combined/`.
final class EpochOutputs {
    let root: String
    let partitions: Int
    /// Writers: the partitions, and the combine stage if there is one.
    let writers: Int

    init(root: String, partitions: Int, combined: Bool = false) {
        self.root = root
        self.partitions = partitions
        self.writers = partitions + (combined ? 1 : 0)
    }

    /// Writer `p`'s directory: `part-p`, or `combined` for the combine stage.
    func partitionDirectory(_ p: Int) -> String { p < partitions ? "\(root)/part-\(p)" : "\(root)/combined" }
    static func fileName(_ epoch: UInt64) -> String { "epoch-\(String(format: "%010llu", epoch)).jsonl" }

    func stagedPath(_ p: Int, _ epoch: UInt64) -> String { "\(partitionDirectory(p))/\(Self.fileName(epoch)).tmp" }
    func committedPath(_ p: Int, _ epoch: UInt64) -> String { "\(partitionDirectory(p))/\(Self.fileName(epoch))" }

    func prepare() throws {
        for p in 0..<writers {
            try FileManager.default.createDirectory(atPath: partitionDirectory(p), withIntermediateDirectories: true)
        }
    }

    /// Makes epoch `epoch` visible: renames every partition's staged file.
    func commit(_ epoch: UInt64) throws {
        for p in 0..<writers {
            let staged = stagedPath(p, epoch)
            if FileManager.default.fileExists(atPath: staged) {
                guard rename(staged, committedPath(p, epoch)) == 0 else {
                    throw StrataError(.ioError, "cannot commit output: rename failed (errno \(errno))", file: staged)
                }
            }
            try syncDirectory(partitionDirectory(p))
        }
    }

    /// After a restart from checkpoint `complete`: commit staged epochs ≤ it, delete later ones.
    func recover(lastComplete complete: UInt64) throws {
        for p in 0..<writers {
            let dir = partitionDirectory(p)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                guard let epoch = Self.epoch(ofFile: name) else { continue }
                let path = "\(dir)/\(name)"
                if epoch > complete {
                    try FileManager.default.removeItem(atPath: path)
                } else if name.hasSuffix(".tmp") {
                    guard rename(path, committedPath(p, epoch)) == 0 else {
                        throw StrataError(.ioError, "cannot commit output: rename failed (errno \(errno))", file: path)
                    }
                }
            }
            try syncDirectory(dir)
        }
    }

    static func epoch(ofFile name: String) -> UInt64? {
        guard name.hasPrefix("epoch-") else { return nil }
        let digits = name.dropFirst(6).prefix { $0.isNumber }
        return UInt64(digits)
    }

    /// The committed rows of one epoch, all partitions in partition order,
    /// then the combine stage's.
    func records(ofEpoch epoch: UInt64) throws -> [SinkRecord] {
        var out: [SinkRecord] = []
        for p in 0..<writers {
            let path = committedPath(p, epoch)
            guard FileManager.default.fileExists(atPath: path) else { continue }
            out += try Self.read(path)
        }
        return out
    }

    static func read(_ path: String) throws -> [SinkRecord] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StrataError(.ioError, "cannot read committed output", file: path)
        }
        let decoder = JSONDecoder()
        var out: [SinkRecord] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n")) {
            lineNumber += 1
            do {
                out.append(try decoder.decode(SinkRecord.self, from: Data(line)))
            } catch {
                throw StrataError(.corruption, "output line \(lineNumber) is not a sink record: \(error)", file: path)
            }
        }
        return out
    }

    /// Every committed row, per partition in epoch order (what a reader of
    /// the JSON-lines sink sees), then — if the job has a combine stage —
    /// its final rows in epoch order.
    static func committedRecords(root: String) throws -> [[SinkRecord]] {
        var result: [[SinkRecord]] = []
        var p = 0
        while FileManager.default.fileExists(atPath: "\(root)/part-\(p)") {
            result.append(try committed(in: "\(root)/part-\(p)"))
            p += 1
        }
        if FileManager.default.fileExists(atPath: "\(root)/combined") { result.append(try committed(in: "\(root)/combined")) }
        return result
    }

    private static func committed(in dir: String) throws -> [SinkRecord] {
        let names = try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { $0.hasSuffix(".jsonl") && epoch(ofFile: $0) != nil }.sorted()
        var rows: [SinkRecord] = []
        for name in names { rows += try read("\(dir)/\(name)") }
        return rows
    }
}

/// Appends one epoch's rows to its staged file (partition thread).
final class StagedEpochWriter {
    private let outputs: EpochOutputs
    private let partition: Int
    private var handle: FileHandle?
    private var epoch: UInt64 = 0
    private var pending: [UInt8] = []
    private(set) var rowsWritten: UInt64 = 0

    init(outputs: EpochOutputs, partition: Int) {
        self.outputs = outputs
        self.partition = partition
    }

    func write(_ records: [SinkRecord], epoch: UInt64) throws {
        guard !records.isEmpty else { return }
        if handle == nil || self.epoch != epoch {
            try close()
            let path = outputs.stagedPath(partition, epoch)
            guard FileManager.default.createFile(atPath: path, contents: nil),
                  let h = FileHandle(forWritingAtPath: path) else {
                throw StrataError(.ioError, "cannot create staged output", file: path)
            }
            handle = h
            self.epoch = epoch
        }
        for record in records { SinkRecord.appendJSONLine(record, into: &pending) }
        rowsWritten += UInt64(records.count)
        if pending.count >= 1 << 20 {
            try handle!.write(contentsOf: Data(pending))
            pending.removeAll(keepingCapacity: true)
        }
    }

    /// Closes the current file if its epoch is ≤ `epoch` (the combine
    /// stage's file when epoch `epoch` commits).
    func close(ifAtMost epoch: UInt64) throws {
        if handle != nil && self.epoch <= epoch { try close() }
    }

    /// Writes, fsyncs and closes the current epoch's file (at its barrier).
    func close() throws {
        guard let h = handle else { return }
        if !pending.isEmpty { try h.write(contentsOf: Data(pending)) }
        pending.removeAll(keepingCapacity: true)
        try h.synchronize()
        try h.close()
        handle = nil
    }
}

extension SinkRecord {
    /// Appends `{"key":…,"stream":…,"value":…}` and a newline: the JSON
    /// object `JSONEncoder` with sorted keys would write (without escaping
    /// '/'), made without Foundation's encoder on the output path.
    static func appendJSONLine(_ record: SinkRecord, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"key":"#.utf8)
        appendJSONString(record.key, into: &out)
        out.append(contentsOf: #","stream":"#.utf8)
        appendJSONString(record.stream, into: &out)
        out.append(contentsOf: #","value":"#.utf8)
        appendJSONString(record.value, into: &out)
        out.append(contentsOf: "}\n".utf8)
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func appendJSONString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// fsync of a directory (so renames and new files in it are durable).
func syncDirectory(_ path: String) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw StrataError(.ioError, "cannot open directory to sync (errno \(errno))", file: path) }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw StrataError(.ioError, "directory fsync failed (errno \(errno))", file: path) }
}

/// Writes `data` to `path` atomically: temp file, fsync, rename, directory fsync.
func writeFileAtomically(_ data: Data, to path: String) throws {
    let temp = path + ".tmp"
    guard FileManager.default.createFile(atPath: temp, contents: data),
          let handle = FileHandle(forWritingAtPath: temp) else {
        throw StrataError(.ioError, "cannot write file", file: temp)
    }
    try handle.synchronize()
    try handle.close()
    guard rename(temp, path) == 0 else { throw StrataError(.ioError, "rename failed (errno \(errno))", file: temp) }
    try syncDirectory((path as NSString).deletingLastPathComponent)
}
