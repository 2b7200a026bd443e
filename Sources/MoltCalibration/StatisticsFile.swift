import Foundation
import MoltCore
import MoltQuant

/// The `.moltcal` file (Formats/calibration.md): magic, version, a JSON header, then the arrays
/// it lists, back to back, each in whole 8-byte slots.
public enum StatisticsFile {
    static let magic: [UInt8] = Array("MOLTCAL\n".utf8)
    /// Version 2 added kept input rows (`rows`, f16) as a tensor's second moment; a version 1
    /// file, which has none, reads the same way.
    static let version: UInt32 = 2
    static let readableVersions: ClosedRange<UInt32> = 1...2
    static let headerLimit = 64 << 20

    /// The file's bytes, for files small enough to hold twice (tests).
    public static func encode(_ s: CalibrationStatistics) throws -> Data {
        var data = Data()
        try emit(s) { data.append(contentsOf: $0) }
        return data
    }

    /// Writes the file atomically (temporary name, then rename), straight from the statistics'
    /// arrays: with Gram matrices or kept rows they are gigabytes, and are not copied.
    public static func write(_ s: CalibrationStatistics, to path: String, overwrite: Bool) throws {
        let output = try AtomicOutput(path: path, overwrite: overwrite)
        try emit(s) { try output.write($0) }
        try output.commit()
    }

