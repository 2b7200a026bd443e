import MoltCore

/// Reads safetensors files: an 8-byte little-endian header length N, N bytes of UTF-8 JSON,
/// then the tensor data. Every rule is checked before any tensor byte is used; tensors are
/// zero-copy slices of the mapping.
public enum Safetensors {
    /// The reference implementation's limit; larger headers are refused before parsing.
    public static let maxHeaderLength = 100_000_000
    static let metadataKey = "__metadata__"

    /// Safetensors dtypes that are well formed but that Molt does not handle.
    private static let unsupportedDTypes: Set<String> = [
        "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "F6_E2M3", "F6_E3M2",
        "F4", "C64",
    ]

    /// The tensors in data order (by data offset; ties, which only zero-size tensors can have,
    /// in header order) and the `__metadata__` map (empty when absent).
    public static func read(_ file: MappedFile) throws -> (tensors: TensorTable, metadata: [String: String]) {
        let header = try headerBytes(file)
        let dataStart = 8 + header.count
        let dataSize = file.count - dataStart
        let json = try JSON.parse(strict: header) { message, offset in
            MoltError.badInput("header \(message)", file: file.path, offset: 8 + offset)
        }
        guard case .object(let members) = json else {
            throw MoltError.badInput("header JSON is not an object", file: file.path, offset: 8)
        }

        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (key, value) in members {
            if key == metadataKey {
                metadata = try readMetadata(value, file: file)
            } else {
                do {
                    entries.append(try Entry(name: key, value))
                } catch let error as MoltError {
                    throw error.within(file.path)
                }
            }
        }

        let ordered = try checkCoverage(entries, dataSize: dataSize, file: file)
        var tensors = TensorTable()
        for entry in ordered {
            let storage = Storage(file: file, range: dataStart + entry.begin..<dataStart + entry.end)
            try tensors.insert(Tensor(storage: storage, dtype: entry.dtype, shape: entry.shape), named: entry.name)
        }
        return (tensors, metadata)
    }

    /// The JSON header, once its length is known to fit the limit and the file.
    private static func headerBytes(_ file: MappedFile) throws -> UnsafeRawBufferPointer {
        guard file.count >= 8 else {
            throw MoltError.badInput(
                "file of \(file.count) bytes is too short for the 8-byte header length: truncated", file: file.path)
        }
        let length = UInt64(littleEndian: file.bytes.loadUnaligned(as: UInt64.self))
        guard length <= UInt64(maxHeaderLength) else {
            throw MoltError.badInput("header length \(length) exceeds the limit of \(maxHeaderLength) bytes", file: file.path)
        }
        guard Int(length) <= file.count - 8 else {
            throw MoltError.badInput(
                "header length \(length) runs past the end of the file (\(file.count) bytes): truncated", file: file.path)
        }
        let header = UnsafeRawBufferPointer(rebasing: file.bytes[8..<8 + Int(length)])
        guard String(validating: header, as: UTF8.self) != nil else {
            throw MoltError.badInput("header is not valid UTF-8", file: file.path, offset: 8)
        }
        return header
    }

    private static func readMetadata(_ value: JSON, file: MappedFile) throws -> [String: String] {
        guard case .object(let members) = value else {
            throw MoltError.badInput("\(metadataKey) is not a JSON object", file: file.path)
        }
        var metadata: [String: String] = [:]
        for (key, value) in members {
            guard case .string(let text) = value else {
                throw MoltError.badInput("\(metadataKey) value of \(quoted(key)) is not a string", file: file.path)
            }
            metadata[key] = text
        }
        return metadata
    }

