import Foundation
import StrataTestSupport
import Strata
import StrataStreams
@testable import StrataStreamsRedis
import Testing

/// A plain connection to the test server, to look at the raw key layout.
func rawCommand(_ server: RedisTestServer, _ words: String...) throws -> RedisReply {
    let c = try RedisConnection(endpoint: try RedisEndpoint(parsing: server.address),
                                connectTimeout: .seconds(2), commandTimeout: .seconds(10))
    var args = RedisArguments()
    for w in words { args.append(w) }
    return try c.command(args)
}

func row(_ stream: String, _ key: String, _ value: String) -> SinkRecord {
    SinkRecord(stream: stream, key: key, value: value)
}

func sinkOptions(_ server: RedisTestServer, prefix: String = "t", layout: RedisKeyLayout = .strings) -> RedisSinkOptions {
    var options = RedisSinkOptions(address: server.address)
    options.keyPrefix = prefix
    options.layout = layout
    // Quick retries: the tests restart the server before the next call, or
    // want the failure.
    options.reconnectAttempts = 3
    options.reconnectDelay = .milliseconds(10)
    options.maxReconnectDelay = .milliseconds(50)
    return options
}

@Suite(.serialized) struct RedisEpochCommitterTests {
    @Test(arguments: [RedisKeyLayout.strings, .hashes])
    func commitsAnEpochOnceAndSkipsItsReplay(layout: RedisKeyLayout) throws {
        let server = try RedisTestServer("replay")
        defer { server.remove() }
        let sink = try RedisEpochCommitter(options: sinkOptions(server, layout: layout))
        #expect(try sink.lastCommittedEpoch() == 0)
        let first = [row("counts", "u1|0", "1"), row("counts", "u2|0", "5"), row("totals", "u1", "{\"n\":1}")]
        try sink.commit(epoch: 1, records: first)
        #expect(try sink.lastCommittedEpoch() == 1)
        #expect(try sink.contents() == first.sorted { ($0.stream, $0.key) < ($1.stream, $1.key) })

        // A replay of epoch 1 (after a crash of the job) changes nothing, even
        // with other rows: the epoch is recognized and skipped.
        try sink.commit(epoch: 1, records: [row("counts", "u1|0", "999"), row("other", "x", "y")])
        #expect(try sink.lastCommittedEpoch() == 1)
        #expect(try sink.contents().count == 3)
        #expect(try sink.contents().first { $0.key == "u1|0" }?.value == "1")

        try sink.commit(epoch: 2, records: [row("counts", "u1|0", "2")])
        #expect(try sink.lastCommittedEpoch() == 2)
        #expect(try sink.contents().first { $0.key == "u1|0" }?.value == "2")
        // An empty epoch still advances the progress (the next must follow it).
        try sink.commit(epoch: 3, records: [])
        #expect(try sink.lastCommittedEpoch() == 3)

        // The key layout, as a reader of the cache sees it.
        #expect(try rawCommand(server, "HGET", "t:progress", "pipeline").text == "3")
        switch layout {
        case .strings:
            #expect(try rawCommand(server, "GET", "t:counts:u1|0").text == "2")
            #expect(try rawCommand(server, "GET", "t:totals:u1").text == "{\"n\":1}")
        case .hashes:
            #expect(try rawCommand(server, "HGET", "t:counts", "u2|0").text == "5")
            #expect(try rawCommand(server, "HGET", "t:totals", "u1").text == "{\"n\":1}")
        }
        // A second committer on the same keys (the restarted job) sees the progress.
        let again = try RedisEpochCommitter(options: sinkOptions(server, layout: layout))
        #expect(try again.lastCommittedEpoch() == 3)
    }

