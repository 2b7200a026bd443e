import Foundation
import MoltCalibration
import MoltCheckpoint
import MoltCore
import MoltFormat
import MoltQuant
import MoltTokenizer

/// One parser as a fuzz target: `run` feeds it untrusted bytes and does with the result what a
/// command would (read every tensor, verify every checksum), so a fuzzer reaches past parsing.
/// A MoltError is the expected outcome of bad bytes; a crash, hang or any other error is a
/// finding. libFuzzer drives these through Fuzz/ (Scripts/fuzz.sh); the ordinary tests replay
/// every finding kept in Fixtures/fuzz/regressions.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// The restricted pickle machine, with storages served for every persistent id.
    case pickle
    /// Zip structure: end of central directory, zip64 records, central directory, local
    /// headers, inflate and CRCs.
    case zip
    /// A whole torch zip checkpoint: zip, data.pkl, records, state dict, tensor views.
    case torchZip = "torch-zip"
    /// The legacy torch stream: five pickles and the storage records after them.
    case torchLegacy = "torch-legacy"
    case safetensors
    /// A `*.index.json` shard index.
    case shardIndex = "shard-index"
    case config
    case tokenizer
    /// A .molt file: preamble, footer, header, tensor table, expert regions, zstd entries.
    case molt
    /// `Tensor` construction from shape, strides and offset (see `tensorInput`).
    case tensor
    /// A .moltcal statistics file: header, array layout, crc32, values; then each tensor's
    /// quantizer weights, as a calibrated conversion asks for them.
    case calibration

    /// Runs one input; throws the MoltError a bad input gets.
    public func run(_ bytes: UnsafeRawBufferPointer) throws {
        switch self {
        case .pickle:
            var machine = PickleMachine(file: "pickle", storages: FuzzTarget.serveStorage)
            let value = try machine.load(bytes).value
            var warnings: [String] = []
            if let table = try? StateDict.extract(from: value, file: "pickle", warnings: &warnings) { try FuzzTarget.touch(table) }
        case .zip:
            let archive = try ZipArchive(file: try FuzzInput.file(bytes), verifyChecksums: true)
            for entry in archive.entries {
                let storage = try archive.storage(of: entry)
                try storage.verifyIntegrity()
            }
        case .torchZip:
            var warnings: [String] = []
            let table = try TorchZip.read(ZipArchive(file: try FuzzInput.file(bytes), verifyChecksums: true), warnings: &warnings)
            try FuzzTarget.touch(table)
        case .torchLegacy:
            var warnings: [String] = []
            let file = try FuzzInput.file(bytes)
            let table = try StateDict.extract(from: TorchLegacy.read(file, warnings: &warnings), file: file.path, warnings: &warnings)
            try FuzzTarget.touch(table)
        case .safetensors:
            try FuzzTarget.touch(Safetensors.read(FuzzInput.file(bytes)).tensors)
        case .shardIndex:
            // The index is parsed and checked before any shard is opened; none exist here.
            _ = try Checkpoint.open(FuzzInput.write(bytes, as: "model.safetensors.index.json"))
        case .config:
            _ = try BlackMambaConfig.parse(json: Data(bytes), file: "config.json")
        case .tokenizer:
            let tokenizer = try Tokenizer(json: Data(bytes), file: "tokenizer.json")
            _ = tokenizer.decode(tokenizer.encode("Hello, world! \u{1F600} 123"))
        case .molt:
            let file = try MoltFile(path: FuzzInput.write(bytes, as: "input.molt"))
            try file.verifyChecksums()
            for name in file.tensorNames { _ = try file.runtimeTensor(name).floatValues() }
        case .tensor:
            let tensor = try FuzzTarget.tensorInput(bytes)
            _ = try tensor.floatValues()
        case .calibration:
            let statistics = try StatisticsFile.read(FuzzInput.write(bytes, as: "input.moltcal"))
            for (_, t) in statistics.tensors where t.columns > 0 && t.columns % 32 == 0 {
                _ = try t.searchWeights(layout: QuantLayout(type: .q4, rows: 1, columns: t.columns, groupSize: 32))
            }
        }
    }

    /// A tensor from bytes: dtype (byte 0, modulo the dtype count), rank (byte 1, modulo 5),
    /// then rank little-endian Int64 sizes, rank Int64 strides, an Int64 offset, and the
    /// remaining bytes as the storage.
    public static func tensorInput(_ bytes: UnsafeRawBufferPointer) throws -> Tensor {
        var reader = ByteReader(bytes: bytes)
        let dtype = DType.allCases[Int(reader.byte()) % DType.allCases.count]
        let rank = Int(reader.byte()) % 5
        let shape = (0..<rank).map { _ in reader.int64() }
        let strides = (0..<rank).map { _ in reader.int64() }
        let offset = reader.int64()
        let storage = Storage(copying: UnsafeRawBufferPointer(rebasing: bytes[reader.position...]))
        return try Tensor(storage: storage, dtype: dtype, shape: shape, strides: strides, offset: offset)
    }

    /// Zero bytes of the size a persistent id declares, up to 1 MiB (larger is refused, as
    /// a missing record would be).
    private static func serveStorage(_ request: StorageRequest) throws -> Storage {
        guard request.byteCount <= 1 << 20 else { throw MoltError.badInput("fuzz: storage of \(request.byteCount) bytes not served") }
        return Storage(byteCount: request.byteCount) { $0.initializeMemory(as: UInt8.self, repeating: 0) }
    }

    /// What export does with every tensor: verify its storage and read it contiguous.
    private static func touch(_ table: TensorTable) throws {
        try table.verifyingIntegrity {
            for (_, tensor) in table.entries { _ = try tensor.converted(to: .f32).floatValues() }
        }
    }
}

/// The bytes of a file-reading target's input, written under a per-process scratch directory:
/// the readers map files, as they do for users. Messages name the path; `FuzzInput.directory`
/// lets a replay put it back to a placeholder.
public enum FuzzInput {
    public static let directory = NSTemporaryDirectory() + "/molt-fuzz-\(getpid())"

    static func write(_ bytes: UnsafeRawBufferPointer, as name: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/" + name
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw MoltError(.io, "\(path): cannot write the fuzz input")
        }
        return path
    }

    static func file(_ bytes: UnsafeRawBufferPointer) throws -> MappedFile {
        try MappedFile(path: write(bytes, as: "input"))
    }
}

/// Little-endian fields from the front of a buffer; past its end, zeros.
private struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    mutating func byte() -> UInt8 {
        defer { position = min(position + 1, bytes.count) }
        return position < bytes.count ? bytes[position] : 0
    }

    mutating func int64() -> Int {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 8) { value |= UInt64(byte()) << UInt64(shift) }
        return Int(truncatingIfNeeded: value)
    }
}
