// swift-tools-version:6.0
import PackageDescription

// Layers (each imports only the layers above it):
//   CBLAS, CLAPACKE, CZlib    system libraries (Debian: libopenblas-dev, liblapacke-dev, zlib1g-dev), via pkg-config
//                             (CZlib is imported only by Experiments' gzip reader of image files)
//   LinearAlgebra             the only module that imports C: Matrix, BLAS/LAPACK wrappers, BLAS runtime
//   NumericalCore             random streams, quadrature, root finding, fixed points, Solution records
//   StructuredFeatures, SequenceMemory, MeanFieldDynamics, FiniteWidthFluctuations   one module per model
//   ConvolutionalNetworks     mean-field CNN trainer on images (uses MeanFieldDynamics' activations)
//   Experiments               parameters, outputs (npy/csv/json), SVG plots, report, figure registry, sweeps
//   SolvableCLI               the `solvable` executable, a thin layer over Experiments
let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "Solvable",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Solvable", targets: ["Solvable"]),
        .executable(name: "solvable", targets: ["SolvableCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev", "pkg-config"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev", "pkg-config"])]),
        .systemLibrary(name: "CLAPACKE", path: "Sources/CLAPACKE", pkgConfig: "lapacke",
                       providers: [.apt(["liblapacke-dev", "pkg-config"])]),
        .target(name: "LinearAlgebra", dependencies: ["CBLAS", "CLAPACKE"], swiftSettings: swiftSettings),
        .target(name: "NumericalCore", dependencies: ["LinearAlgebra"], swiftSettings: swiftSettings),
        .target(name: "StructuredFeatures", dependencies: ["NumericalCore", "LinearAlgebra"], swiftSettings: swiftSettings),
        .target(name: "SequenceMemory", dependencies: ["NumericalCore", "LinearAlgebra"], swiftSettings: swiftSettings),
        .target(name: "MeanFieldDynamics", dependencies: ["NumericalCore", "LinearAlgebra"], swiftSettings: swiftSettings),
        .target(name: "FiniteWidthFluctuations", dependencies: ["MeanFieldDynamics", "NumericalCore", "LinearAlgebra"],
                swiftSettings: swiftSettings),
        .target(name: "ConvolutionalNetworks", dependencies: ["MeanFieldDynamics", "NumericalCore", "LinearAlgebra"],
                swiftSettings: swiftSettings),
        .target(name: "Experiments",
                dependencies: ["NumericalCore", "LinearAlgebra", "StructuredFeatures", "SequenceMemory",
                               "MeanFieldDynamics", "FiniteWidthFluctuations", "ConvolutionalNetworks", "CZlib"],
                swiftSettings: swiftSettings),
        .target(name: "Solvable", dependencies: ["Experiments"], swiftSettings: swiftSettings),
        .executableTarget(name: "SolvableCLI",
                          dependencies: ["Experiments",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Logging", package: "swift-log")],
                          swiftSettings: swiftSettings),
        .target(name: "SolvableTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "LinearAlgebraTests", dependencies: ["LinearAlgebra"], swiftSettings: swiftSettings),
        .testTarget(name: "NumericalCoreTests", dependencies: ["NumericalCore"], swiftSettings: swiftSettings),
        .testTarget(name: "ExperimentsTests", dependencies: ["SolvableTestSupport", "Experiments"], swiftSettings: swiftSettings),
        .testTarget(name: "CLITests", dependencies: ["SolvableTestSupport", "SolvableCLI", "Experiments"], swiftSettings: swiftSettings),
        .testTarget(name: "StructuredFeaturesTests", dependencies: ["SolvableTestSupport", "StructuredFeatures", "Experiments"], swiftSettings: swiftSettings),
        .testTarget(name: "SequenceMemoryTests", dependencies: ["SolvableTestSupport", "SequenceMemory", "Experiments"], swiftSettings: swiftSettings),
        .testTarget(name: "MeanFieldDynamicsTests", dependencies: ["SolvableTestSupport", "MeanFieldDynamics", "Experiments"], swiftSettings: swiftSettings),
        .testTarget(name: "ConvolutionalNetworksTests", dependencies: ["SolvableTestSupport", "ConvolutionalNetworks", "MeanFieldDynamics", "Experiments"], swiftSettings: swiftSettings),
        .testTarget(name: "FiniteWidthFluctuationsTests", dependencies: ["SolvableTestSupport", "FiniteWidthFluctuations", "MeanFieldDynamics", "Experiments"], swiftSettings: swiftSettings),
    ]
)