    /// The entries sorted by data offset, once they are known to tile the data section
    /// exactly: the first at 0, each starting where the previous ended, the last at its end.
    private static func checkCoverage(_ entries: [Entry], dataSize: Int, file: MappedFile) throws -> [Entry] {
        let ordered = entries.enumerated()
            .sorted { ($0.element.begin, $0.offset) < ($1.element.begin, $1.offset) }
            .map(\.element)
        var covered = 0
        var previous: String?
        for entry in ordered {
            if entry.begin > covered {
                throw MoltError.badInput(
                    "gap: data bytes [\(covered), \(entry.begin)) belong to no tensor (next is \(quoted(entry.name)))",
                    file: file.path)
            }
            if entry.begin < covered {
                throw MoltError.badInput(
                    "tensor \(quoted(entry.name)) data_offsets [\(entry.begin), \(entry.end)] overlap tensor "
                        + "\(quoted(previous ?? "")), which ends at \(covered)", file: file.path)
            }
            covered = entry.end
            previous = entry.name
        }
        if covered > dataSize {
            throw MoltError.badInput(
                "tensor \(quoted(previous ?? "")) ends at data byte \(covered), past the end of the \(dataSize)-byte data "
                    + "section: truncated", file: file.path)
        }
        if covered < dataSize {
            throw MoltError.badInput(
                "tensors end at data byte \(covered) but the data section holds \(dataSize) bytes: "
                    + "\(dataSize - covered) bytes after the end of the last tensor", file: file.path)
        }
        return ordered
    }

    /// One tensor's header entry, checked on its own.
    private struct Entry {
        let name: String
        let dtype: DType
        let shape: [Int]
        let begin: Int
        let end: Int

        init(name: String, _ value: JSON) throws {
            guard case .object(let members) = value else { throw MoltError.badInput("tensor \(quoted(name)): entry is not a JSON object") }
            var dtypeName: String?, shape: [Int]?, offsets: [Int]?
            for (key, value) in members {
                switch key {
                case "dtype":
                    guard case .string(let text) = value else { throw MoltError.badInput("tensor \(quoted(name)): dtype is not a string") }
                    dtypeName = text
                case "shape":
                    guard let list = Entry.integers(value) else {
                        throw MoltError.badInput("tensor \(quoted(name)): shape is not a list of non-negative integers")
                    }
                    shape = list
                case "data_offsets":
                    guard let list = Entry.integers(value), list.count == 2 else {
                        throw MoltError.badInput("tensor \(quoted(name)): data_offsets is not a pair of non-negative integers")
                    }
                    offsets = list
                default:
                    throw MoltError.badInput("tensor \(quoted(name)): unknown key \(quoted(key))")
                }
            }
            guard let dtypeName, let shape, let offsets else {
                let missing = [("dtype", dtypeName == nil), ("shape", shape == nil), ("data_offsets", offsets == nil)]
                    .filter(\.1).map(\.0).joined(separator: ", ")
                throw MoltError.badInput("tensor \(quoted(name)): missing \(missing)")
            }
            guard let dtype = DType(safetensorsName: dtypeName) else {
                if Safetensors.unsupportedDTypes.contains(dtypeName) {
                    throw MoltError.unsupported("tensor \(quoted(name)): unsupported dtype \(dtypeName)")
                }
                throw MoltError.badInput("tensor \(quoted(name)): unknown dtype \(quoted(dtypeName))")
            }
            let begin = offsets[0], end = offsets[1]
            guard begin <= end else {
                throw MoltError.badInput("tensor \(quoted(name)): data_offsets [\(begin), \(end)] begin after they end")
            }
            let count = try Checked.multiply(shape, what: "tensor \(quoted(name)) shape \(shape)")
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.size)
            guard !overflow else {
                throw MoltError.badInput("tensor \(quoted(name)): \(count) elements of \(dtypeName) overflow a 64-bit byte count")
            }
            guard end - begin == byteCount else {
                throw MoltError.badInput(
                    "tensor \(quoted(name)): data_offsets [\(begin), \(end)] hold \(end - begin) bytes but shape \(shape) "
                        + "of \(dtypeName) needs \(byteCount): size mismatch")
            }
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.begin = begin
            self.end = end
        }

        /// The value as a list of non-negative integers, or nil when it is anything else.
        private static func integers(_ value: JSON) -> [Int]? {
            guard case .array(let elements) = value else { return nil }
            var result: [Int] = []
            for element in elements {
                guard let n = element.nonNegativeInt else { return nil }
                result.append(n)
            }
            return result
        }
    }
}