    /// Each array of the data section in order, its bytes then the zeros that fill its last slot.
    static func forEachArray(_ s: CalibrationStatistics, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let zeros = [UInt8](repeating: 0, count: 8)
        func padded(_ bytes: UnsafeRawBufferPointer) throws {
            try body(bytes)
            let pad = (8 - bytes.count % 8) % 8
            if pad > 0 { try zeros.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<pad])) } }
        }
        // Molt runs on little-endian machines only (as the .molt reader maps values in place).
        for (_, t) in s.tensors {
            try t.sumSquares.withUnsafeBytes(padded)
            switch t.secondMoment {
            case .gram(let g)?: try g.withUnsafeBytes(padded)
            case .rows(let r)?: try r.withUnsafeBytes(padded)
            case nil: break
            }
        }
    }

    /// The file, a piece at a time: the header (which holds the data's crc32, so the arrays are
    /// read twice), then the arrays.
    static func emit(_ s: CalibrationStatistics, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var crc: UInt32 = 0
        try forEachArray(s) { crc = CRC32.update(crc, $0) }
        var slot = 0
        func run(count: Int, bytesPerValue: Int) -> JSON {
            defer { slot += (count * bytesPerValue + 7) / 8 }
            return .object([("offset", .int(slot)), ("count", .int(count))])
        }
        let entries: [JSON] = s.tensors.map { name, t in
            let sumSq = run(count: t.columns, bytesPerValue: 8)
            var gram = JSON.null, rows = JSON.null
            switch t.secondMoment {
            case .gram(let g)?: gram = run(count: g.count, bytesPerValue: 8)
            case .rows(let r)?: rows = run(count: r.count, bytesPerValue: 2)
            case nil: break
            }
            return .object([
                ("name", .string(name)), ("columns", .int(t.columns)), ("tokens", .int(t.tokens)), ("sum_sq", sumSq), ("gram", gram),
                ("rows", rows),
            ])
        }
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
        let json = Array(header.serialized().utf8)
        var prefix = magic
        prefix += withUnsafeBytes(of: version.littleEndian) { Array($0) }
        prefix += withUnsafeBytes(of: UInt32(json.count).littleEndian) { Array($0) }
        prefix += json
        prefix += [UInt8](repeating: 0, count: (8 - prefix.count % 8) % 8)
        try prefix.withUnsafeBytes(sink)
        try forEachArray(s, sink)
    }

    /// Reads and validates a file, mapped rather than read whole; every problem names `path`
    /// (and the tensor or offset).
    public static func read(_ path: String) throws -> CalibrationStatistics {
        let file = try MappedFile(path: path)
        return try decode(file.bytes, file: path)
    }

    public static func decode(_ data: Data, file: String) throws -> CalibrationStatistics {
        try data.withUnsafeBytes { try decode($0, file: file) }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer, file: String) throws -> CalibrationStatistics {
        func bad(_ message: String, _ offset: Int? = nil) -> MoltError { .badInput(message, file: file, offset: offset) }
        guard bytes.count >= 16, Array(bytes.prefix(8)) == magic else { throw bad("not a Molt calibration file (bad magic)", 0) }
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
        let fileVersion = u32(8)
        guard readableVersions.contains(fileVersion) else {
            throw bad("calibration file version \(fileVersion); this reader reads \(readableVersions.lowerBound) to \(readableVersions.upperBound)", 8)
        }
        let length = Int(u32(12))
        guard length <= headerLimit, 16 + length <= bytes.count else { throw bad("header length \(length) runs past the file's end", 12) }
        let header = try JSON.parse(strict: UnsafeRawBufferPointer(rebasing: bytes[16..<16 + length])) { message, offset in
            bad(message, 16 + offset)
        }
        let dataOffset = (16 + length + 7) / 8 * 8
        guard dataOffset <= bytes.count, (bytes.count - dataOffset) % 8 == 0 else { throw bad("the data section is not whole 8-byte slots", dataOffset) }
        let data = UnsafeRawBufferPointer(rebasing: bytes[dataOffset...])
        let slots = data.count / 8
        func field<T>(_ json: JSON?, _ name: String, _ get: (JSON) -> T?) throws -> T {
            guard let json, let value = get(json) else { throw bad("header field '\(name)' is missing or of the wrong type") }
            return value
        }
        func int(_ j: JSON) -> Int? { j.nonNegativeInt }
        func string(_ j: JSON) -> String? { if case .string(let s) = j { s } else { nil } }
        func array(_ j: JSON) -> [JSON]? { if case .array(let a) = j { a } else { nil } }
        func bool(_ j: JSON) -> Bool? { if case .bool(let b) = j { b } else { nil } }
        func isNull(_ j: JSON?) -> Bool { if case .null = j ?? .null { true } else { false } }

        guard header["format"].flatMap(string) == "molt-calibration" else { throw bad("header 'format' is not \"molt-calibration\"") }
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
        // First the layout of every array (from the header alone), then the data's crc32, and only
        // then the values.
        enum Kind { case f64, f16 }
        struct Run { let what: String, kind: Kind, slot: Int, count: Int }
        struct Entry { let name: String, columns: Int, tokens: Int, sumSq: Run, second: Run? }
        var next = 0
        func run(_ json: JSON?, _ what: String, _ kind: Kind, count expected: Int, name: String) throws -> Run {
            let offset = try field(json?["offset"], "\(name) \(what).offset", int)
            let count = try field(json?["count"], "\(name) \(what).count", int)
            let size = kind == .f64 ? 8 : 2
            guard offset == next, count == expected, expected <= slots * 8 / size, offset + (expected * size + 7) / 8 <= slots else {
                throw bad("tensor \(name): \(what) at slot \(offset) with \(count) values; expected \(expected) values at slot \(next)")
            }
            next += (expected * size + 7) / 8
            return Run(what: what, kind: kind, slot: offset, count: count)
        }
        let entries = try field(header["tensors"], "tensors", array).map { t -> Entry in
            let name = try field(t["name"], "tensors.name", string)
            let columns = try field(t["columns"], "\(name) columns", int)
            guard columns <= 1 << 20 else { throw bad("tensor \(name): \(columns) columns") }
            let tokens = try field(t["tokens"], "\(name) tokens", int)
            let sumSq = try run(t["sum_sq"], "sum_sq", .f64, count: columns, name: name)
            let second: Run?
            switch (isNull(t["gram"]), isNull(t["rows"])) {
            case (false, true):
                second = try run(t["gram"], "gram", .f64, count: columns * columns, name: name)
            case (true, false):
                guard fileVersion >= 2 else { throw bad("tensor \(name): kept rows in a version \(fileVersion) file") }
                guard tokens <= slots * 4 / max(columns, 1) else { throw bad("tensor \(name): \(tokens) tokens of kept rows exceed the data section") }
                second = try run(t["rows"], "rows", .f16, count: tokens * columns, name: name)
            case (true, true):
                guard !hasGram else { throw bad("tensor \(name) has no Gram matrix though the file says every tensor has") }
                second = nil
            case (false, false):
                throw bad("tensor \(name) has both a Gram matrix and kept rows")
            }
            return Entry(name: name, columns: columns, tokens: tokens, sumSq: sumSq, second: second)
        }
        guard next == slots else { throw bad("\(slots - next) slots past the last array", dataOffset + 8 * next) }

        let crc = try field(header["data_crc32"], "data_crc32", int)
        let actualCRC = CRC32.of(data)
        guard UInt32(truncatingIfNeeded: crc) == actualCRC, crc <= Int(UInt32.max) else {
            throw bad("data section crc32 \(actualCRC) differs from the recorded \(crc): the file is damaged", dataOffset)
        }

        func values<T: BinaryFloatingPoint>(_ a: Run, of name: String, as: T.Type) throws -> [T] {
            let start = 8 * a.slot, end = start + a.count * MemoryLayout<T>.size
            guard data[end..<(end + 7) / 8 * 8].allSatisfy({ $0 == 0 }) else {
                throw bad("tensor \(name): nonzero padding after \(a.what)", dataOffset + end)
            }
            let values = [T](unsafeUninitializedCapacity: a.count) { out, initialized in
                UnsafeMutableRawBufferPointer(out).copyMemory(from: UnsafeRawBufferPointer(rebasing: data[start..<end]))
                initialized = a.count
            }
            guard values.allSatisfy(\.isFinite) else { throw bad("tensor \(name): \(a.what) holds a NaN or an infinity") }
            return values
        }
        let tensors = try entries.map { e -> (name: String, statistics: InputStatistics) in
            let sumSq = try values(e.sumSq, of: e.name, as: Double.self)
            guard sumSq.allSatisfy({ $0 >= 0 }) else { throw bad("tensor \(e.name): a negative sum of squares") }
            let second: InputStatistics.SecondMoment? = try e.second.map {
                $0.kind == .f64 ? .gram(try values($0, of: e.name, as: Double.self)) : .rows(try values($0, of: e.name, as: Float16.self))
            }
            return (e.name, try InputStatistics(columns: e.columns, tokens: e.tokens, sumSquares: sumSq, secondMoment: second))
        }
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
