import Foundation
import Strata
import StrataStreams
import StrataStreamsSQLite
import Testing

/// The SQLite sink over libsqlite3: upserts per epoch in one transaction,
/// the committed epoch survives reopening, bytes of any text round-trip,
/// and failures are `StrataError`s naming the file.
@Suite struct SQLiteSinkTests {
    @Test func epochsUpsertAndSurviveReopening() throws {
        let dir = StateTestDirectory("sqlite-sink")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let path = dir.path + "/results.sqlite"
        do {
            let sink = try SQLiteEpochCommitter(path: path)
            #expect(try sink.lastCommittedEpoch() == 0)
            try sink.commit(epoch: 1, records: [SinkRecord(stream: "a", key: "k1", value: "{\"n\":1}"),
                                                SinkRecord(stream: "a", key: "k2", value: "x")])
            // A later epoch replaces a key's row and adds others.
            try sink.commit(epoch: 2, records: [SinkRecord(stream: "a", key: "k1", value: "{\"n\":2}"),
                                                SinkRecord(stream: "b", key: "k1", value: "é\u{0}z")])
        }
        let reopened = try SQLiteEpochCommitter(path: path)
        #expect(try reopened.lastCommittedEpoch() == 2)
        #expect(try reopened.rows() == [SinkRecord(stream: "a", key: "k1", value: "{\"n\":2}"),
                                        SinkRecord(stream: "a", key: "k2", value: "x"),
                                        SinkRecord(stream: "b", key: "k1", value: "é\u{0}z")])
        // An empty epoch still advances the committed epoch.
        try reopened.commit(epoch: 3, records: [])
        #expect(try reopened.lastCommittedEpoch() == 3)
    }

    @Test func unopenableFileIsAnIOErrorNamingIt() {
        let path = "/nonexistent-strata-dir/results.sqlite"
        #expect {
            _ = try SQLiteEpochCommitter(path: path)
        } throws: { error in
            guard let e = error as? StrataError else { return false }
            return e.kind == .ioError && e.file == path
        }
    }

    @Test func aFileThatIsNotSQLiteIsRefused() throws {
        let dir = StateTestDirectory("sqlite-notdb")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let path = dir.path + "/results.sqlite"
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try SQLiteEpochCommitter(path: path)
        } throws: { error in
            guard let e = error as? StrataError else { return false }
            return e.kind == .ioError && e.file == path && e.message.contains("not a database")
        }
    }
}
