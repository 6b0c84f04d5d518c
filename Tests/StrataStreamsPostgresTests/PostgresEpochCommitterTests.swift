import Foundation
import StrataTestSupport
import Strata
import StrataStreams
@testable import StrataStreamsPostgres
import Testing

private let totals = PostgresTableSchema(stream: "totals", columns: [PostgresColumn("visits", .bigint)])
private let events = PostgresTableSchema(stream: "events", table: "event_log", keyed: false)

private func row(_ stream: String, _ key: String, _ value: String) -> SinkRecord {
    SinkRecord(stream: stream, key: key, value: value)
}

@Suite(.serialized) struct PostgresEpochCommitterTests {
    @Test func epochsCommitOnceAndReplaysAreSkipped() throws {
        let server = try PostgresTestServer("commit")
        defer { server.remove() }
        let sink = try PostgresEpochCommitter(options: server.options([totals, events]))
        #expect(try sink.lastCommittedEpoch() == 0)
        try sink.commit(epoch: 1, records: [row("totals", "a", #"{"visits":1}"#), row("events", "a", #"{"e":1}"#)])
        try sink.commit(epoch: 2, records: [row("totals", "b", #"{"visits":1}"#), row("events", "b", #"{"e":2}"#)])
        #expect(try sink.lastCommittedEpoch() == 2)
        // A replay of epochs 1 and 2 (with other rows, to see that nothing is written).
        try sink.commit(epoch: 1, records: [row("totals", "a", #"{"visits":99}"#), row("events", "z", #"{"e":99}"#)])
        try sink.commit(epoch: 2, records: [row("events", "z", #"{"e":99}"#)])
        #expect(try sink.lastCommittedEpoch() == 2)
        #expect(try sink.rows(ofStream: "totals").map(\.key) == ["a", "b"])
        #expect(try sink.rows(ofStream: "totals").first?.value == #"{"visits": 1}"#)
        #expect(try sink.rows(ofStream: "events").map(\.key) == ["a", "b"])
        // An empty epoch still advances the progress.
        try sink.commit(epoch: 3, records: [])
        // A new committer (a restarted job) sees the progress, and the declared column.
        let again = try PostgresEpochCommitter(options: server.options([totals, events]))
        #expect(try again.lastCommittedEpoch() == 3)
        #expect(try again.query("SELECT key, visits::text, epoch::text FROM totals ORDER BY key")
                == [["a", "1", "1"], ["b", "1", "2"]])
        #expect(try again.query("SELECT epoch::text, seq::text, key FROM event_log ORDER BY epoch, seq")
                == [["1", "0", "a"], ["2", "0", "b"]])
        // Another sink name in the same database has its own progress.
        let other = try PostgresEpochCommitter(options: server.options([PostgresTableSchema(stream: "totals", table: "other_totals")],
                                                                       sinkName: "other"))
        #expect(try other.lastCommittedEpoch() == 0)
    }

    @Test func aGapIsAnErrorAndWritesNothing() throws {
        let server = try PostgresTestServer("gap")
        defer { server.remove() }
        let sink = try PostgresEpochCommitter(options: server.options([totals]))
        try sink.commit(epoch: 1, records: [row("totals", "a", #"{"visits":1}"#)])
        let error = #expect(throws: StrataError.self) {
            try sink.commit(epoch: 3, records: [row("totals", "b", #"{"visits":1}"#)])
        }
        #expect(error?.kind == .ioError)
        #expect(error?.message.contains("committed epoch 1") == true)
        #expect(try sink.lastCommittedEpoch() == 1)
        #expect(try sink.rows(ofStream: "totals").map(\.key) == ["a"])
        // The committer stays usable: the next epoch commits.
        try sink.commit(epoch: 2, records: [row("totals", "b", #"{"visits":1}"#)])
        #expect(try sink.lastCommittedEpoch() == 2)
    }

    @Test func keyedRowsAreUpsertedAndTheLastRowOfAKeyWins() throws {
        let server = try PostgresTestServer("upsert")
        defer { server.remove() }
        let sink = try PostgresEpochCommitter(options: server.options([totals]))
        try sink.commit(epoch: 1, records: [row("totals", "a", #"{"visits":1}"#), row("totals", "b", #"{"visits":1}"#),
                                            row("totals", "a", #"{"visits":2}"#)])
        try sink.commit(epoch: 2, records: [row("totals", "b", #"{"visits":2}"#), row("totals", "c", #"{"visits":1}"#)])
        #expect(try sink.query("SELECT key, visits::text, epoch::text FROM totals ORDER BY key")
                == [["a", "2", "1"], ["b", "2", "2"], ["c", "1", "2"]])
        // A value without the declared field gives NULL; one that does not convert fails the epoch.
        try sink.commit(epoch: 3, records: [row("totals", "d", #"{"other":1}"#)])
        #expect(try sink.query("SELECT visits::text FROM totals WHERE key = 'd'") == [[nil]])
        let bad = #expect(throws: StrataError.self) {
            try sink.commit(epoch: 4, records: [row("totals", "a", #"{"visits":"many"}"#)])
        }
        #expect(bad?.kind == .invalidArgument)
        #expect(bad?.message.contains("22P02") == true)
        let notJSON = #expect(throws: StrataError.self) {
            try sink.commit(epoch: 4, records: [row("totals", "a", "not json")])
        }
        #expect(notJSON?.message.contains("epoch 4") == true)
        let undeclared = #expect(throws: StrataError.self) {
            try sink.commit(epoch: 4, records: [row("nope", "a", "1")])
        }
        #expect(undeclared?.message.contains("\"nope\"") == true)
        #expect(try sink.lastCommittedEpoch() == 3)
        #expect(try sink.query("SELECT visits::text FROM totals WHERE key = 'a'") == [["2"]])
    }

    @Test func aServerRestartBetweenEpochsIsRiddenThrough() throws {
        let server = try PostgresTestServer("restart")
        defer { server.remove() }
        var options = server.options([totals])
        options.reconnectAttempts = 3
        let sink = try PostgresEpochCommitter(options: options)
        try sink.commit(epoch: 1, records: [row("totals", "a", #"{"visits":1}"#)])
        // A crash (immediate shutdown) and restart: the committer reconnects.
        server.kill()
        try server.start()
        try sink.commit(epoch: 2, records: [row("totals", "b", #"{"visits":1}"#)])
        #expect(sink.reconnectCount >= 1)
        #expect(try sink.lastCommittedEpoch() == 2)
        // Server down for good: the call fails clearly after its retries...
        server.stop()
        let error = #expect(throws: StrataError.self) { try sink.commit(epoch: 3, records: [row("totals", "c", #"{"visits":1}"#)]) }
        #expect(error?.kind == .ioError)
        #expect(error?.message.contains("reconnect attempts") == true)
        // ... and after the server is back a new committer (a restarted job) resumes.
        try server.start()
        let resumed = try PostgresEpochCommitter(options: options)
        #expect(try resumed.lastCommittedEpoch() == 2)
        try resumed.commit(epoch: 3, records: [row("totals", "c", #"{"visits":1}"#)])
        #expect(try resumed.rows(ofStream: "totals").map(\.key) == ["a", "b", "c"])
    }

    @Test func badConfigurationFailsAtConstruction() throws {
        let server = try PostgresTestServer("config")
        defer { server.remove() }
        // Wrong password.
        var wrong = server.options([totals])
        wrong.password = "not-the-password"
        let refused = #expect(throws: StrataError.self) { try PostgresEpochCommitter(options: wrong) }
        #expect(refused?.kind == .invalidArgument)
        #expect(refused?.message.contains("refused user \"postgres\"") == true)
        // Unknown database.
        var database = server.options([totals])
        database.database = "no_such_db"
        let unknown = #expect(throws: StrataError.self) { try PostgresEpochCommitter(options: database) }
        #expect(unknown?.message.contains("database \"no_such_db\" does not exist") == true)
        // No server on the port.
        var nobody = server.options([totals])
        nobody.port = try LoopbackPort.unused()
        let missing = #expect(throws: StrataError.self) { try PostgresEpochCommitter(options: nobody) }
        #expect(missing?.kind == .ioError)
        #expect(missing?.message.contains("cannot connect to 127.0.0.1:\(nobody.port)") == true)
        // Bad options never reach the server.
        let badName = #expect(throws: StrataError.self) {
            try PostgresEpochCommitter(options: server.options([PostgresTableSchema(stream: "x", table: "Bad Name")]))
        }
        #expect(badName?.message.contains("table name \"Bad Name\"") == true)
        // An existing table of another shape.
        _ = try PostgresEpochCommitter(options: server.options([PostgresTableSchema(stream: "t", table: "shaped")]))
        let shape = #expect(throws: StrataError.self) {
            try PostgresEpochCommitter(options: server.options([PostgresTableSchema(stream: "t", table: "shaped",
                                                                                    columns: [PostgresColumn("n", .bigint)])]))
        }
        #expect(shape?.message.contains("exists without column n") == true)
    }
}
