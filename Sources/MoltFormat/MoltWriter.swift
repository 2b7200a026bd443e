import Foundation
import MoltCore
import MoltQuant

/// What the caller says about the file, besides the tensors and blobs the writer recorded.
public struct MoltHeaderInfo: Sendable {
    public var tool: MoltHeader.Tool
    public var model: BlackMambaConfig
    public var quantization: JSON
    public var provenance: MoltHeader.Provenance
    /// Name of a blob holding tokenizer.json, if one was appended.
    public var tokenizer: String?
    public var parity: JSON
    public var metadata: [String: JSON]

    public init(
        tool: MoltHeader.Tool, model: BlackMambaConfig, quantization: JSON = .null,
        provenance: MoltHeader.Provenance, tokenizer: String? = nil, parity: JSON = .null,
        metadata: [String: JSON] = [:]
    ) {
        self.tool = tool
        self.model = model
        self.quantization = quantization
        self.provenance = provenance
        self.tokenizer = tokenizer
        self.parity = parity
        self.metadata = metadata
    }
}

/// Streams a .molt file in one pass: preamble, then tensors one at a time (in row chunks, so
/// memory stays bounded by a chunk, not a tensor), then the JSON header and footer. The
/// trailer can be replaced afterwards, e.g. to add the parity report.
///
/// Tensors of one expert must be appended consecutively; the writer puts them in one
/// page-aligned region. After any error the writer refuses further calls.
public final class MoltWriter {
    public let sink: OutputSink
    /// zstd level for tensors and blobs appended with `compress: true`.
    public var zstdLevel: Int32 = 3
    public private(set) var tensors: [MoltTensorEntry] = []
    public private(set) var blobs: [MoltBlobEntry] = []
    public private(set) var expertRegions: [ExpertRegion] = []

    /// Bytes of source (or output) processed at a time.
    static let chunkBytes = 8 << 20
    private var tensorNames = Set<String>()
    private var openRegion: (key: ExpertKey, start: Int)?
    private var closedExperts = Set<ExpertKey>()
    private var trailer: (header: MoltHeader, offset: Int)?
    private var failed = false
    private let checksums = SourceChecksums()

    /// Writes the preamble; `sink` must be empty.
    public init(sink: OutputSink) throws {
        guard sink.offset == 0 else { throw MoltError(.usage, "a Molt file must start at offset 0, the sink is at \(sink.offset)") }
        self.sink = sink
        try Preamble.encoded().withUnsafeBytes { try sink.write($0) }
    }

    /// Appends `tensor` stored as `type`: f32/f16/bf16 convert from any float dtype; q8/q4
    /// quantize a 2-D [out, in] tensor in groups of `groupSize` along `in` with `method`, which
    /// reads `statistics` (its calibrated inputs) when it is a calibrated one.
    @discardableResult
    public func append(
        _ name: String, _ tensor: Tensor, as type: MoltTensorType, groupSize: Int = 32, method: QuantMethod = .search,
        statistics: InputStatistics? = nil, compress: Bool = false
    ) throws -> MoltTensorEntry {
        try guarded {
            guard !tensorNames.contains(name) else { throw MoltError(.usage, "tensor \(quoted(name)) appended twice") }
            guard tensor.dtype.isFloatingPoint else {
                throw MoltError.unsupported("tensor \(quoted(name)) is \(tensor.dtype.rawValue): only float tensors are stored")
            }
            try enterRegion(of: ExpertKey(tensorName: name))
            try pad(to: MoltFormat.tensorAlignment)
            let offset = sink.offset
            var entry: MoltTensorEntry
            if let quantType = type.quantType {
                guard tensor.shape.count == 2 else {
                    throw MoltError.unsupported("tensor \(quoted(name)) has shape \(tensor.shape): only 2-D weights are quantized")
                }
                let layout = try QuantLayout(type: quantType, rows: tensor.shape[0], columns: tensor.shape[1], groupSize: groupSize)
                let stream = try StoredStream(sink: sink, compressor: compress ? ZstdFrameWriter(level: zstdLevel, contentSize: layout.byteCount) : nil)
                if method.isCalibrated, statistics == nil {
                    throw MoltError(.usage, "tensor '\(name)': \(method.rawValue) needs calibration statistics")
                }
                let error = try writeQuantized(tensor, layout: layout, method: method, statistics: statistics, into: stream)
                try stream.finish()
                entry = MoltTensorEntry(
                    name: name, type: type, shape: tensor.shape, groupSize: groupSize, paddedColumns: layout.paddedColumns,
                    offset: offset, length: stream.length, crc32: stream.crc, quantError: QuantErrorReport(error))
            } else if let dtype = type.dtype, dtype == tensor.dtype, !compress, let (file, range) = tensor.mappedByteRange {
                // Stored as read: the kernel copies the bytes (as cp does), so this thread never
                // reads them. A whole zip entry comes with its CRC-32 (checked against the bytes
                // by whoever verifies the source); others are summed on a background thread.
                try sink.copy(from: file, range: range)
                let recorded = range.count == tensor.storage.count ? tensor.storage.recordedCRC32 : nil
                if recorded == nil { checksums.add(tensor: tensors.count, file: file, range: range) }
                entry = MoltTensorEntry(
                    name: name, type: type, shape: tensor.shape, offset: offset, length: range.count, crc32: recorded ?? 0)
            } else if let dtype = type.dtype {
                let size = try Checked.multiply([tensor.count, dtype.size], what: "tensor \(quoted(name))")
                let stream = try StoredStream(sink: sink, compressor: compress ? ZstdFrameWriter(level: zstdLevel, contentSize: size) : nil)
                try writePlain(tensor, as: dtype, into: stream)
                try stream.finish()
                entry = MoltTensorEntry(name: name, type: type, shape: tensor.shape, offset: offset, length: stream.length, crc32: stream.crc)
            } else {
                throw MoltError.unsupported("no way to store \(type.rawValue)")
            }
            if compress { entry.compression = Compression(storedLength: entry.length, uncompressedLength: try decodedSize(entry)) }
            tensorNames.insert(name)
            tensors.append(entry)
            return entry
        }
    }

