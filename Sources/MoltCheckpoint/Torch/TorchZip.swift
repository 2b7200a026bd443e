import Foundation
import MoltCore

/// Reads the state dict of a torch zip checkpoint (torch >= 1.6): one folder holding
/// `data.pkl`, the storages as `data/<key>` records, and `byteorder`.
public enum TorchZip {
    public static func read(_ archive: ZipArchive, warnings: inout [String]) throws -> TensorTable {
        let path = archive.file.path
        let prefix = try folder(of: archive)
        let byteOrder = try self.byteOrder(archive, prefix: prefix)
        let pickleName = prefix + "data.pkl"
        guard let pickleEntry = archive.entry(named: pickleName) else {
            throw MoltError.badInput("no \(pickleName)", file: path)
        }
        let pickle = try archive.storage(of: pickleEntry)
        var machine = PickleMachine(file: "\(path): \(pickleName)") { request in
            let recordName = prefix + "data/" + request.key
            guard let entry = archive.entry(named: recordName) else {
                throw MoltError.badInput("the pickle names storage \(quoted(request.key)) but there is no record \(recordName)", file: path)
            }
            let storage = try archive.record(of: entry)
            // torch itself skips this check when memory-mapping and then reads past the record.
            guard storage.count == request.byteCount else {
                throw MoltError.badInput(
                    "record \(recordName) holds \(storage.count) bytes but the pickle declares \(request.byteCount)",
                    file: path, offset: entry.dataOffset)
            }
            guard byteOrder == .big else { return storage }
            guard let dtype = request.dtype else {
                throw MoltError.unsupported("big-endian untyped storage \(recordName): element size unknown", file: path)
            }
            return storage.byteSwapped(elementSize: dtype.size)
        }
        let value = try withExtendedLifetime(pickle) { try machine.load(pickle.bytes).value }
        warnings += machine.warnings
        return try StateDict.extract(from: value, file: path, warnings: &warnings)
    }

    private enum ByteOrder { case little, big }

    /// The single top folder every entry lives in, found from the one `*/data.pkl`.
    private static func folder(of archive: ZipArchive) throws -> String {
        let path = archive.file.path
        let pickles = archive.entries.map(\.name).filter { name in
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[1] == "data.pkl" && !parts[0].isEmpty
        }
        guard pickles.count == 1 else {
            if pickles.isEmpty { throw MoltError.badInput("a zip archive without a <folder>/data.pkl: not a torch checkpoint", file: path) }
            throw MoltError.badInput("holds \(pickles.count) data.pkl entries (\(pickles.joined(separator: ", "))): ambiguous", file: path)
        }
        let prefix = String(pickles[0].dropLast("data.pkl".count))
        for entry in archive.entries where !entry.name.hasPrefix(prefix) {
            throw MoltError.badInput("entry \(quoted(entry.name)) is outside the archive's prefix \(quoted(prefix))", file: path)
        }
        if archive.entry(named: prefix + "constants.pkl") != nil
            || archive.entries.contains(where: { $0.name.hasPrefix(prefix + "code/") }) {
            throw MoltError.unsupported("a TorchScript archive (torch.jit.save), not a state dict: save the model's state_dict() instead", file: path)
        }
        return prefix
    }

    private static func byteOrder(_ archive: ZipArchive, prefix: String) throws -> ByteOrder {
        guard let entry = archive.entry(named: prefix + "byteorder") else { return .little }
        let storage = try archive.storage(of: entry)
        let text = withExtendedLifetime(storage) { String(decoding: storage.bytes, as: UTF8.self) }
        switch text.trimmingCharacters(in: .whitespacesAndNewlines) {
        case "little": return .little
        case "big": return .big
        default: throw MoltError.badInput("byteorder record says \(quoted(text.prefix(20))), expected little or big", file: archive.file.path)
        }
    }
}

extension Storage {
    /// A copy with every `elementSize`-byte element reversed: big-endian records become the
    /// little-endian layout every reader downstream expects.
    func byteSwapped(elementSize: Int) -> Storage {
        Storage(byteCount: count) { out in
            withExtendedLifetime(self) {
                let source = bytes
                var i = 0
                while i + elementSize <= source.count {
                    for j in 0..<elementSize { out[i + j] = source[i + elementSize - 1 - j] }
                    i += elementSize
                }
            }
        }
    }
}
