import Glibc
import Strata

extension FuzzTargets {
    /// Log reader (spec section 12; WALs and MANIFESTs share the format):
    /// the input is a log file. It is read twice — as it is, then with every
    /// physical record's checksum recomputed (`withRepairedChecksums`), so
    /// mutations get past the CRC into the fragment and record logic — and
    /// every record is decoded as a write batch and as a version edit, as
    /// WAL recovery and MANIFEST replay do.
    /// Then a round trip: records cut out of the input are written with
    /// `LogWriter` and must read back identical, in order, with a clean end.
    public static func log(_ data: UnsafeRawBufferPointer) {
        let raw = Array(data)
        readLog(raw)
        let repaired = withRepairedChecksums(raw)
        if repaired != raw { readLog(repaired) }
        roundTrip(data)
    }

    /// Reads every record until the end or the first error; decodes each.
    static func readLog(_ bytes: [UInt8]) {
        let reader = LogReader(file: BytesFile(path: "fuzz.log", bytes: bytes))
        var records = 0
        while true {
            let record: [UInt8]?
            do { record = try reader.next() } catch { return }
            guard let record else { return }
            records += 1
            // Every record takes at least a 7-byte header.
            fuzzCheck(records <= bytes.count / LogFormat.headerSize + 1, "log reader returns more records than headers fit")
            if let batch = try? WriteBatch(encoded: record) {
                try? batch.forEach { _ in }
            }
            _ = try? VersionEdit.decode(record)
        }
    }

    /// `bytes` with the masked CRC32C of every physical record that fits in
    /// its 32 KiB block recomputed, the way a writer would have stored it.
    static func withRepairedChecksums(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        var blockStart = 0
        while blockStart < out.count {
            let blockEnd = min(blockStart + LogFormat.blockSize, out.count)
            var p = blockStart
            while blockEnd - p >= LogFormat.headerSize {
                let length = Int(out[p + 4]) | Int(out[p + 5]) << 8
                let type = out[p + 6]
                let header = (5...8).contains(type) ? LogFormat.recyclableHeaderSize : LogFormat.headerSize
                if type == 0 && length == 0 { break }
                guard p + header + length <= blockEnd else { break }
                let crc = out.withUnsafeBytes { b in
                    CRC32C.mask(CRC32C.value(UnsafeRawBufferPointer(rebasing: b[(p + 6)..<(p + header + length)])))
                }
                out[p] = UInt8(truncatingIfNeeded: crc)
                out[p + 1] = UInt8(truncatingIfNeeded: crc >> 8)
                out[p + 2] = UInt8(truncatingIfNeeded: crc >> 16)
                out[p + 3] = UInt8(truncatingIfNeeded: crc >> 24)
                p += header + length
            }
            blockStart += LogFormat.blockSize
        }
        return out
    }

    /// Records cut from the input at 0xFE bytes, each repeated 1–16 times
    /// (its first byte decides) so records cross 32 KiB blocks, written and
    /// read back. The log is written to and read from memory (`BytesSink`,
    /// `BytesFile`): the file system is not what this target tests, and a
    /// `MemoryFileSystem` per input cost more than the writer and reader.
    static func roundTrip(_ data: UnsafeRawBufferPointer) {
        // Split at 0xFE with memchr (uninstrumented) rather than a byte loop:
        // the same segments, including an empty one after a trailing 0xFE.
        var records: [[UInt8]] = []
        var total = 0
        var start = 0
        while total < 1 << 17 {
            var end = data.count
            if start < data.count, let base = data.baseAddress,
               let found = memchr(base + start, 0xFE, data.count - start) {
                end = UnsafeRawPointer(found) - base
            }
            let segment = UnsafeRawBufferPointer(rebasing: data[start..<end])
            let times = 1 + Int(segment.first ?? 0) % 16
            var record: [UInt8] = []
            record.reserveCapacity(segment.count * times)
            for _ in 0..<times { record.append(contentsOf: segment) }
            records.append(record)
            total += record.count
            if end >= data.count { break }
            start = end + 1
        }
        do {
            let sink = BytesSink(path: "roundtrip.log")
            let writer = LogWriter(file: sink)
            for record in records { try writer.addRecord(record) }
            try writer.close()
            let reader = LogReader(file: BytesFile(path: "roundtrip.log", bytes: sink.bytes))
            for (i, expected) in records.enumerated() {
                let got = try reader.next()
                fuzzCheck(got.map { sameBytes($0, expected) } ?? false, "record \(i) of \(records.count) reads back \(got.map { "\($0.count) bytes" } ?? "nil"), wrote \(expected.count) bytes")
            }
            let extra = try reader.next()
            fuzzCheck(extra == nil, "log has more records than were written")
            fuzzCheck(!reader.isTruncatedTail, "a cleanly written log reads as torn")
        } catch {
            fuzzCheck(false, "round trip through an in-memory log failed: \(error)")
        }
    }
}
