import Foundation
import Testing

/// The public surface of every library module, as a checked-in listing.
///
/// Each Swift module under `Sources/` has a baseline
/// `Tests/PublicAPI/<Module>.txt`: one line per source line that
/// declares something `public` or `open`, as `<file>: <declaration>` (the
/// declaration's first line, without its body or trailing comment), sorted.
/// Widening the API (a new `public`) or narrowing it is then a visible diff in
/// review. To accept a change, run
/// `STRATA_UPDATE_API_BASELINE=1 swift test --filter PublicAPITests` and commit
/// the rewritten baselines.
///
/// Internals that tools, benchmarks, fuzzers and tests need are `package`,
/// not `public`: they are not listed.
@Suite struct PublicAPITests {
    static let root: URL = {
        // #filePath = <repo>/Tests/StrataTests/PublicAPITests.swift
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    /// The Swift modules under Sources/ (directories holding .swift files).
    static func modules() -> [String] {
        let sources = root.appendingPathComponent("Sources")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: sources.path)) ?? []
        return names.sorted().filter { name in
            !swiftFiles(in: sources.appendingPathComponent(name)).isEmpty
        }
    }

    static func swiftFiles(in directory: URL) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: directory.path) else { return [] }
        return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.sorted()
    }

    /// `<file>: <declaration>` for every line of `module` declaring something public or open.
    static func listing(of module: String) throws -> [String] {
        let directory = root.appendingPathComponent("Sources").appendingPathComponent(module)
        var lines: [String] = []
        for file in swiftFiles(in: directory) {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if let declaration = publicDeclaration(String(line)) { lines.append("\(file): \(declaration)") }
            }
        }
        return lines.sorted()
    }

    /// The declaration on `line` if it declares something public or open.
    static func publicDeclaration(_ line: String) -> String? {
        var text = line.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("//") || text.hasPrefix("*") { return nil }
        // Attributes first (`@inlinable`, `@discardableResult`, `@available(...)`).
        var rest = Substring(text)
        while rest.hasPrefix("@") {
            guard let space = rest.firstIndex(of: " ") else { return nil }
            rest = rest[rest.index(after: space)...].drop(while: { $0 == " " })
        }
        guard rest.hasPrefix("public ") || rest.hasPrefix("open ") else { return nil }
        if let comment = text.range(of: " //") { text = String(text[..<comment.lowerBound]) }
        if let body = text.firstIndex(of: "{") { text = String(text[..<body]) }
        if let value = text.range(of: " = ") { text = String(text[..<value.lowerBound]) }
        return text.trimmingCharacters(in: .whitespaces)
    }

    static func baselineURL(_ module: String) -> URL {
        root.appendingPathComponent("Tests/PublicAPI/\(module).txt")
    }

    @Test("public declarations of each module equal the checked-in baseline", arguments: modules())
    func publicSurfaceMatchesBaseline(module: String) throws {
        let current = try Self.listing(of: module)
        let url = Self.baselineURL(module)
        if ProcessInfo.processInfo.environment["STRATA_UPDATE_API_BASELINE"] == "1" {
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try (current.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
            return
        }
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            Issue.record("""
                \(module) has no public-API baseline at \(url.path); run \
                STRATA_UPDATE_API_BASELINE=1 swift test --filter PublicAPITests and commit it
                """)
            return
        }
        let baseline = text.split(separator: "\n").map(String.init)
        let added = Set(current).subtracting(baseline).sorted()
        let removed = Set(baseline).subtracting(current).sorted()
        #expect(added.isEmpty && removed.isEmpty, """
            \(module)'s public surface differs from \(url.lastPathComponent) \
            (accept with STRATA_UPDATE_API_BASELINE=1 swift test --filter PublicAPITests):
            added:
            \(added.map { "  + " + $0 }.joined(separator: "\n"))
            removed:
            \(removed.map { "  - " + $0 }.joined(separator: "\n"))
            """)
        print("\(module): \(current.count) public declarations")
    }

    @Test("the declaration scanner sees attributes, skips comments and bodies")
    func scannerNormalizes() {
        #expect(Self.publicDeclaration("    @inlinable public func get(_ key: [UInt8]) throws -> [UInt8]? {")
            == "@inlinable public func get(_ key: [UInt8]) throws -> [UInt8]?")
        #expect(Self.publicDeclaration("    public var createIfMissing = true  // default") == "public var createIfMissing")
        #expect(Self.publicDeclaration("/// public things") == nil)
        #expect(Self.publicDeclaration("    package func internalThing()") == nil)
        #expect(Self.publicDeclaration("open class Base {") == "open class Base")
    }
}
