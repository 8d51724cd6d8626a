// swift-tools-version:6.2
import PackageDescription

/// CI sets AGENTD_STRICT=1: agentd's own targets (not its dependencies) then build with warnings as errors.
let strict = Context.environment["AGENTD_STRICT"] == "1"

let testSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// `scripts/fuzz.sh` sets AGENTD_FUZZ=1: the libraries that decode outside input are then optimized (as
/// in a release: about four times the executions of -Onone) and instrumented for libFuzzer and
/// AddressSanitizer, and the fuzz targets under `Fuzz/` join the package. The normal build never sees either.
let fuzz = Context.environment["AGENTD_FUZZ"] == "1"
let fuzzFlags: [SwiftSetting] = fuzz ? [.unsafeFlags(["-sanitize=fuzzer,address", "-O"])] : []

/// Test targets are left out: Swift Testing's macro expansions warn under Swift 6.3.
let swiftSettings: [SwiftSetting] = testSettings + (strict ? [.unsafeFlags(["-warnings-as-errors"])] : [])
/// The libraries a fuzz target runs.
let fuzzedSettings = swiftSettings + fuzzFlags

/// Release builds of `agentd` on Linux link as a position-dependent executable, as Go links
/// Prometheus and vmagent: a position-independent one carries 3.3 MiB of relocations that the
/// loader reads and applies at every start, dirtying the pages they point into, which cost 6–8 MiB
/// of resident memory (docs/performance.md). The Swift runtime and Foundation are linked in
/// statically with it, as `--static-swift-stdlib` does (static Foundation needs the four libraries
/// named, which the shared one brings along): against a shared libswiftCore the loader warns at
/// every start that the pointer equality of the functions taken from it may break. The price is
/// that the agent's image, runtime included, loads at a fixed address; shared libraries, heap and
/// stacks are still randomized. Debug builds (the tests') are left as they were; AGENTD_PIE=1
/// builds a release position-independent, with the runtime shared.
let pie = Context.environment["AGENTD_PIE"] == "1"

/// Release builds of `agentd` on Linux also lay their code out by use: lld places the functions that
/// `link/agentd.order` names (those a running agent executes, by name; `bench/link_order.py`
/// writes the list) at the front of `.text`, so the few megabytes of code that run share pages
/// instead of being spread across 30 MB, most of it never run, which the kernel maps in by the page
/// and its neighbours. lld moves whole input sections: `scripts/build-release.sh` compiles every
/// module with a section per function (a flag Package.swift cannot give another package's
/// targets), and `link/private-text.ld` gathers the compiler's unnamed functions, which no list can
/// name, into one output section of their own. The executable exports no symbols
/// (`--no-export-dynamic`, overriding the `-export-dynamic` the static runtime's link arguments
/// add): nothing looks them up, and under load all 3.4 MiB of the symbol tables were resident
/// (docs/performance.md, "Code layout" and "A section per function").
let layoutFlags = [
    "-use-ld=lld", "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/link/agentd.order",
    "-Xlinker", "--no-warn-symbol-ordering", "-Xlinker", "--no-export-dynamic",
    "-Xlinker", "-T", "-Xlinker", "\(Context.packageDirectory)/link/private-text.ld",
]
/// The C and C++ libraries agentd calls are linked in statically too: `link/static` holds links to
/// the archives of libsnappy, libxxhash, liblz4, libsqlite3, zlib and libstdc++ (Debian 12's, from
/// the `-dev` packages `scripts/install-deps.sh` installs), and lld, which looks for `-lNAME` in each
/// search directory in turn and takes the first `libNAME.so` or `libNAME.a` it finds, looks in that
/// directory before the system's. A shared library is mapped, relocated and initialized whole at
/// every start (libstdc++'s locale and stream set-up, the loader's lookups in its symbol tables),
/// while linked in only the functions called come along: the idle agent held 1.6 MiB less
/// (docs/performance.md, "The C libraries linked in"). The system-library targets therefore name
/// no pkg-config package, whose `-L/usr/lib/x86_64-linux-gnu` would come first. Only libc, libm,
/// libresolv and libgcc_s stay shared (glibc's own, and the unwinder). The link is lld's, which
/// takes an archive's members for any undefined symbol wherever the archive stands on the command
/// line (the archives come before the Swift runtime and ICU that need libstdc++).
let staticLibraryFlags = ["-use-ld=lld", "-L\(Context.packageDirectory)/link/static"]

/// The Swift runtime and Foundation linked in statically, position-dependent (none with AGENTD_PIE=1).
let staticRuntimeFlags =
    pie
    ? []
    : [
        "-static-stdlib", "-lCoreFoundation", "-l_FoundationICU", "-l_FoundationCShims",
        "-l_FoundationCollections", "-Xclang-linker", "-no-pie",
    ] + staticLibraryFlags
let agentdLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(staticRuntimeFlags + layoutFlags, .when(platforms: [.linux], configuration: .release))
]

/// Release builds of `agentd-bench` link the runtime in statically, as `agentd` does (without the
/// layout): `bench/callgrind.py` runs its stages under valgrind 3.24's callgrind, which stopped
/// with an internal SIGSEGV ("the 'impossible' happened") on every run of the build linked
/// against the shared runtime (2026-12-01); the static build runs, with the same instruction
/// counts per sample as that build gave before.
let benchLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(staticRuntimeFlags, .when(platforms: [.linux], configuration: .release))
]

