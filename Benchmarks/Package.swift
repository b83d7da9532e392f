// swift-tools-version:6.1
import PackageDescription

/// Benchmarks live in their own package so the main build never pulls in the harness.
let package = Package(
    name: "ProvisoBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Proviso", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "DecisionBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ProvisoCore", package: "Proviso"),
            ],
            path: "Benchmarks/DecisionBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "proviso-bench",
            dependencies: [.product(name: "ProvisoCore", package: "Proviso")],
            path: "Sources/ProvisoBench"),
    ]
)
