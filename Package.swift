// swift-tools-version:6.2
import PackageDescription

/// Strict settings for every target: the house style of ARCHITECTURE.md.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Proviso",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "proviso", targets: ["proviso"]),
        .library(name: "ProvisoCore", targets: ["ProvisoCore"]),
        .library(name: "ProvisoStore", targets: ["ProvisoStore"]),
        .library(name: "ProvisoSQLite", targets: ["ProvisoSQLite"]),
        .library(name: "ProvisoGate", targets: ["ProvisoGate"]),
        .library(name: "ProvisoPostgres", targets: ["ProvisoPostgres"]),
        .library(name: "ProvisoReports", targets: ["ProvisoReports"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "4.1.0"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-openapi-generator.git", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird.git", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        .target(
            name: "ProvisoCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        .target(name: "ProvisoStore", dependencies: ["ProvisoCore"], swiftSettings: strict),
        .target(
            name: "ProvisoSQLite",
            dependencies: ["ProvisoCore", "ProvisoStore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift")],
            swiftSettings: strict),
        .target(
            name: "ProvisoPostgres",
            dependencies: ["ProvisoCore", "ProvisoStore", .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        // The gate's record scanner fast path: vector compares with a movemask (see scan.c).
        .target(name: "CProvisoScan"),
        .target(
            name: "ProvisoGate",
            dependencies: ["ProvisoCore", "ProvisoStore", "CProvisoScan", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        .target(
            name: "ProvisoReports",
            dependencies: ["ProvisoCore", "ProvisoStore", "ProvisoGate", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        .target(
            name: "ProvisoAPI",
            dependencies: [.product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")],
            swiftSettings: strict,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]),
        .target(
            name: "ProvisoServer",
            dependencies: [
                "ProvisoCore", "ProvisoStore", "ProvisoGate", "ProvisoReports", "ProvisoAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "proviso",
            dependencies: [
                "ProvisoCore", "ProvisoStore", "ProvisoSQLite", "ProvisoPostgres", "ProvisoGate", "ProvisoReports", "ProvisoServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        .target(
            name: "ProvisoTestSupport",
            dependencies: ["ProvisoCore"],
            path: "Tests/ProvisoTestSupport",
            swiftSettings: strict),
        .target(
            name: "ProvisoTestStores",
            dependencies: ["ProvisoCore", "ProvisoStore", "ProvisoSQLite", "ProvisoPostgres",
                           .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "Logging", package: "swift-log")],
            path: "Tests/ProvisoTestStores",
            swiftSettings: strict),
        .testTarget(
            name: "ProvisoCoreTests",
            dependencies: ["ProvisoCore", "ProvisoTestSupport", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: strict),
        .testTarget(
            name: "ProvisoGateTests",
            dependencies: ["ProvisoCore", "ProvisoStore", "ProvisoGate", "ProvisoTestSupport", "ProvisoTestStores", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: strict),
        .testTarget(
            name: "ProvisoReportsTests",
            dependencies: ["ProvisoCore", "ProvisoStore", "ProvisoGate", "ProvisoReports", "ProvisoTestStores"],
            swiftSettings: strict),
        .testTarget(
            name: "ProvisoStoreTests",
            dependencies: ["ProvisoCore", "ProvisoStore"],
            swiftSettings: strict),
        .testTarget(
            name: "ProvisoSQLiteTests",
            dependencies: ["ProvisoCore", "ProvisoStore", "ProvisoSQLite", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict),
        .testTarget(
            name: "ProvisoPostgresTests",
            dependencies: ["ProvisoCore", "ProvisoStore", "ProvisoPostgres", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: strict),
        .testTarget(
            name: "ProvisoServerTests",
            dependencies: [
                "ProvisoCore", "ProvisoStore", "ProvisoServer", "ProvisoTestStores",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "ProvisoCLITests",
            dependencies: ["ProvisoCore", "proviso", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: strict),
    ]
)
