// swift-tools-version: 6.2
//
// The ```swift blocks of README.md and docs/*.md, compiled as a user's
// package compiles them: a separate package depending on the repository by
// path, so only public API is visible. tools/check-doc-snippets.sh generates
// Sources/ (git-ignored) from the documents and Preludes/, then builds and
// runs it. Not part of the main package: the repository's own `swift build`
// never builds it.
import Foundation
import PackageDescription

/// A path dependency's package identity is its directory's name (the
/// repository's checkout directory, whatever it is called).
let strataPackage = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent

func strata(_ product: String) -> Target.Dependency { .product(name: product, package: strataPackage) }

/// tools/check-doc-snippets.sh --engine-only sets this: the package then
/// depends on the repository with `traits: []`, as an engine-only
/// application does (docs/getting-started.md), and has no second target.
let engineOnly = Context.environment["DOC_SNIPPETS_ENGINE_ONLY"] == "1"

let package = Package(
    name: "DocSnippets",
    dependencies: [engineOnly ? .package(path: "../..", traits: []) : .package(path: "../..")],
    targets: [
        // Snippets over the engine, StrataStreams and the SQLite and Redis sinks.
        .executableTarget(
            name: "doc-snippets",
            dependencies: [strata("Strata"), strata("StrataStreams"), strata("StrataStreamsSQLite"),
                           strata("StrataStreamsRedis")],
            path: "Sources/doc-snippets"),
        // Snippets that import StrataServe, StrataStreamsPostgres or the NATS
        // modules (SwiftNIO, Hummingbird, postgres-nio: a longer build;
        // tools/check-doc-snippets.sh --engine-only leaves it out).
        .executableTarget(
            name: "doc-snippets-serve",
            dependencies: [strata("Strata"), strata("StrataStreams"), strata("StrataServe"),
                           strata("StrataStreamsPostgres"), strata("StrataNATS"), strata("StrataStreamsNATS")],
            path: "Sources/doc-snippets-serve"),
    ],
    swiftLanguageModes: [.v6]
)

if engineOnly {
    package.targets.removeAll { $0.name == "doc-snippets-serve" }
}
