import StrataStreams

/// The Lua script that applies one epoch to Redis, and the arguments it
/// takes. Redis runs a script atomically (no other command runs in
/// between, and its effects reach the AOF as one MULTI/EXEC block), so the
/// check of the progress hash, the result writes and the new epoch number
/// land together or not at all.
///
/// Redis does not roll a script back when a command inside it fails, so
/// the script does everything that can fail before its first write: the
/// progress field is read and parsed, and (hashes layout) every target key
/// is checked to be a hash or absent. `SET` cannot fail on a key of another
/// type (it replaces it). Out of memory is refused at the script's first
/// write, before anything changed (Redis' rule for scripts without flags).
enum RedisCommitScript {
    /// KEYS[1]: the progress hash. KEYS[2…]: strings layout, one key per
    /// row; hashes layout, one key per hash.
    /// ARGV[1]: the sink's field; ARGV[2]: the epoch (decimal); ARGV[3]:
    /// `strings` or `hashes`; then, strings: ARGV[3+i] is KEYS[1+i]'s value;
    /// hashes: per hash in KEYS order, its field count n and n field/value
    /// pairs.
    /// Returns {'applied', epoch}, {'skipped', last} (epoch ≤ last: already
    /// applied) or {'gap', last} (epoch > last + 1: epochs are missing, so
    /// nothing is written).
    static let source = """
        local last = redis.call('HGET', KEYS[1], ARGV[1])
        if not last then last = '0' end
        local lastNumber = tonumber(last)
        if lastNumber == nil then
          return redis.error_reply('STRATA progress field ' .. ARGV[1] .. ' of ' .. KEYS[1] .. ' is not a number: ' .. last)
        end
        local epoch = tonumber(ARGV[2])
        if epoch <= lastNumber then return {'skipped', last} end
        if epoch ~= lastNumber + 1 then return {'gap', last} end
        if ARGV[3] == 'hashes' then
          for i = 2, #KEYS do
            local t = redis.call('TYPE', KEYS[i]).ok
            if t ~= 'hash' and t ~= 'none' then
              return redis.error_reply('WRONGTYPE STRATA key ' .. KEYS[i] .. ' holds a ' .. t .. ', not a hash; nothing of epoch ' .. ARGV[2] .. ' was written')
            end
          end
          local a = 4
          for i = 2, #KEYS do
            local n = tonumber(ARGV[a])
            a = a + 1
            for j = 1, n do
              redis.call('HSET', KEYS[i], ARGV[a], ARGV[a + 1])
              a = a + 2
            end
          end
        else
          for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 2]) end
        end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        return {'applied', ARGV[2]}
        """

    /// The largest epoch the script compares exactly (Lua 5.1 numbers are
    /// doubles: integers are exact up to 2^53).
    static let maxEpoch: UInt64 = 1 << 53

    /// The arguments after `EVALSHA sha` / `EVAL source`: numkeys, keys,
    /// argv. `rows` are the epoch's rows with only the last value of each
    /// (stream, key) kept, in first-appearance order.
    static func arguments(into args: inout RedisArguments, epoch: UInt64, rows: [SinkRecord],
                          prefix: String, sinkName: String, layout: RedisKeyLayout) {
        let progressKey = RedisKeys.progress(prefix: prefix)
        switch layout {
        case .strings:
            args.reserve(arguments: 4 + 2 * rows.count, bytes: rows.reduce(0) { $0 + $1.stream.utf8.count + $1.key.utf8.count + $1.value.utf8.count + prefix.utf8.count + 2 })
            args.append(String(1 + rows.count))
            args.append(progressKey)
            for row in rows { args.append(prefix, row.stream, row.key, separator: UInt8(ascii: ":")) }
            args.append(sinkName)
            args.append(String(epoch))
            args.append(RedisKeyLayout.strings.rawValue)
            for row in rows { args.append(row.value) }
        case .hashes:
            // Rows grouped by stream, streams in first-appearance order.
            var order: [String] = []
            var byStream: [String: [Int]] = [:]
            for (i, row) in rows.enumerated() {
                if byStream[row.stream] == nil { order.append(row.stream) }
                byStream[row.stream, default: []].append(i)
            }
            args.append(String(1 + order.count))
            args.append(progressKey)
            for stream in order { args.append(RedisKeys.hashKey(prefix: prefix, stream: stream)) }
            args.append(sinkName)
            args.append(String(epoch))
            args.append(RedisKeyLayout.hashes.rawValue)
            for stream in order {
                let members = byStream[stream]!
                args.append(String(members.count))
                for i in members {
                    args.append(rows[i].key)
                    args.append(rows[i].value)
                }
            }
        }
    }

    /// The last value per (stream, key), in order of first appearance: what
    /// applying every row in order would leave.
    static func latestPerKey(_ records: [SinkRecord]) -> [SinkRecord] {
        var index: [KeyPair: Int] = [:]
        index.reserveCapacity(records.count)
        var out: [SinkRecord] = []
        out.reserveCapacity(records.count)
        for record in records {
            let pair = KeyPair(stream: record.stream, key: record.key)
            if let i = index[pair] {
                out[i].value = record.value
            } else {
                index[pair] = out.count
                out.append(record)
            }
        }
        return out
    }

    private struct KeyPair: Hashable {
        var stream: String
        var key: String
    }
}

/// The key layout (docs/redis-sink.md, "Key layout").
package enum RedisKeys {
    /// `PREFIX:progress`: hash, sink name → last applied epoch (decimal).
    package static func progress(prefix: String) -> String { "\(prefix):progress" }
    /// `PREFIX:STREAM:KEY` (strings layout).
    package static func stringKey(prefix: String, stream: String, key: String) -> String { "\(prefix):\(stream):\(key)" }
    /// `PREFIX:STREAM` (hashes layout).
    package static func hashKey(prefix: String, stream: String) -> String { "\(prefix):\(stream)" }
}