    /// Appends an opaque blob (e.g. tokenizer.json), outside any expert region.
    @discardableResult
    public func appendBlob(_ name: String, _ bytes: UnsafeRawBufferPointer, compress: Bool = false) throws -> MoltBlobEntry {
        try guarded {
            guard !blobs.contains(where: { $0.name == name }) else { throw MoltError(.usage, "blob \(quoted(name)) appended twice") }
            try enterRegion(of: nil)
            try pad(to: MoltFormat.tensorAlignment)
            let offset = sink.offset
            let stream = try StoredStream(sink: sink, compressor: compress ? ZstdFrameWriter(level: zstdLevel, contentSize: bytes.count) : nil)
            for start in stride(from: 0, to: bytes.count, by: MoltWriter.chunkBytes) {
                try stream.feed(UnsafeRawBufferPointer(rebasing: bytes[start..<min(start + MoltWriter.chunkBytes, bytes.count)]))
            }
            try stream.finish()
            var entry = MoltBlobEntry(name: name, offset: offset, length: stream.length, crc32: stream.crc)
            if compress { entry.compression = Compression(storedLength: stream.length, uncompressedLength: bytes.count) }
            blobs.append(entry)
            return entry
        }
    }

    /// Closes the data section and writes the header and footer. Returns the header written.
    @discardableResult
    public func finish(_ info: MoltHeaderInfo) throws -> MoltHeader {
        try guarded {
            guard trailer == nil else { throw MoltError(.usage, "the Molt file is already finished") }
            if let tokenizer = info.tokenizer, !blobs.contains(where: { $0.name == tokenizer }) {
                throw MoltError(.usage, "tokenizer blob \(quoted(tokenizer)) was not appended")
            }
            try enterRegion(of: nil)
            try pad(to: MoltFormat.tensorAlignment)
            for (index, crc) in checksums.wait() { tensors[index].crc32 = crc }
            let header = MoltHeader(
                tool: info.tool, model: info.model, quantization: info.quantization, provenance: info.provenance,
                tokenizer: info.tokenizer, blobs: blobs, tensors: tensors, expertRegions: expertRegions, parity: info.parity,
                metadata: info.metadata)
            let offset = sink.offset
            try MoltWriter.writeTrailer(header, to: sink)
            trailer = (header, offset)
            return header
        }
    }

    /// Rewrites the trailer of the finished file with a new parity report (and metadata, when
    /// given): truncates at the header and writes header and footer again. Tensors stay put.
    @discardableResult
    public func replaceTrailer(parity: JSON, metadata: [String: JSON]? = nil) throws -> MoltHeader {
        try guarded {
            guard let (finished, offset) = trailer else { throw MoltError(.usage, "finish the Molt file before replacing its trailer") }
            var header = finished
            header.parity = parity
            if let metadata { header.metadata = metadata }
            try sink.truncate(to: offset)
            try MoltWriter.writeTrailer(header, to: sink)
            trailer = (header, offset)
            return header
        }
    }

