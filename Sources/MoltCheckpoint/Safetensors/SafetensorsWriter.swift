import MoltCore

/// Streams a safetensors file: the header is built from the declared tensors up front, then
/// each tensor's bytes are appended in declaration order. Written to a path, the file appears
/// only at `finish()`; an error or dropping the writer unfinished removes the temporary file.
public final class SafetensorsWriter {
    public struct Entry: Sendable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]

        public init(name: String, dtype: DType, shape: [Int]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
        }
    }

    private enum Sink {
        case file(AtomicOutput)
        case descriptor(DescriptorWriter)
    }

    private let sink: Sink
    private let entries: [Entry]
    private let byteCounts: [Int]
    private let destination: String
    private var appended = 0
    private var isOpen = true

    /// Writes to `path` through a temporary file in the same directory.
    public convenience init(path: String, overwrite: Bool, tensors: [Entry], metadata: [String: String] = [:]) throws {
        let (header, byteCounts) = try Self.header(tensors: tensors, metadata: metadata, destination: path)
        try self.init(sink: .file(AtomicOutput(path: path, overwrite: overwrite)), header: header, tensors: tensors,
                      byteCounts: byteCounts, destination: path)
    }

    /// Writes to an open descriptor the caller owns (standard output, say); `name` appears in
    /// errors. Nothing is removed on failure: the caller owns what was written.
    public convenience init(fileDescriptor: Int32, name: String, tensors: [Entry], metadata: [String: String] = [:]) throws {
        let (header, byteCounts) = try Self.header(tensors: tensors, metadata: metadata, destination: name)
        try self.init(sink: .descriptor(DescriptorWriter(fd: fileDescriptor, path: name)), header: header,
                      tensors: tensors, byteCounts: byteCounts, destination: name)
    }

    private init(sink: Sink, header: [UInt8], tensors: [Entry], byteCounts: [Int], destination: String) throws {
        self.sink = sink
        entries = tensors
        self.byteCounts = byteCounts
        self.destination = destination
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try write($0) }
        try header.withUnsafeBytes { try write($0) }
    }

    /// Appends the next declared tensor's bytes, which must be exactly its dtype and shape's size.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        try appendNext(byteCount: bytes.count) { try write(bytes) }
    }

    /// Appends the next declared tensor, whose dtype and shape must match its declaration. A
    /// contiguous tensor mapped from a file is copied inside the kernel, never read here.
    public func append(_ tensor: Tensor) throws {
        try checkOpen()
        if appended < entries.count, tensor.dtype != entries[appended].dtype || tensor.shape != entries[appended].shape {
            let entry = entries[appended]
            try fail(MoltError(.usage,
                "\(destination): tensor \(quoted(entry.name)) was declared \(entry.dtype.rawValue) \(entry.shape), "
                    + "got \(tensor.dtype.rawValue) \(tensor.shape)"))
        }
        if let (file, range) = tensor.mappedByteRange {
            try appendNext(byteCount: range.count) { try sinkOperation { try $0.copy(from: file, range: range) } }
        } else {
            try tensor.withContiguousBytes { try append($0) }
        }
    }

    private func appendNext(byteCount: Int, _ body: () throws -> Void) throws {
        try checkOpen()
        guard appended < entries.count else {
            try fail(MoltError(.usage, "\(destination): more tensors appended than the \(entries.count) declared"))
        }
        guard byteCount == byteCounts[appended] else {
            try fail(MoltError(.usage,
                "\(destination): tensor \(quoted(entries[appended].name)) needs \(byteCounts[appended]) bytes, got \(byteCount)"))
        }
        try body()
        appended += 1
    }

    /// Completes the file: every declared tensor must have been appended.
    public func finish() throws {
        try checkOpen()
        guard appended == entries.count else {
            try fail(MoltError(.usage, "\(destination): finished after \(appended) of \(entries.count) tensors"))
        }
        isOpen = false
        switch sink {
        case .file(let output): try output.commit()
        case .descriptor(let writer): try writer.flush()
        }
    }

    private func checkOpen() throws {
        guard isOpen else { throw MoltError(.usage, "\(destination): safetensors writer already finished or failed") }
    }

    private func write(_ bytes: UnsafeRawBufferPointer) throws {
        try sinkOperation { try $0.write(bytes) }
    }

    private func sinkOperation(_ body: (ByteSink) throws -> Void) throws {
        do {
            switch sink {
            case .file(let output): try body(output)
            case .descriptor(let writer): try body(writer)
            }
        } catch {
            try fail(error)
        }
    }

    private func fail(_ error: Error) throws -> Never {
        isOpen = false
        if case .file(let output) = sink { output.abandon() }
        throw error
    }

    /// The JSON header as the reference implementation lays it out (`__metadata__` first,
    /// then the tensors, padded with spaces to a multiple of 8 bytes so the data that follows
    /// the 8-byte length starts 8-aligned), and each tensor's byte count.
    static func header(tensors: [Entry], metadata: [String: String], destination: String) throws -> ([UInt8], [Int]) {
        var json: [UInt8] = Array("{".utf8)
        if !metadata.isEmpty {
            appendString(Safetensors.metadataKey, to: &json)
            json += Array(":{".utf8)
            for (index, key) in metadata.keys.sorted().enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                appendString(key, to: &json)
                json.append(UInt8(ascii: ":"))
                appendString(metadata[key] ?? "", to: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
        var names = Set<String>()
        var byteCounts: [Int] = []
        var offset = 0
        for entry in tensors {
            guard entry.name != Safetensors.metadataKey, names.insert(entry.name).inserted else {
                throw MoltError.badInput("\(destination): tensor name \(quoted(entry.name)) is reserved or appears twice")
            }
            let count = try Checked.multiply(entry.shape, what: "\(destination): tensor \(quoted(entry.name)) shape \(entry.shape)")
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: entry.dtype.size)
            guard !overflow else { throw MoltError.badInput("\(destination): tensor \(quoted(entry.name)) size overflows") }
            let end = try Checked.add(offset, byteCount, what: "\(destination): data offset of \(quoted(entry.name))")
            if json.count > 1 { json.append(UInt8(ascii: ",")) }
            appendString(entry.name, to: &json)
            let shape = entry.shape.map(String.init).joined(separator: ",")
            json += Array(":{\"dtype\":\"\(entry.dtype.safetensorsName)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}".utf8)
            byteCounts.append(byteCount)
            offset = end
        }
        json.append(UInt8(ascii: "}"))
        json += [UInt8](repeating: UInt8(ascii: " "), count: (8 - json.count % 8) % 8)
        guard json.count <= Safetensors.maxHeaderLength else {
            throw MoltError.badInput("\(destination): header of \(json.count) bytes exceeds the \(Safetensors.maxHeaderLength)-byte limit")
        }
        return (json, byteCounts)
    }

    /// A JSON string literal escaped as serde_json does: quote, backslash and control
    /// characters escaped, everything else as raw UTF-8.
    private static func appendString(_ text: String, to json: inout [UInt8]) {
        json.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): json += [0x5C, 0x22]
            case UInt8(ascii: "\\"): json += [0x5C, 0x5C]
            case 0x0A: json += [0x5C, UInt8(ascii: "n")]
            case 0x0D: json += [0x5C, UInt8(ascii: "r")]
            case 0x09: json += [0x5C, UInt8(ascii: "t")]
            case 0x08: json += [0x5C, UInt8(ascii: "b")]
            case 0x0C: json += [0x5C, UInt8(ascii: "f")]
            case 0..<0x20:
                let digits = Array("0123456789abcdef".utf8)
                json += Array("\\u00".utf8) + [digits[Int(byte >> 4)], digits[Int(byte & 15)]]
            default: json.append(byte)
            }
        }
        json.append(UInt8(ascii: "\""))
    }
}
