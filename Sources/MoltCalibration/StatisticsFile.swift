import Foundation
import MoltCore
import MoltQuant

/// The `.moltcal` file (Formats/calibration.md): magic, version, a JSON header, then the f64
/// arrays it lists, back to back.
public enum StatisticsFile {
    static let magic: [UInt8] = Array("MOLTCAL\n".utf8)
    static let version: UInt32 = 1
    static let headerLimit = 64 << 20

    /// The file's bytes.
    public static func encode(_ s: CalibrationStatistics) -> Data {
        var data = Data()
        var offset = 0
        var entries: [JSON] = []
        for (name, t) in s.tensors {
            let sumSq = JSON.object([("offset", .int(offset)), ("count", .int(t.columns))])
            offset += t.columns
            var gram = JSON.null
            // Formed here when calibration kept the input rows instead (InputStatistics.SecondMoment).
            let g = t.gram
            if let g {
                gram = .object([("offset", .int(offset)), ("count", .int(g.count))])
                offset += g.count
            }
            entries.append(.object([
                ("name", .string(name)), ("columns", .int(t.columns)), ("tokens", .int(t.tokens)), ("sum_sq", sumSq), ("gram", gram),
            ]))
            // Molt runs on little-endian machines only (as the .molt reader maps values in place).
            t.sumSquares.withUnsafeBytes { data.append(contentsOf: $0) }
            g?.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        let crc = data.withUnsafeBytes { CRC32.of($0) }
        let header = JSON.object([
            ("format", .string("molt-calibration")), ("version", .int(Int(version))),
            ("source", .object([
                ("sha256", .string(s.source.sha256)),
                ("files", .array(s.source.files.map {
                    .object([("name", .string($0.name)), ("sha256", .string($0.sha256)), ("size", .int($0.size))])
                })),
            ])),
            ("text", s.text), ("tokens", .int(s.tokens)), ("sequences", .int(s.sequences)), ("expert_floor", .int(s.expertFloor)),
            ("reservoir_stride", .int(s.reservoirStride)), ("gram", .bool(s.hasGram)), ("data_crc32", .int(Int(crc))),
            ("tensors", .array(entries)),
            ("experts", .array(s.experts.map {
                .object([("layer", .int($0.layer)), ("expert", .int($0.expert)), ("routed_tokens", .int($0.routedTokens)),
                         ("filled", .bool($0.filled))])
            })),
        ])
        let json = Data(header.serialized().utf8)
        var out = Data(magic)
        out.append(contentsOf: withUnsafeBytes(of: version.littleEndian) { Array($0) })
        out.append(contentsOf: withUnsafeBytes(of: UInt32(json.count).littleEndian) { Array($0) })
        out.append(json)
        out.append(Data(count: (8 - out.count % 8) % 8))
        out.append(data)
        return out
    }

    /// Writes the file atomically (temporary name, then rename).
    public static func write(_ s: CalibrationStatistics, to path: String, overwrite: Bool) throws {
        let output = try AtomicOutput(path: path, overwrite: overwrite)
        try encode(s).withUnsafeBytes { try output.write($0) }
        try output.commit()
    }

    /// Reads and validates a file; every problem names `path` (and the tensor or offset).
    public static func read(_ path: String) throws -> CalibrationStatistics {
        guard let data = FileManager.default.contents(atPath: path) else { throw MoltError(.io, "\(path): cannot read") }
        return try decode(data, file: path)
    }

    public static func decode(_ data: Data, file: String) throws -> CalibrationStatistics {
        func bad(_ message: String, _ offset: Int? = nil) -> MoltError { .badInput(message, file: file, offset: offset) }
        guard data.count >= 16, Array(data.prefix(8)) == magic else { throw bad("not a Molt calibration file (bad magic)", 0) }
        let bytes = [UInt8](data)
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
        guard u32(8) == version else { throw bad("calibration file version \(u32(8)); this reader reads \(version)", 8) }
        let length = Int(u32(12))
        guard length <= headerLimit, 16 + length <= bytes.count else { throw bad("header length \(length) runs past the file's end", 12) }
        let header = try bytes[16..<16 + length].withUnsafeBytes { raw in
            try JSON.parse(strict: raw) { message, offset in bad(message, 16 + offset) }
        }
        let dataOffset = (16 + length + 7) / 8 * 8
        guard dataOffset <= bytes.count, (bytes.count - dataOffset) % 8 == 0 else { throw bad("the data section is not whole f64 values", dataOffset) }
        let values = (bytes.count - dataOffset) / 8
        func field<T>(_ json: JSON?, _ name: String, _ get: (JSON) -> T?) throws -> T {
            guard let json, let value = get(json) else { throw bad("header field '\(name)' is missing or of the wrong type") }
            return value
        }
        func int(_ j: JSON) -> Int? { j.nonNegativeInt }
        func string(_ j: JSON) -> String? { if case .string(let s) = j { s } else { nil } }
        func array(_ j: JSON) -> [JSON]? { if case .array(let a) = j { a } else { nil } }
        func bool(_ j: JSON) -> Bool? { if case .bool(let b) = j { b } else { nil } }

        guard header["format"].flatMap(string) == "molt-calibration" else { throw bad("header 'format' is not \"molt-calibration\"") }
        let crc = try field(header["data_crc32"], "data_crc32", int)
        let actualCRC = bytes[dataOffset...].withUnsafeBytes { CRC32.of($0) }
        guard UInt32(truncatingIfNeeded: crc) == actualCRC, crc <= Int(UInt32.max) else {
            throw bad("data section crc32 \(actualCRC) differs from the recorded \(crc): the file is damaged", dataOffset)
        }
        let sourceJSON = try field(header["source"], "source") { $0["files"] != nil ? $0 : nil }
        let files = try field(sourceJSON["files"], "source.files", array).map { f in
            CalibrationStatistics.Source.File(
                name: try field(f["name"], "source.files.name", string), sha256: try field(f["sha256"], "source.files.sha256", string),
                size: try field(f["size"], "source.files.size", int))
        }
        let source = CalibrationStatistics.Source(files: files)
        guard try field(sourceJSON["sha256"], "source.sha256", string) == source.sha256 else {
            throw bad("source.sha256 does not match its files' hashes")
        }
        let hasGram = try field(header["gram"], "gram", bool)
        func doubles(_ range: Range<Int>) -> [Double] {
            bytes.withUnsafeBytes { raw in
                [Double](unsafeUninitializedCapacity: range.count) { out, count in
                    UnsafeMutableRawBufferPointer(out).copyMemory(
                        from: UnsafeRawBufferPointer(rebasing: raw[dataOffset + 8 * range.lowerBound..<dataOffset + 8 * range.upperBound]))
                    count = range.count
                }
            }
        }
        var next = 0
        func run(_ json: JSON?, _ what: String, count expected: Int, name: String) throws -> [Double] {
            let offset = try field(json?["offset"], "\(name) \(what).offset", int)
            let count = try field(json?["count"], "\(name) \(what).count", int)
            guard offset == next, count == expected, offset + count <= values else {
                throw bad("tensor \(name): \(what) at value \(offset) with \(count) values; expected \(expected) values at \(next)")
            }
            next += count
            let run = doubles(offset..<offset + count)
            guard run.allSatisfy(\.isFinite) else { throw bad("tensor \(name): \(what) holds a NaN or an infinity") }
            return run
        }
        let tensors = try field(header["tensors"], "tensors", array).map { t -> (name: String, statistics: InputStatistics) in
            let name = try field(t["name"], "tensors.name", string)
            let columns = try field(t["columns"], "\(name) columns", int)
            guard columns <= 1 << 20 else { throw bad("tensor \(name): \(columns) columns") }
            let sumSq = try run(t["sum_sq"], "sum_sq", count: columns, name: name)
            guard sumSq.allSatisfy({ $0 >= 0 }) else { throw bad("tensor \(name): a negative sum of squares") }
            let gram: [Double]?
            if case .null = t["gram"] ?? .null {
                guard !hasGram else { throw bad("tensor \(name) has no Gram matrix though the file says every tensor has") }
                gram = nil
            } else {
                gram = try run(t["gram"], "gram", count: columns * columns, name: name)
            }
            return (name, try InputStatistics(
                columns: columns, tokens: try field(t["tokens"], "\(name) tokens", int), sumSquares: sumSq, gram: gram))
        }
        guard next == values else { throw bad("\(values - next) f64 values past the last array", dataOffset + 8 * next) }
        let experts = try field(header["experts"], "experts", array).map { e in
            CalibrationStatistics.ExpertCount(
                layer: try field(e["layer"], "experts.layer", int), expert: try field(e["expert"], "experts.expert", int),
                routedTokens: try field(e["routed_tokens"], "experts.routed_tokens", int), filled: try field(e["filled"], "experts.filled", bool))
        }
        return CalibrationStatistics(
            source: source, text: try field(header["text"], "text") { $0["kind"] != nil ? $0 : nil },
            tokens: try field(header["tokens"], "tokens", int), sequences: try field(header["sequences"], "sequences", int),
            expertFloor: try field(header["expert_floor"], "expert_floor", int),
            reservoirStride: try field(header["reservoir_stride"], "reservoir_stride", int), hasGram: hasGram, tensors: tensors,
            experts: experts)
    }
}

extension CalibrationStatistics {
    /// Refuses statistics measured on another source, naming both hashes, or lacking what the
    /// quantizer needs for any of `quantized` (tensor name -> columns).
    public func check(against source: Source, file: String, quantized: [String: Int], needsGram: Bool) throws {
        guard self.source.sha256 == source.sha256 else {
            throw MoltError.badInput(
                "statistics were measured on a source with SHA-256 \(self.source.sha256), but this source's is \(source.sha256)", file: file)
        }
        for (name, columns) in quantized.sorted(by: { $0.key < $1.key }) {
            guard let s = statistics(of: name) else { throw MoltError.badInput("no statistics for tensor \(name)", file: file) }
            guard s.columns == columns else {
                throw MoltError.badInput("tensor \(name): statistics of \(s.columns) columns, the weight has \(columns)", file: file)
            }
            guard !needsGram || s.secondMoment != nil else {
                throw MoltError.badInput("tensor \(name): no Gram matrix, which gptq needs (calibrate with --gram)", file: file)
            }
        }
    }
}