    /// The same, for a finished file on disk (validated first). Not atomic: meant for an output
    /// that is not yet published (before the temporary file is renamed into place).
    @discardableResult
    public static func replaceTrailer(ofFileAt path: String, parity: JSON, metadata: [String: JSON]? = nil) throws -> MoltHeader {
        // Parse, then drop the mapping before the file shrinks under it.
        var (header, offset) = try { () throws -> (MoltHeader, Int) in
            let file = try MoltFile(path: path)
            return (file.header, file.headerOffset)
        }()
        header.parity = parity
        if let metadata { header.metadata = metadata }
        let sink = try FileDescriptorSink(rewriting: path, at: offset)
        try sink.truncate(to: offset)
        try writeTrailer(header, to: sink)
        try sink.sync()
        return header
    }

    static func writeTrailer(_ header: MoltHeader, to sink: OutputSink) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = try encoder.encode(header)
        let headerOffset = sink.offset
        try json.withUnsafeBytes { try sink.write($0) }
        let compressed = header.tensors.contains { $0.compression != nil } || header.blobs.contains { $0.compression != nil }
        let footer = Footer(
            major: MoltFormat.majorVersion, minor: MoltFormat.minorVersion, flags: compressed ? MoltFormat.zstdFlag : 0,
            headerOffset: headerOffset, headerLength: json.count, headerCRC: json.withUnsafeBytes { CRC32.of($0) })
        try footer.encoded().withUnsafeBytes { try sink.write($0) }
    }

    // MARK: - Data section

    private func guarded<R>(_ body: () throws -> R) throws -> R {
        guard !failed else { throw MoltError(.usage, "the Molt writer failed earlier; its output is incomplete") }
        do {
            return try body()
        } catch {
            failed = true
            throw error
        }
    }

    /// Opens, keeps or closes the expert region so that `key`'s tensors share one region.
    private func enterRegion(of key: ExpertKey?) throws {
        if let open = openRegion, open.key != key {
            try pad(to: MoltFormat.pageSize)
            expertRegions.append(ExpertRegion(layer: open.key.layer, expert: open.key.expert, offset: open.start, length: sink.offset - open.start))
            closedExperts.insert(open.key)
            openRegion = nil
        }
        guard let key, openRegion == nil else { return }
        guard !closedExperts.contains(key) else {
            throw MoltError(.usage, "tensors of layer \(key.layer) expert \(key.expert) are not consecutive: its region is already closed")
        }
        try pad(to: MoltFormat.pageSize)
        openRegion = (key, sink.offset)
    }

    private func pad(to alignment: Int) throws {
        let remainder = sink.offset % alignment
        guard remainder != 0 else { return }
        let zeros = [UInt8](repeating: 0, count: alignment - remainder)
        try zeros.withUnsafeBytes { try sink.write($0) }
    }

    private func writePlain(_ tensor: Tensor, as target: DType, into stream: StoredStream) throws {
        try tensor.withContiguousBytes { raw in
            guard let base = raw.baseAddress else { return }
            if tensor.dtype == target {
                for start in stride(from: 0, to: raw.count, by: MoltWriter.chunkBytes) {
                    try stream.feed(UnsafeRawBufferPointer(rebasing: raw[start..<min(start + MoltWriter.chunkBytes, raw.count)]))
                }
                return
            }
            let perChunk = MoltWriter.chunkBytes / 4
            let floats = UnsafeMutablePointer<Float>.allocate(capacity: perChunk)
            defer { floats.deallocate() }
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: perChunk * 4, alignment: 64)
            defer { out.deallocate() }
            for start in stride(from: 0, to: tensor.count, by: perChunk) {
                let n = min(perChunk, tensor.count - start)
                try ElementConversion.widen(base + start * tensor.dtype.size, dtype: tensor.dtype, count: n, into: floats)
                ElementConversion.narrow(floats, count: n, to: target, into: out.baseAddress!)
                try stream.feed(UnsafeRawBufferPointer(rebasing: out[0..<n * target.size]))
            }
        }
    }

    private func writeQuantized(
        _ tensor: Tensor, layout: QuantLayout, method: QuantMethod, statistics: InputStatistics?, into stream: StoredStream
    ) throws -> QuantError {
        let columns = layout.columns
        // Per tensor, not per chunk: the weighted search's weights, GPTQ's inverse Hessian.
        let weights = method.isCalibrated ? try statistics?.searchWeights(layout: layout) : nil
        let factor = method == .gptq ? try statistics.flatMap(GPTQ.inverseFactor) : nil
        // Chunks are counted in f32 whatever the source type: blocks of parallel work start at
        // each chunk, so the chunks fix the order of the error sums.
        let rowsPerChunk = max(1, MoltWriter.chunkBytes / max(1, columns * 4))
        return try tensor.withContiguousBytes { raw in
            var error = QuantError()
            guard let base = raw.baseAddress, layout.rows > 0 else { return error }
            // The quantizer reads f32, bf16 and f16 in place (any alignment); others are
            // widened to f32 a chunk at a time.
            // GPTQ updates f32 copies of the rows.
            let inPlace = [DType.f32, .bf16, .f16].contains(tensor.dtype) && method != .gptq
            let floats = UnsafeMutablePointer<Float>.allocate(capacity: inPlace ? 0 : rowsPerChunk * columns)
            defer { floats.deallocate() }
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, rowsPerChunk * layout.rowStride), alignment: 64)
            defer { out.deallocate() }
            for first in stride(from: 0, to: layout.rows, by: rowsPerChunk) {
                let rows = min(rowsPerChunk, layout.rows - first)
                let chunk = base + first * columns * tensor.dtype.size
                let chunkError: QuantError
                if inPlace {
                    chunkError = try Quantizer.quantizeRows(
                        chunk, dtype: tensor.dtype, rows: rows, firstRow: first, layout: layout, method: method, weights: weights,
                        into: out.baseAddress!)
                } else if method == .gptq {
                    try ElementConversion.widen(chunk, dtype: tensor.dtype, count: rows * columns, into: floats)
                    guard let weights else { throw MoltError(.usage, "gptq needs calibration statistics") }
                    chunkError = try GPTQ.quantizeRows(
                        floats, rows: rows, firstRow: first, layout: layout, factor: factor, searchWeights: weights, into: out.baseAddress!)
                } else {
                    try ElementConversion.widen(chunk, dtype: tensor.dtype, count: rows * columns, into: floats)
                    chunkError = try Quantizer.quantizeRows(
                        floats, dtype: .f32, rows: rows, firstRow: first, layout: layout, method: method, weights: weights,
                        into: out.baseAddress!)
                }
                error.merge(chunkError)
                try stream.feed(UnsafeRawBufferPointer(rebasing: out[0..<rows * layout.rowStride]))
            }
            return error
        }
    }
}

