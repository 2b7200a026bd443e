// swift-tools-version:6.0
// Throughput measurements for Formats/molt.md and Formats/quantization.md. Kept out of the
// main package so it never builds with the product: `swift run -c release molt-bench`.
import PackageDescription

let package = Package(
    name: "MoltBench",
    dependencies: [.package(name: "Molt", path: "../..")],
    targets: [
        .executableTarget(
            name: "molt-bench",
            dependencies: [.product(name: "Molt", package: "Molt")]
        )
    ],
    swiftLanguageModes: [.v5]
)
