import Foundation
import Strata
import Testing
@testable import StrataStreams

@Suite struct SourceTests {
    struct Row: Codable, Equatable, Sendable {
        var user: Int64
        var ts: Int64
    }

    private func write(_ text: String, _ dir: StateTestDirectory) throws -> String {
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let path = dir.path + "/events.jsonl"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func jsonLinesStopsAtAMalformedLineNamingLineOffsetAndReason() throws {
        let dir = StateTestDirectory("jsonl-stop")
        defer { dir.remove() }
        let path = try write("{\"user\":1,\"ts\":10}\n\n{\"user\":2,\"ts\":\"soon\"}\n{\"user\":3,\"ts\":30}\n", dir)
        let source = try JSONLinesSource<Row>(path: path)
        #expect(try source.next() == Row(user: 1, ts: 10))
        let error = #expect(throws: StrataError.self) { _ = try source.next() }
        #expect(error?.kind == .corruption)
        #expect(error?.description.contains("line 3") == true)
        #expect(error?.description.contains(path) == true)
        #expect(error?.offset == 20)          // the malformed line starts after 19 + 1 bytes
    }

    @Test func jsonLinesSkipsMalformedLinesWhenAskedAndCountsThem() throws {
        let dir = StateTestDirectory("jsonl-skip")
        defer { dir.remove() }
        let path = try write("{\"user\":1,\"ts\":10}\nnot json\n{\"user\":3}\n{\"user\":4,\"ts\":40}\n", dir)
        let source = try JSONLinesSource<Row>(path: path, policy: .skip)
        var rows: [Row] = []
        while let row = try source.next() { rows.append(row) }
        #expect(rows == [Row(user: 1, ts: 10), Row(user: 4, ts: 40)])
        #expect(source.skippedRecords == 2)
        #expect(source.lastSkipError?.description.contains("line 3") == true)
    }

    @Test func jsonLinesLeavesATornLastLineUnreadAndSeeksBack() throws {
        let dir = StateTestDirectory("jsonl-torn")
        defer { dir.remove() }
        let path = try write("{\"user\":1,\"ts\":10}\n{\"user\":2,\"ts\":20}\n{\"user\":3,", dir)
        let source = try JSONLinesSource<Row>(path: path)
        #expect(try source.next()?.user == 1)
        let afterFirst = source.position
        #expect(try source.next()?.user == 2)
        #expect(try source.next() == nil)                 // the torn tail is not a record yet
        #expect(source.position.record == 2)
        // The writer finishes the line; reading resumes there.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\"ts\":30}\n".utf8))
        try handle.close()
        #expect(try source.next()?.user == 3)
        try source.seek(to: afterFirst)
        #expect(try source.next()?.user == 2)
    }

    @Test func binaryLogRoundTripsSkipsBadRecordsAndRejectsImpossibleLengths() throws {
        let dir = StateTestDirectory("binlog")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let path = dir.path + "/events.bin"
        let writer = try BinaryLogWriter(path: path, codec: Int64Codec())
        for v: Int64 in [5, -7, 9] { try writer.append(v) }
        try writer.close()
        // A record of 3 bytes (not an Int64), then one more good record.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([3, 0, 0, 0, 1, 2, 3]))
        try handle.close()
        let more = try BinaryLogWriter(path: path, codec: Int64Codec())
        try more.append(11)
        try more.close()

        let strict = try BinaryLogSource(path: path, codec: Int64Codec())
        #expect(try [strict.next(), strict.next(), strict.next()] == [5, -7, 9])
        let error = #expect(throws: StrataError.self) { _ = try strict.next() }
        #expect(error?.description.contains("record 4") == true)
        #expect(error?.offset == 36)

        let lenient = try BinaryLogSource(path: path, codec: Int64Codec(), policy: .skip)
        var values: [Int64] = []
        while let v = try lenient.next() { values.append(v) }
        #expect(values == [5, -7, 9, 11])
        #expect(lenient.skippedRecords == 1)

        // A length no record can have is corruption, whatever the policy.
        let bad = dir.path + "/bad.bin"
        try Data([0xFF, 0xFF, 0xFF, 0x7F, 0]).write(to: URL(fileURLWithPath: bad))
        let source = try BinaryLogSource(path: bad, codec: Int64Codec(), policy: .skip)
        #expect(throws: StrataError.self) { _ = try source.next() }
    }

    @Test func generatorSourceSeeksByIndex() throws {
        let source = GeneratorSource<Int> { $0 < 5 ? Int($0) * 10 : nil }
        #expect(try source.next() == 0)
        #expect(try source.next() == 10)
        let position = source.position
        #expect(try [source.next(), source.next(), source.next(), source.next()] == [20, 30, 40, nil])
        try source.seek(to: position)
        #expect(try source.next() == 20)
    }
}

@Suite struct FlowAndLookupTests {
    @Test func flowsChainMapFilterFlatMapInOrder() throws {
        let flow = Flow<Int, Int>().filter { $0 % 2 == 1 }.map { $0 * 10 }.flatMap { [$0, $0 + 1] }.compactMap { $0 % 3 == 0 ? nil : $0 }
        var out: [Int] = []
        for x in 0..<6 { try flow.run(x) { out.append($0) } }
        #expect(out == [10, 11, 31, 50])
    }

    @Test func lookupTableLoadsOnceAndSurvivesACheckpointRestart() throws {
        let dir = StateTestDirectory("lookup")
        defer { dir.remove() }
        let backend = try StateBackend.open(at: dir.path + "/db", options: .testing())
        let table = try LookupTable(backend: backend, name: "ads", keyCodec: Int64Codec(), valueCodec: StringCodec())
        #expect(try table.loadIfEmpty([(1, "one"), (2, "two")]))
        #expect(try table.get(2) == "two")
        #expect(try table.get(3) == nil)
        try backend.checkpoint(to: dir.path + "/ckpt")
        try backend.close()
        let restored = try StateBackend.open(at: dir.path + "/ckpt", options: .testing())
        let again = try LookupTable(backend: restored, name: "ads", keyCodec: Int64Codec(), valueCodec: StringCodec())
        #expect(try again.loadIfEmpty([(9, "nine")]) == false)
        #expect(try again.get(1) == "one")
        #expect(try again.get(9) == nil)
        try restored.close()
    }
}