let package = Package(
    name: "agentd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "agentd", targets: ["agentd"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.36.0"),
    ],
    targets: [
        .systemLibrary(name: "CLZ4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CSnappy", providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(name: "CXXHash", providers: [.apt(["libxxhash-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CResolv"),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),

        .target(
            name: "Primitives",
            dependencies: ["CXXHash", "CMalloc"],
            swiftSettings: fuzzedSettings
        ),
        .target(
            name: "HTTPSecurity",
            dependencies: [
                "Primitives",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DNSLookup",
            dependencies: ["CResolv"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WAL",
            dependencies: ["CLZ4", "Primitives", .product(name: "Logging", package: "swift-log")],
            swiftSettings: fuzzedSettings
        ),
        .target(
            name: "Events",
            dependencies: ["WAL", "Primitives"],
            swiftSettings: fuzzedSettings
        ),
        .target(
            name: "Scrape",
            dependencies: [
                "Events", "WAL", "Primitives", "CZlib", "HTTPSecurity", "DNSLookup",
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPCompression", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: fuzzedSettings
        ),
        .target(
            name: "Config",
            dependencies: ["Scrape", "HTTPSecurity", "DNSLookup", "Primitives"],
            swiftSettings: fuzzedSettings
        ),
        .target(
            name: "Cluster",
            dependencies: ["Primitives", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: fuzzedSettings
        ),
        .target(
            name: "RemoteWrite",
            dependencies: [
                "CSnappy", "WAL", "Events", "Primitives", "HTTPSecurity",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Projections",
            dependencies: [
                "WAL", "Events", "RemoteWrite", "HTTPSecurity", "Primitives", "CSQLite",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Agent",
            dependencies: [
                "WAL", "Events", "Scrape", "Config", "RemoteWrite", "Projections", "Cluster", "Primitives",
                "HTTPSecurity", "DNSLookup",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            resources: [
                .embedInCode("WebAssets/index.html"), .embedInCode("WebAssets/app.css"),
                .embedInCode("WebAssets/app.js"), .embedInCode("WebAssets/icon.svg"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "agentd",
            dependencies: [
                "Agent", "WAL", "Events", "Scrape", "Config", "Projections", "RemoteWrite", "HTTPSecurity",
                "Primitives",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: agentdLinkerSettings
        ),
        .executableTarget(
            name: "WALCrashHelper",
            dependencies: ["WAL", "Events"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "agentd-bench",
            dependencies: [
                "WAL", "Events", "Scrape", "Cluster", "RemoteWrite", "Projections", "Primitives", "HTTPSecurity",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Bench",
            swiftSettings: swiftSettings,
            linkerSettings: benchLinkerSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Tests/TestSupport", swiftSettings: testSettings),
        .testTarget(name: "WALTests", dependencies: ["WAL", "TestSupport"], swiftSettings: testSettings),
        .testTarget(name: "PrimitivesTests", dependencies: ["Primitives"], swiftSettings: testSettings),
        .testTarget(name: "DNSLookupTests", dependencies: ["DNSLookup"], swiftSettings: testSettings),
        .testTarget(name: "EventsTests", dependencies: ["Events", "WAL", "TestSupport"], swiftSettings: testSettings),
        .testTarget(
            name: "ScrapeTests",
            dependencies: [
                "Scrape", "Events", "WAL", "Primitives", "TestSupport", "HTTPSecurity", "DNSLookup",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "HTTPSecurityTests",
            dependencies: [
                "HTTPSecurity", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "ConfigTests",
            dependencies: ["Config", "Scrape", "HTTPSecurity", "DNSLookup"],
            exclude: ["Fixtures"],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "RemoteWriteTests",
            dependencies: [
                "RemoteWrite", "Projections", "Primitives", "CSnappy", "TestSupport", "Events", "WAL", "HTTPSecurity",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "ProjectionsTests",
            dependencies: [
                "Projections", "TestSupport", "Events", "WAL",
            ],
            swiftSettings: testSettings
        ),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "Primitives"], swiftSettings: testSettings),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "agentd", "TestSupport", "Events", "WAL", "Cluster", "RemoteWrite", "Primitives", "HTTPSecurity",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "Agent", "Events", "RemoteWrite", "Scrape", "Config", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "CrashTests",
            dependencies: ["Events", "WAL", "WALCrashHelper", "TestSupport"],
            swiftSettings: testSettings
        ),
    ]
)

/// The fuzz targets: one executable per decoder of outside bytes, each running libFuzzer
/// (`scripts/fuzz.sh`, `docs/fuzzing.md`).
if fuzz {
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("fuzz-exposition", ["Scrape"]),
        ("fuzz-config", ["Config", "Scrape"]),
        ("fuzz-gossip", ["Cluster"]),
        ("fuzz-wal", ["WAL", "Events", "FuzzEventLog"]),
        ("fuzz-events", ["Events", "WAL", "Primitives", "FuzzEventLog"]),
        ("fuzz-snappy", ["Primitives", "CSnappy"]),
    ]
    package.targets.append(.systemLibrary(name: "CFuzzer", path: "Fuzz/CFuzzer"))
    package.targets.append(
        .target(name: "FuzzSupport", dependencies: ["CFuzzer"], path: "Fuzz/FuzzSupport", swiftSettings: swiftSettings))
    package.targets.append(
        .target(
            name: "FuzzEventLog", dependencies: ["Events", "WAL"], path: "Fuzz/FuzzEventLog",
            swiftSettings: swiftSettings))
    for target in fuzzTargets {
        package.products.append(.executable(name: target.name, targets: [target.name]))
        package.targets.append(
            .executableTarget(
                name: target.name,
                dependencies: target.dependencies + ["FuzzSupport"],
                path: "Fuzz/Targets/\(target.name)",
                swiftSettings: fuzzedSettings,
                linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
            ))
    }
}
