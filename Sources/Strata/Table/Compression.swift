import CSnappy

/// Block compression type, the first byte of every block trailer (RocksDB
/// `CompressionType`). Strata writes `.none` and `.snappy`; it reads those
/// two and reports the others as `.notSupported`.
public enum CompressionType: UInt8, Sendable, CaseIterable {
    case none = 0
    case snappy = 1
    case zlib = 2
    case bzip2 = 3
    case lz4 = 4
    case lz4hc = 5
    case xpress = 6
    case zstd = 7
    case zstdNotFinal = 0x40

    /// The name RocksDB writes in the `rocksdb.compression` property.
    public var rocksDBName: String {
        switch self {
        case .none: return "NoCompression"
        case .snappy: return "Snappy"
        case .zlib: return "Zlib"
        case .bzip2: return "BZip2"
        case .lz4: return "LZ4"
        case .lz4hc: return "LZ4HC"
        case .xpress: return "Xpress"
        case .zstd: return "ZSTD"
        case .zstdNotFinal: return "ZSTDNotFinal"
        }
    }

    /// Parses a RocksDB name (`Snappy`, `NoCompression`, …) or the
    /// db_bench-style lower-case names (`snappy`, `none`).
    public init?(rocksDBName name: String) {
        switch name.lowercased() {
        case "nocompression", "none", "knocompression": self = .none
        case "snappy", "ksnappycompression": self = .snappy
        case "zlib", "kzlibcompression": self = .zlib
        case "bzip2", "kbzip2compression": self = .bzip2
        case "lz4", "klz4compression": self = .lz4
        case "lz4hc", "klz4hccompression": self = .lz4hc
        case "xpress", "kxpresscompression": self = .xpress
        case "zstd", "kzstd": self = .zstd
        default: return nil
        }
    }
}

/// Raw Snappy (libsnappy's `snappy_compress`/`snappy_uncompress`), the exact
/// format of RocksDB's kSnappyCompression blocks: the payload starts with
/// Snappy's own varint of the uncompressed length, with no RocksDB prefix.
public enum Snappy {
    /// Replaces `output` with the compressed form of `input`, reusing
    /// `output`'s storage (no allocation once it has grown to the largest
    /// block).
    public static func compress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        let bound = snappy_max_compressed_length(input.count)
        output.removeAll(keepingCapacity: true)
        output.append(contentsOf: repeatElement(0, count: bound))
        var length = bound
        let status = output.withUnsafeMutableBytes { dst in
            input.withMemoryRebound(to: CChar.self) { src in
                snappy_compress(src.baseAddress ?? UnsafePointer(bitPattern: 1)!, input.count,
                                dst.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
            }
        }
        // snappy_compress fails only when the output is too small, and
        // `bound` is its own maximum.
        precondition(status == SNAPPY_OK, "snappy_compress failed with a max-size buffer")
        output.removeLast(bound - length)
    }

    /// The uncompressed length a Snappy payload declares, or nil if the
    /// header is malformed.
    public static func uncompressedLength(_ input: UnsafeRawBufferPointer) -> Int? {
        var length = 0
        let status = input.withMemoryRebound(to: CChar.self) { src in
            snappy_uncompressed_length(src.baseAddress ?? UnsafePointer(bitPattern: 1)!, input.count, &length)
        }
        return status == SNAPPY_OK ? length : nil
    }

    /// Decompresses `input` into `output`, which must have exactly
    /// `uncompressedLength(input)` bytes. Returns false on malformed input
    /// (libsnappy validates every copy; it never reads or writes out of
    /// bounds).
    public static func uncompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
        var length = output.count
        let status = input.withMemoryRebound(to: CChar.self) { src in
            output.withMemoryRebound(to: CChar.self) { dst in
                snappy_uncompress(src.baseAddress ?? UnsafePointer(bitPattern: 1)!, input.count,
                                  dst.baseAddress ?? UnsafeMutablePointer(bitPattern: 1)!, &length)
            }
        }
        return status == SNAPPY_OK && length == output.count
    }
}

/// RocksDB's rule for keeping a compressed block (table/format.h
/// `GoodCompressionRatio`): only if it saves at least 1/8 of the raw size,
/// and never for blocks of 2^31-1 bytes or more.
public func shouldKeepCompressed(rawSize: Int, compressedSize: Int) -> Bool {
    rawSize < Int(Int32.max) && compressedSize < rawSize - rawSize / 8
}
