// swift-tools-version: 6.2
//
// A client of StrataStreams built the way a user's application builds it:
// its own package, depending on the repository's package through SwiftPM,
// compiled with a plain `swift build -c release` and no compiler settings
// of its own. Its figures show what a user gets. Not part of the main package: the repository's own
// `swift build` never builds it. See docs/pipeline.md, "Measuring as a
// user builds".
import Foundation
import PackageDescription

/// A path dependency's package identity is its directory's name (the
/// repository's checkout directory, whatever it is called).
let strataPackage = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent

let package = Package(
    name: "StrataStreamsClient",
    dependencies: [
        .package(path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "client-tumbling",
            dependencies: [
                .product(name: "StrataStreams", package: strataPackage),
                .product(name: "Strata", package: strataPackage),
            ],
            path: "Sources/client-tumbling"),
    ],
    swiftLanguageModes: [.v6]
)
