// swift-tools-version:6.0
// Coverage-guided fuzzing (libFuzzer) of Solvable's config readers. Not part of the main package so that the
// sanitizer flags stay on the command line:
//   swift build --package-path Fuzz -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
//   Fuzz/.build/debug/ConfigFuzzer Fuzz/corpus -max_total_time=60
import PackageDescription

let package = Package(
    name: "SolvableFuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(name: "ConfigFuzzer", dependencies: [.product(name: "Solvable", package: "main")],
                          swiftSettings: [.swiftLanguageMode(.v5)]),
    ]
)
