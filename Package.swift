// swift-tools-version:5.9
// Lamina: one C-compatible shared library (liblamina.so) over a pure-Swift numeric core.
// See ARCHITECTURE.md for the design and include/lamina.h for the C API.
import PackageDescription

// Explicit SIMD kernels need AVX2/FMA to be compiled as vector code (DESIGN.md: at the baseline
// target SIMD addProduct becomes a libm call and is 3x slower than scalar).
let vectorISA: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v3"])]

// Release builds of the shared library are self-contained (Swift runtime linked statically), export
// only the C API (version script) and carry a soname. Gated to release: ungated, -static-stdlib
// breaks `swift test`.
let exportMap = Context.packageDirectory + "/Sources/Lamina/exports.map"
let releaseLinking: [LinkerSetting] = [
    .unsafeFlags(["-static-stdlib",
                  "-Xlinker", "--version-script=\(exportMap)",
                  "-Xlinker", "-soname=liblamina.so.0"],
                 .when(platforms: [.linux], configuration: .release)),
]

// Folder READMEs (design notes) inside the core's sources: not sources.
let coreReadmes = ["Metrics/README.md", "SAE/README.md", "IO/Store/README.md"]

let package = Package(
    name: "Lamina",
    products: [
        .library(name: "lamina", type: .dynamic, targets: ["Lamina"]),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .target(name: "LaminaCore", dependencies: ["CBLAS", "CHDF5"], exclude: coreReadmes, swiftSettings: vectorISA),
        .systemLibrary(name: "CLaminaABI"),
        // The load-time CPU check, compiled for the baseline x86-64 (no vectorISA): see cpu_check.c.
        .target(name: "CLaminaCPU"),
        .target(name: "Lamina", dependencies: ["LaminaCore", "CLaminaABI", "CLaminaCPU"], exclude: ["exports.map"],
                swiftSettings: vectorISA,
                linkerSettings: releaseLinking),
        .testTarget(name: "LaminaCoreTests", dependencies: ["LaminaCore"], swiftSettings: vectorISA),
    ]
)
