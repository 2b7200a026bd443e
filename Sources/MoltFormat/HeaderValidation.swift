import MoltCore
import MoltQuant

/// Bytes a tensor occupies decoded (uncompressed), from its type and shape, overflow-checked.
/// Also checks that the type's parameters are present and sane.
func decodedSize(_ entry: MoltTensorEntry) throws -> Int {
    let what = "tensor \(quoted(entry.name))"
    guard entry.shape.count <= MoltFormat.maxRank else { throw MoltError.badInput("\(what) has \(entry.shape.count) dimensions, at most \(MoltFormat.maxRank) allowed") }
    guard entry.shape.allSatisfy({ $0 >= 0 }) else { throw MoltError.badInput("\(what) has a negative dimension in \(entry.shape)") }
    if let quantType = entry.type.quantType {
        guard entry.shape.count == 2 else { throw MoltError.badInput("\(what) is \(quantType.rawValue) with shape \(entry.shape): quantized tensors are 2-D") }
        guard let groupSize = entry.groupSize else { throw MoltError.badInput("\(what) is \(quantType.rawValue) without a group_size") }
        let layout: QuantLayout
        do {
            layout = try QuantLayout(type: quantType, rows: entry.shape[0], columns: entry.shape[1], groupSize: groupSize)
        } catch let error as MoltError {
            throw error.within(what)
        }
        guard entry.paddedColumns == layout.paddedColumns else {
            throw MoltError.badInput("\(what): padded_columns is \(entry.paddedColumns.map(String.init) ?? "missing"), expected \(layout.paddedColumns)")
        }
        return layout.byteCount
    }
    guard entry.groupSize == nil, entry.paddedColumns == nil else { throw MoltError.badInput("\(what) is \(entry.type.rawValue) but has a group_size") }
    return try Checked.multiply(entry.shape + [entry.type.dtype?.size ?? 0], what: what)
}

extension MoltTensorEntry {
    func layout() throws -> QuantLayout? {
        guard let quantType = type.quantType, let groupSize else { return nil }
        return try QuantLayout(type: quantType, rows: shape[0], columns: shape[1], groupSize: groupSize)
    }
}

/// Every check of Formats/molt.md's "Validation" sections, before any tensor byte is used.
struct HeaderValidator {
    let file: String
    let header: MoltHeader
    let flags: UInt32
    /// The data section is [64, dataEnd).
    let dataEnd: Int

    /// A stored run of bytes: a tensor or a blob.
    struct Span {
        let label: String
        let offset: Int
        let end: Int
    }

    func validate() throws -> BlackMambaConfig {
        let config = header.model

        var spans: [Span] = []
        var names = Set<String>()
        for tensor in header.tensors {
            guard names.insert(tensor.name).inserted else { throw fail("tensor \(quoted(tensor.name)) appears twice", tensor.offset) }
            let size: Int
            do { size = try decodedSize(tensor) } catch let error as MoltError { throw MoltError.badInput(error.message, file: file, offset: tensor.offset) }
            spans.append(try span("tensor \(quoted(tensor.name))", tensor.offset, tensor.length, tensor.compression, decoded: size))
        }
        var blobNames = Set<String>()
        for blob in header.blobs {
            guard blobNames.insert(blob.name).inserted else { throw fail("blob \(quoted(blob.name)) appears twice", blob.offset) }
            let size = blob.compression?.uncompressedLength ?? blob.length
            guard size >= 0 else { throw fail("blob \(quoted(blob.name)) has negative length", blob.offset) }
            spans.append(try span("blob \(quoted(blob.name))", blob.offset, blob.length, blob.compression, decoded: size))
        }
        try checkNoOverlap(spans)

        let compressed = header.tensors.contains { $0.compression != nil } || header.blobs.contains { $0.compression != nil }
        guard compressed == (flags & MoltFormat.zstdFlag != 0) else {
            throw fail("footer's zstd flag is \(!compressed) but \(compressed ? "some" : "no") entries are compressed", nil)
        }
        if let tokenizer = header.tokenizer, !blobNames.contains(tokenizer) {
            throw fail("tokenizer names blob \(quoted(tokenizer)), which is not in the file", nil)
        }
        try checkExpertRegions()
        for key in ModelMetadataKey.allCases {
            guard let value = header.metadata[key.rawValue] else { continue }
            guard case .string = value else { throw fail("metadata.\(key.rawValue) is not a string", nil) }
        }
        return config
    }

    private func fail(_ message: String, _ offset: Int?) -> MoltError { MoltError.badInput(message, file: file, offset: offset) }