/// The stored bytes of one entry on their way to the sink: optionally through zstd, always
/// through crc32, counted.
final class StoredStream {
    private let sink: OutputSink
    private let compressor: ZstdFrameWriter?
    private(set) var crc: UInt32 = 0
    private(set) var length = 0

    init(sink: OutputSink, compressor: ZstdFrameWriter?) throws {
        self.sink = sink
        self.compressor = compressor
    }

    func feed(_ bytes: UnsafeRawBufferPointer) throws {
        if let compressor { try compressor.compress(bytes, last: false, emit: emit) } else { try emit(bytes) }
    }

    func finish() throws {
        try compressor?.compress(UnsafeRawBufferPointer(start: nil, count: 0), last: true, emit: emit)
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        try sink.write(bytes)
        crc = CRC32.update(crc, bytes)
        length += bytes.count
    }
}

/// crc32s of tensors copied from mapped source files, computed in order on a background thread
/// while the writer goes on; each range's pages are dropped from memory once summed.
private final class SourceChecksums: @unchecked Sendable {
    private let queue = DispatchQueue(label: "molt.writer.checksums")
    private let lock = NSLock()
    private var results: [(tensor: Int, crc: UInt32)] = []

    func add(tensor: Int, file: MappedFile, range: Range<Int>) {
        queue.async { [self] in
            let crc = CRC32.of(UnsafeRawBufferPointer(rebasing: file.bytes[range]))
            file.release(range)
            lock.withLock { results.append((tensor, crc)) }
        }
    }

    /// Every checksum asked for so far, by tensor index.
    func wait() -> [(tensor: Int, crc: UInt32)] {
        queue.sync {}
        return lock.withLock { results }
    }
}
