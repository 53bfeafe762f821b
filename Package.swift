// swift-tools-version: 6.0
import PackageDescription

// Foundation only: no package dependencies, tests included (SPEC §1).
let package = Package(
    name: "b1cache",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "B1Cache", targets: ["B1Cache"]),
        .executable(name: "b1cache", targets: ["b1cache"]),
        .executable(name: "b1bench", targets: ["b1bench"]),
    ],
    targets: [
        .target(name: "B1Cache"),
        .target(name: "B1CacheCLI", dependencies: ["B1Cache"]),
        .executableTarget(name: "b1cache", dependencies: ["B1CacheCLI"]),
        .executableTarget(name: "b1bench", dependencies: ["B1Cache"]),
        .testTarget(name: "B1CacheTests", dependencies: ["B1Cache", "B1CacheCLI"]),
    ],
    swiftLanguageModes: [.v6]
)
