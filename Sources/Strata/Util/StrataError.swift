/// The one error type Strata throws.
///
/// Every error says what went wrong (`message`), where (`file` and `offset`
/// when a file is involved) and, in the message, what was expected. Absence
/// of a key is never an error: lookups return `nil`.
///
/// Thread safety: a value type, `Sendable`.
public struct StrataError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The class of failure, stable for programs to switch on.
    public enum Kind: String, Sendable, Equatable {
        /// Stored bytes are not what the format says they must be: a checksum
        /// mismatch, a truncated file, an impossible length.
        case corruption
        /// The operating system refused an operation (open, read, write,
        /// fsync, rename, …); `message` carries `errno`'s text.
        case ioError
        /// The caller passed something the contract does not allow.
        case invalidArgument
        /// The input is valid but uses a feature Strata does not implement
        /// (e.g. a compression type other than none and Snappy).
        case notSupported
        /// A write would have to stall and the caller asked not to wait, or
        /// the database's LOCK is held by another open (any process).
        case busy
        /// The database (or iterator, or file) was already closed.
        case closed
    }

    /// The class of failure.
    public let kind: Kind
    /// What happened and what was expected, in words.
    public let message: String
    /// The file involved, if any (as given to Strata, usually a full path).
    public let file: String?
    /// The byte offset in `file` where the problem was found, if known.
    public let offset: UInt64?

    /// Creates an error. Prefer the static constructors below.
    public init(_ kind: Kind, _ message: String, file: String? = nil, offset: UInt64? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.offset = offset
    }

    /// `kind: message in FILE at offset N`, e.g.
    /// `corruption: block checksum mismatch in 000042.sst at offset 1048576: stored 0x5c62dcfd, computed 0x37f25f24 (kXXH3)`.
    public var description: String {
        var where_ = ""
        if let file { where_ += " in \(file)" }
        if let offset { where_ += " at offset \(offset)" }
        if where_.isEmpty { return "\(kind.rawValue): \(message)" }
        // Put the location before the detail that follows the first colon,
        // so the sentence reads "what in FILE at offset N: detail".
        if let colon = message.firstIndex(of: ":") {
            let head = message[..<colon]
            let tail = message[message.index(after: colon)...]
            return "\(kind.rawValue): \(head)\(where_):\(tail)"
        }
        return "\(kind.rawValue): \(message)\(where_)"
    }

    /// Stored bytes violate the format.
    public static func corruption(_ message: String, file: String? = nil, offset: UInt64? = nil) -> StrataError {
        StrataError(.corruption, message, file: file, offset: offset)
    }

    /// An operating-system call failed.
    public static func ioError(_ message: String, file: String? = nil, offset: UInt64? = nil) -> StrataError {
        StrataError(.ioError, message, file: file, offset: offset)
    }

    /// The caller broke the contract.
    public static func invalidArgument(_ message: String, file: String? = nil) -> StrataError {
        StrataError(.invalidArgument, message, file: file)
    }

    /// A valid input uses something Strata does not implement.
    public static func notSupported(_ message: String, file: String? = nil, offset: UInt64? = nil) -> StrataError {
        StrataError(.notSupported, message, file: file, offset: offset)
    }

    /// Returns a copy with `file` (and `offset` if this error has none) filled in.
    /// Lower layers that decode bytes do not know their file; the layer that
    /// opened the file adds it.
    public func located(file: String, offset: UInt64? = nil) -> StrataError {
        StrataError(kind, message, file: self.file ?? file, offset: self.offset ?? offset)
    }
}
