// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Molt",
    products: [
        // Every parser as a fuzz target, for Fuzz/ (libFuzzer) and the regression replay.
        .library(name: "MoltFuzzTargets", targets: ["MoltFuzzTargets"]),
        .library(name: "Molt", targets: ["MoltCore", "MoltCheckpoint", "MoltQuant", "MoltFormat", "MoltRuntime", "MoltParity", "MoltTokenizer", "MoltKernels", "MoltCalibration", "MoltServer"]),
        .executable(name: "molt", targets: ["MoltCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `molt serve`: HTTP server, logging, Prometheus metrics, signal-driven drain; the
        // HTTP client only for its integration tests.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // System libraries from Debian's -dev packages, found through pkg-config.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // SHA-256 (OpenSSL 3's libcrypto): as fast as a bundled BoringSSL and nothing to compile.
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        // System calls Swift's Glibc module does not export, and the one CPU feature detector
        // (molt_cpu.h: the instruction-set levels the C kernels and the quantizer run at), and
        // CRC-32 folded by carry-less multiplication (molt_crc32.h), which MoltCore sums with.
        .target(name: "CMoltSystem"),
        // Tensors, dtypes, mapped files, checksums and errors shared by every other module.
        .target(name: "MoltCore", dependencies: ["CMoltSystem", "CZlib", "CCrypto"]),
        // Readers of source checkpoints (torch zip and legacy, safetensors, checkpoint dirs), the
        // safetensors writer, and NumPy .npy arrays (logits out, goldens in).
        .target(name: "MoltCheckpoint", dependencies: ["MoltCore", "CZlib"]),
        // The quantizer's search, packing and error measurement: portable C plus AVX2 /
        // AVX-512 paths chosen at run time, all giving the same bytes.
        .target(name: "CMoltQuant", dependencies: ["CMoltSystem"]),
        // Group-wise int8/int4 quantization with scale search, and its error metrics.
        .target(name: "MoltQuant", dependencies: ["MoltCore", "CMoltQuant", "COpenBLAS"]),
        // The .molt file format: streaming writer, validating reader.
        .target(name: "MoltFormat", dependencies: ["MoltCore", "MoltQuant", "CZlib", "CZstd"]),
        // Byte-level BPE (GPT-NeoX tokenizer.json): encode and decode.
        .target(name: "MoltTokenizer", dependencies: ["MoltCore"]),
        // Matrix-vector and matrix-matrix kernels over f32/f16/bf16/q8/q4 weights: portable C
        // plus AVX2 / AVX-512 VNNI paths chosen at run time.
        .target(name: "CMoltKernels", dependencies: ["CMoltSystem"]),
        .target(name: "MoltKernels", dependencies: ["MoltCore", "MoltQuant", "CMoltKernels"]),
        // The BlackMamba forward pass: prefill and decode over f32 weights, and q8/q4 weights
        // read in place through the kernels.
        .target(name: "MoltRuntime", dependencies: ["MoltCore", "MoltFormat", "MoltKernels", "COpenBLAS"]),
        // Side-by-side runs of a source and a converted model, the verdict on a conversion, and
        // the verification policy (what is run, when, and how strictly it is judged).
        .target(name: "MoltParity", dependencies: ["MoltCore", "MoltFormat", "MoltKernels", "MoltRuntime"]),
        // Input statistics of every quantizable weight, recorded from the source model
        // (Formats/calibration.md), for the calibrated quantizer methods.
        .target(name: "MoltCalibration", dependencies: ["MoltCore", "MoltQuant", "MoltRuntime", "COpenBLAS"]),
        // `molt serve`: the continuous-batching scheduler and the OpenAI-compatible HTTP API.
        .target(
            name: "MoltServer",
            dependencies: [
                "MoltCore", "MoltRuntime", "MoltTokenizer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // The `molt` command-line tool.
        .executableTarget(
            name: "MoltCLI",
            dependencies: [
                "MoltCore", "MoltCheckpoint", "MoltRuntime", "MoltFormat", "MoltQuant", "MoltParity", "MoltTokenizer", "MoltKernels", "MoltCalibration",
                "MoltServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Every parser as a fuzz target (Fuzz/ drives them with libFuzzer).
        .target(name: "MoltFuzzTargets", dependencies: ["MoltCore", "MoltCheckpoint", "MoltFormat", "MoltTokenizer", "MoltCalibration", "MoltQuant"]),

        // What several test targets share: scratch directories.
        .target(name: "MoltTestSupport", dependencies: ["MoltCore"], path: "Tests/MoltTestSupport"),
        .testTarget(name: "MoltCoreTests", dependencies: ["MoltCore", "CMoltSystem", "MoltTestSupport"]),
        .testTarget(name: "MoltCheckpointTests", dependencies: ["MoltCheckpoint", "MoltTestSupport"]),
        .testTarget(name: "MoltQuantTests", dependencies: ["MoltQuant", "CMoltQuant"]),
        .testTarget(name: "MoltFormatTests", dependencies: ["MoltFormat", "MoltQuant", "MoltTestSupport"]),
        // Runs the built `molt` binary: exit codes, output files, JSON.
        .testTarget(name: "MoltCLITests", dependencies: ["MoltCLI", "MoltCheckpoint", "MoltRuntime", "MoltFormat", "MoltTestSupport"]),
        .testTarget(name: "MoltTokenizerTests", dependencies: ["MoltTokenizer"]),
        .testTarget(name: "MoltKernelsTests", dependencies: ["MoltKernels", "MoltQuant"]),
        .testTarget(name: "MoltParityTests", dependencies: ["MoltParity", "MoltRuntime", "MoltCheckpoint", "MoltFormat", "MoltKernels"]),
        // Replays every input the fuzzers found, expecting its exact error.
        .testTarget(name: "MoltFuzzTests", dependencies: ["MoltFuzzTargets", "MoltCore"]),
        .testTarget(name: "MoltCalibrationTests", dependencies: ["MoltCalibration", "MoltRuntime", "MoltCheckpoint", "MoltQuant", "MoltTestSupport"]),
        .testTarget(name: "MoltRuntimeTests", dependencies: ["MoltRuntime", "MoltCheckpoint"]),
        // The scheduler without HTTP, and the server over real HTTP on an ephemeral port.
        .testTarget(
            name: "MoltServerTests",
            dependencies: [
                "MoltServer", "MoltRuntime", "MoltCheckpoint", "MoltTokenizer", "MoltFormat", "MoltCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5]
)
