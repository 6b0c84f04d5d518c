import Glibc

/// Bytewise ordering of byte strings: `memcmp` order, the shorter string first
/// on a common prefix. This is RocksDB's `leveldb.BytewiseComparator`, the only
/// user-key order Strata supports (its name is recorded in every table and
/// MANIFEST; RocksDB refuses to open a database whose comparator differs).
package enum Bytewise {
    /// The comparator name RocksDB writes and checks.
    package static let name = "leveldb.BytewiseComparator"

    /// Three-way comparison: negative, zero or positive as `a` sorts before,
    /// equal to or after `b`.
    @inlinable @inline(__always)
    package static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        if n > 0 {
            let r = memcmp(a.baseAddress!, b.baseAddress!, n)
            if r != 0 { return Int(r) }
        }
        return a.count - b.count
    }

    /// Whether `a` and `b` hold the same bytes.
    @inlinable @inline(__always)
    package static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }

    /// Three-way comparison of two arrays.
    @inlinable
    package static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in compare(pa, pb) } }
    }

    /// A short key `s` with `start <= s < limit` (when `start < limit`), used
    /// for index separators between blocks. Returns `start` unchanged when no
    /// shorter key exists. Mirrors RocksDB's BytewiseComparator
    /// `FindShortestSeparator` (spec 6.1), so our index blocks are byte-identical.
    package static func shortestSeparator(_ start: [UInt8], _ limit: [UInt8]) -> [UInt8] {
        let minLength = min(start.count, limit.count)
        var diff = 0
        while diff < minLength && start[diff] == limit[diff] { diff += 1 }
        if diff >= minLength { return start }  // one is a prefix of the other
        let startByte = start[diff]
        let limitByte = limit[diff]
        if startByte >= limitByte { return start }  // not ordered: leave it
        if diff < limit.count - 1 || startByte + 1 < limitByte {
            // start[..<diff] + (byte + 1) is still below limit: either the
            // byte stays below limit's, or it equals limit's and limit goes on.
            var result = Array(start[0..<diff])
            result.append(startByte + 1)
            return result
        }
        // Incrementing start[diff] would reach limit: keep it and increment
        // the first later byte of start that is not 0xFF, cutting after it.
        var i = diff + 1
        while i < start.count {
            if start[i] < 0xFF {
                var result = Array(start[0...i])
                result[i] += 1
                return result
            }
            i += 1
        }
        return start
    }
}

extension Array where Element == UInt8 {
    /// Makes the array equal to `bytes`, reusing its storage: same-length
    /// contents are overwritten in place (iterators over fixed-size keys and
    /// values then copy with one memcpy and no allocation); otherwise the
    /// array is refilled keeping its capacity.
    @inlinable
    package mutating func assign(_ bytes: UnsafeRawBufferPointer) {
        if count == bytes.count {
            if !bytes.isEmpty {
                withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            }
            return
        }
        removeAll(keepingCapacity: true)
        append(contentsOf: bytes)
    }

    /// Appends raw bytes with one memcpy. (The generic `append(contentsOf:)`
    /// walks an `UnsafeRawBufferPointer` byte by byte, because a raw buffer
    /// offers no typed contiguous storage; this overload is picked instead.)
    @inlinable
    package mutating func append(contentsOf bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        append(contentsOf: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: bytes.count))
    }
}