    @Test func keepsTheLatestValuePerKey() throws {
        let seed: UInt64 = 7
        print("seed \(seed)")
        let server = try RedisTestServer("latest")
        defer { server.remove() }
        let sink = try RedisEpochCommitter(options: sinkOptions(server))
        var random = SplitMix64(seed: seed)
        var expected: [String: String] = [:]
        for epoch in UInt64(1)...20 {
            var rows: [SinkRecord] = []
            for _ in 0..<Int.random(in: 0...60, using: &random) {
                let r = row(["a", "b"].randomElement(using: &random)!, "k\(Int.random(in: 0..<25, using: &random))",
                            "v\(epoch)-\(Int.random(in: 0..<1000, using: &random))")
                rows.append(r)
                expected["\(r.stream)\u{0}\(r.key)"] = r.value
            }
            try sink.commit(epoch: epoch, records: rows)
        }
        let got = try sink.contents()
        #expect(got.count == expected.count)
        for r in got { #expect(expected["\(r.stream)\u{0}\(r.key)"] == r.value) }
        // Keys of any bytes a String holds, values with newlines and quotes.
        let odd = [row("s", "ключ 🗝 \"x\"", "line1\nline2\t\u{01}"), row("s", "", "empty key")]
        try sink.commit(epoch: 21, records: odd)
        #expect(try sink.contents().filter { $0.stream == "s" } == odd.sorted { $0.key < $1.key })
    }

    @Test func reconnectsAfterARedisRestartBetweenEpochs() throws {
        let server = try RedisTestServer("restart")
        defer { server.remove() }
        let sink = try RedisEpochCommitter(options: sinkOptions(server))
        try sink.commit(epoch: 1, records: [row("c", "a", "1"), row("c", "b", "1")])
        // A crash of Redis: the append-only file keeps what it acknowledged.
        server.kill()
        try server.start()
        try sink.commit(epoch: 2, records: [row("c", "a", "2")])
        #expect(sink.reconnectCount >= 1)
        // A clean restart too.
        server.stop()
        try server.start()
        #expect(try sink.lastCommittedEpoch() == 2)
        try sink.commit(epoch: 2, records: [row("c", "a", "replayed")])    // skipped
        #expect(try sink.contents() == [row("c", "a", "2"), row("c", "b", "1")])
        #expect(sink.reconnectCount >= 2)
    }

    @Test func failsClearlyWhenRedisStaysDownAndCommitsAfterItReturns() throws {
        let server = try RedisTestServer("down")
        defer { server.remove() }
        let sink = try RedisEpochCommitter(options: sinkOptions(server))
        try sink.commit(epoch: 1, records: [row("c", "a", "1")])
        server.kill()
        let error = #expect(throws: StrataError.self) { try sink.commit(epoch: 2, records: [row("c", "a", "2")]) }
        print(error?.description ?? "")
        #expect(error?.kind == .ioError)
        #expect(error?.message.contains("reconnect attempts") == true)
        #expect(error?.message.contains("epoch 2") == true)
        // Not committed: after Redis returns, the job's retry applies it.
        try server.start()
        #expect(try sink.lastCommittedEpoch() == 1)
        try sink.commit(epoch: 2, records: [row("c", "a", "2")])
        #expect(try sink.contents() == [row("c", "a", "2")])
    }

    @Test func aTimedOutCommitIsRetriedOnANewConnectionAndAppliedOnce() throws {
        let server = try RedisTestServer("timeout")
        defer { server.remove() }
        var options = sinkOptions(server)
        options.commandTimeout = .milliseconds(100)
        options.reconnectAttempts = 20        // ≈ 4 s of retries, far more than the pause
        options.reconnectDelay = .milliseconds(20)
        options.maxReconnectDelay = .milliseconds(100)
        let sink = try RedisEpochCommitter(options: options)
        try sink.commit(epoch: 1, records: [row("c", "a", "1")])
        // Redis holds every script for 400 ms: the commit's first reply
        // times out, the committer drops that connection and sends the same
        // script on new ones until one is answered. Whatever ran, the epoch
        // is applied once and only then reported.
        #expect(try rawCommand(server, "CLIENT", "PAUSE", "400", "WRITE") == .status("OK"))
        try sink.commit(epoch: 2, records: [row("c", "a", "2"), row("c", "b", "2")])
        #expect(sink.reconnectCount >= 1)
        #expect(try sink.lastCommittedEpoch() == 2)
        #expect(try sink.contents() == [row("c", "a", "2"), row("c", "b", "2")])
    }

    @Test func refusesAnEpochAfterAGapAndWritesNothing() throws {
        let server = try RedisTestServer("gap")
        defer { server.remove() }
        let sink = try RedisEpochCommitter(options: sinkOptions(server))
        try sink.commit(epoch: 1, records: [row("c", "a", "1")])
        let error = #expect(throws: StrataError.self) { try sink.commit(epoch: 3, records: [row("c", "a", "3"), row("c", "z", "3")]) }
        #expect(error?.message.contains("applied epoch 1") == true)
        #expect(try sink.lastCommittedEpoch() == 1)
        #expect(try sink.contents() == [row("c", "a", "1")])
    }

    @Test func aKeyOfTheWrongTypeFailsTheEpochBeforeAnyWrite() throws {
        let server = try RedisTestServer("wrongtype")
        defer { server.remove() }
        let sink = try RedisEpochCommitter(options: sinkOptions(server, layout: .hashes))
        _ = try rawCommand(server, "SET", "t:zzz", "not a hash")
        let error = #expect(throws: StrataError.self) {
            try sink.commit(epoch: 1, records: [row("aaa", "k", "1"), row("zzz", "k", "1")])
        }
        #expect(error?.message.contains("WRONGTYPE") == true)
        #expect(try sink.lastCommittedEpoch() == 0)
        #expect(try rawCommand(server, "EXISTS", "t:aaa") == .integer(0))
        // A stream named like the progress hash is refused up front.
        #expect(throws: StrataError.self) { try sink.commit(epoch: 1, records: [row("progress", "k", "1")]) }
    }

