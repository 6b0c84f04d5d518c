// What every tool's command line shares: db_bench's 0/1 booleans, the
// bare-boolean spelling, range checks naming the flag, and the entry point
// that parses argv, prints --help and turns usage errors into an exit status.
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// A boolean flag value as RocksDB's tools (gflags) take it:
/// `--sync=1`, `--sync=0`, `--sync=true`, `--sync=false` (also yes/no,
/// on/off, any case). A bare `--sync` means true: `ToolArguments.prepare`
/// rewrites it to `--sync=1` before parsing.
public struct Flag01: ExpressibleByArgument, Equatable, Sendable, CustomStringConvertible {
    /// The value given.
    public let value: Bool

    /// A value that is `value`.
    public init(_ value: Bool) { self.value = value }

    /// Parses 0/1/true/false/yes/no/on/off (any case); nil for anything else
    /// (a usage error naming the flag).
    public init?(argument: String) {
        switch argument.lowercased() {
        case "1", "true", "yes", "on": value = true
        case "0", "false", "no", "off": value = false
        default: return nil
        }
    }

    public var description: String { value ? "1" : "0" }
    public var defaultValueDescription: String { description }
}

extension Optional where Wrapped == Flag01 {
    /// The flag's value, `absent` when it was not given.
    public func or(_ absent: Bool) -> Bool { self?.value ?? absent }
}

/// A tool's root command: its boolean options (`Flag01`) may be given
/// bare, as `--name` alone, and it may rewrite argv before parsing.
public protocol ToolCommandLine: ParsableCommand {
    /// The long names (without dashes) of the options of type `Flag01`.
    static var booleanFlags: Set<String> { get }
    /// argv (without the program name) as ArgumentParser should see it.
    /// Default: `ToolArguments.prepare` with `booleanFlags`.
    static func prepare(_ arguments: [String]) -> [String]
}

extension ToolCommandLine {
    public static func prepare(_ arguments: [String]) -> [String] {
        ToolArguments.prepare(arguments, booleanFlags: booleanFlags)
    }
}

/// Argument rewriting done before ArgumentParser sees argv.
public enum ToolArguments {
    /// `arguments` with each bare `--name` of `booleanFlags` rewritten to
    /// `--name=1` (gflags' spelling of true), up to a `--` terminator.
    public static func prepare(_ arguments: [String], booleanFlags: Set<String>) -> [String] {
        var out: [String] = []
        out.reserveCapacity(arguments.count)
        var terminated = false
        for argument in arguments {
            if !terminated, argument == "--" { terminated = true }
            if !terminated, argument.hasPrefix("--"), booleanFlags.contains(String(argument.dropFirst(2))) {
                out.append(argument + "=1")
            } else {
                out.append(argument)
            }
        }
        return out
    }
}

/// The error for a number out of range: `--threads=0: expected 1...256`.
public func rangeError<T>(_ flag: String, _ value: T, expected: String) -> ValidationError {
    ValidationError("--\(flag)=\(value): expected \(expected)")
}

/// Throws a `ValidationError` naming `flag`, its value and `range` if
/// `value` is given and outside `range`.
public func checkRange<T: Comparable>(_ value: T?, _ flag: String, _ range: ClosedRange<T>) throws {
    guard let value, !range.contains(value) else { return }
    let upper = "\(range.upperBound)"
    let unbounded = upper == "\(Int.max)" || upper == "\(UInt64.max)"
    throw rangeError(flag, value, expected: unbounded ? "\(range.lowerBound) or more" : "\(range.lowerBound)...\(upper)")
}

/// Throws a `ValidationError` naming `flag` if `value` is given and not in
/// `allowed` (text flags with a fixed set of values).
public func checkChoice(_ value: String?, _ flag: String, _ allowed: [String]) throws {
    guard let value, !allowed.contains(value) else { return }
    throw rangeError(flag, value, expected: allowed.joined(separator: ", "))
}

/// A non-negative, finite number of seconds (`--duration=2.5`); rejects
/// `abc`, `-1`, `nan`, `inf`.
public struct Seconds: ExpressibleByArgument, Equatable, Sendable, CustomStringConvertible {
    /// The number of seconds.
    public let value: Double
    public init(_ value: Double) { self.value = value }
    public init?(argument: String) {
        guard let v = Double(argument), v.isFinite, v >= 0 else { return nil }
        value = v
    }
    public var description: String { "\(value)" }
}

/// The entry point every tool uses.
public enum ToolMain {
    /// Parses `arguments` (without the program name) as `Root`'s command
    /// line, after `Root.prepare`. `--help`/`-h` (anywhere, also
    /// after a command word) prints the help to standard output and exits 0.
    /// A usage error (unknown flag, missing or bad value, a number out of
    /// range, an unexpected argument) prints the error and the usage line to
    /// standard error and exits `usageStatus` (the tool's documented status
    /// for a bad flag, docs/tools.md).
    public static func parseOrExit<Root: ToolCommandLine>(
        _ root: Root.Type, _ arguments: [String], usageStatus: Int32
    ) -> any ParsableCommand {
        switch parse(root, arguments) {
        case .success(let command): return command
        case .failure(let failure):
            if failure.isHelp {
                print(failure.message)
                exit(0)
            }
            printToStandardError(failure.message)
            exit(usageStatus)
        }
    }

    /// A failed parse: help asked for (`isHelp`) or a usage error, with the
    /// text ArgumentParser formats (error, usage line, pointer to --help).
    public struct Failure: Error, Sendable {
        public let message: String
        public let isHelp: Bool
    }

    /// Parses without exiting (tests use it): the command, or the help or
    /// usage-error text.
    public static func parse<Root: ToolCommandLine>(
        _ root: Root.Type, _ arguments: [String]
    ) -> Result<any ParsableCommand, Failure> {
        do {
            var command = try Root.parseAsRoot(Root.prepare(arguments))
            // `--help` and `help COMMAND` parse to ArgumentParser's own help
            // command, whose run() throws the help request for that command.
            if String(reflecting: type(of: command)).hasPrefix("ArgumentParser.") { try command.run() }
            return .success(command)
        } catch {
            let status = Root.exitCode(for: error)
            return .failure(Failure(message: Root.fullMessage(for: error), isHelp: status == .success))
        }
    }

    /// Writes `text` and a newline to standard error.
    public static func printToStandardError(_ text: String) {
        fflush(nil)
        let bytes = Array((text.hasSuffix("\n") ? text : text + "\n").utf8)
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count, let base = raw.baseAddress {
                let n = write(2, base + offset, raw.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
    }
}
