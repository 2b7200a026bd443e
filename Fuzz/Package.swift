// swift-tools-version:6.0
import PackageDescription

// The libFuzzer driver of Molt's parsers, a package of its own because it is built with
// `-sanitize=fuzzer,address`. Scripts/fuzz.sh builds and runs it; the targets themselves are
// MoltFuzzTargets in the main package, which its tests also replay.
let package = Package(
    name: "MoltFuzz",
    dependencies: [.package(name: "Molt", path: "..")],
    targets: [
        .executableTarget(name: "MoltFuzz", dependencies: [.product(name: "MoltFuzzTargets", package: "Molt")]),
    ],
    swiftLanguageModes: [.v5]
)