    @Test func badConfigurationFailsAtConstruction() throws {
        // Nothing listens on the port.
        let port = try LoopbackPort.unused()
        let noServer = #expect(throws: StrataError.self) {
            try RedisEpochCommitter(options: RedisSinkOptions(address: "127.0.0.1:\(port)"))
        }
        print(noServer?.description ?? "")
        #expect(noServer?.kind == .ioError)
        #expect(noServer?.message.contains("cannot connect to 127.0.0.1:\(port)") == true)
        // Addresses that do not parse.
        for address in ["", "localhost", "localhost:", "localhost:0", "localhost:65536", "host:12a", "::1:6379",
                        "[::1]", "unix:relative.sock", "a b:6379"] {
            let error = #expect(throws: StrataError.self) { try RedisEpochCommitter(options: RedisSinkOptions(address: address)) }
            #expect(error?.kind == .invalidArgument, "address \(address)")
            #expect(error?.message.contains("cannot parse the address") == true, "address \(address)")
        }
        #expect(try RedisEndpoint(parsing: "[::1]:6379") == .tcp(host: "::1", port: 6379))
        #expect(try RedisEndpoint(parsing: "unix:/run/redis.sock") == .unix(path: "/run/redis.sock"))
        var badPrefix = RedisSinkOptions(address: "127.0.0.1:6379")
        badPrefix.keyPrefix = ""
        #expect(throws: StrataError.self) { try RedisEpochCommitter(options: badPrefix) }

        // A server with a password.
        let server = try RedisTestServer("auth", arguments: ["--requirepass", "right"])
        defer { server.remove() }
        var wrong = sinkOptions(server)
        wrong.password = "wrong"
        let wrongPassword = #expect(throws: StrataError.self) { try RedisEpochCommitter(options: wrong) }
        print(wrongPassword?.description ?? "")
        #expect(wrongPassword?.kind == .invalidArgument)
        #expect(wrongPassword?.message.contains("AUTH") == true)
        let missing = #expect(throws: StrataError.self) { try RedisEpochCommitter(options: sinkOptions(server)) }
        #expect(missing?.message.contains("NOAUTH") == true)
        var right = sinkOptions(server)
        right.password = "right"
        right.database = 3
        let sink = try RedisEpochCommitter(options: right)
        try sink.commit(epoch: 1, records: [row("c", "a", "1")])
        #expect(try sink.contents() == [row("c", "a", "1")])
        // Epochs the script cannot compare exactly, and options out of range.
        for epoch: UInt64 in [0, (1 << 53) + 1] {
            let error = #expect(throws: StrataError.self) { try sink.commit(epoch: epoch, records: []) }
            #expect(error?.kind == .invalidArgument)
        }
        var negative = right
        negative.reconnectAttempts = -1
        #expect(throws: StrataError.self) { try RedisEpochCommitter(options: negative) }
    }
}