    private func span(_ label: String, _ offset: Int, _ length: Int, _ compression: Compression?, decoded: Int) throws -> Span {
        guard offset >= MoltFormat.preambleSize, offset % MoltFormat.tensorAlignment == 0 else {
            throw fail("\(label) starts at \(offset): must be a multiple of \(MoltFormat.tensorAlignment) in the data section", offset)
        }
        guard length >= 0 else { throw fail("\(label) has negative length \(length)", offset) }
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow else { throw fail("\(label): offset \(offset) + length \(length) overflows", offset) }
        guard end <= dataEnd else {
            throw fail("\(label) [\(offset), \(end)) runs past the data section, which ends at \(dataEnd)", offset)
        }
        if let compression {
            guard compression.codec == "zstd" else { throw fail("\(label) uses unknown compression \(quoted(compression.codec))", offset) }
            guard compression.storedLength == length, length > 0 else {
                throw fail("\(label): compression.stored_length \(compression.storedLength) differs from length \(length)", offset)
            }
            guard compression.uncompressedLength == decoded else {
                throw fail("\(label): uncompressed_length \(compression.uncompressedLength), its type and shape need \(decoded)", offset)
            }
        } else {
            guard length == decoded else { throw fail("\(label) has length \(length), its type and shape need \(decoded)", offset) }
        }
        return Span(label: label, offset: offset, end: end)
    }

    private func checkNoOverlap(_ spans: [Span]) throws {
        let sorted = spans.filter { $0.end > $0.offset }.sorted { $0.offset < $1.offset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.offset < a.end {
            throw fail("\(b.label) overlaps \(a.label) (which ends at \(a.end))", b.offset)
        }
    }

    private func checkExpertRegions() throws {
        let page = MoltFormat.pageSize
        var byKey: [ExpertKey: ExpertRegion] = [:]
        for region in header.expertRegions {
            let label = "expert region of layer \(region.layer) expert \(region.expert)"
            guard region.offset % page == 0, region.length % page == 0, region.length > 0, region.offset >= MoltFormat.preambleSize else {
                throw fail("\(label) [\(region.offset), +\(region.length)) is not a whole number of \(page)-byte pages", region.offset)
            }
            let (end, overflow) = region.offset.addingReportingOverflow(region.length)
            guard !overflow, end <= dataEnd else {
                throw fail("\(label) runs past the data section, which ends at \(dataEnd)", region.offset)
            }
            guard byKey.updateValue(region, forKey: ExpertKey(layer: region.layer, expert: region.expert)) == nil else {
                throw fail("\(label) appears twice", region.offset)
            }
        }
        let sorted = header.expertRegions.sorted { $0.offset < $1.offset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.offset < a.offset + a.length {
            throw fail("expert region of layer \(b.layer) expert \(b.expert) overlaps that of layer \(a.layer) expert \(a.expert)", b.offset)
        }

        // The first region that intersects [start, end), if any (regions are disjoint, sorted).
        func region(overlapping start: Int, _ end: Int) -> ExpertRegion? {
            var low = 0, high = sorted.count
            while low < high {
                let mid = (low + high) / 2
                if sorted[mid].offset + sorted[mid].length <= start { low = mid + 1 } else { high = mid }
            }
            return low < sorted.count && sorted[low].offset < end ? sorted[low] : nil
        }

        var used = Set<ExpertKey>()
        for tensor in header.tensors {
            let key: ExpertKey?
            do { key = try ExpertKey(tensorName: tensor.name) } catch let error as MoltError { throw fail(error.message, tensor.offset) }
            let end = tensor.offset + tensor.length
            if let key {
                guard let region = byKey[key], tensor.offset >= region.offset, end <= region.offset + region.length else {
                    throw fail("tensor \(quoted(tensor.name)) is not inside the expert region of layer \(key.layer) expert \(key.expert)", tensor.offset)
                }
                used.insert(key)
            } else if let region = region(overlapping: tensor.offset, end) {
                throw fail("tensor \(quoted(tensor.name)) lies in the expert region of layer \(region.layer) expert \(region.expert)", tensor.offset)
            }
        }
        for blob in header.blobs {
            if let region = region(overlapping: blob.offset, blob.offset + blob.length) {
                throw fail("blob \(quoted(blob.name)) lies in the expert region of layer \(region.layer) expert \(region.expert)", blob.offset)
            }
        }
        if let empty = sorted.first(where: { !used.contains(ExpertKey(layer: $0.layer, expert: $0.expert)) }) {
            throw fail("expert region of layer \(empty.layer) expert \(empty.expert) holds no tensor", empty.offset)
        }
    }
}
