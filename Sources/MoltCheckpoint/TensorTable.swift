import Foundation
import MoltCore

/// Named tensors in the order their source listed them.
public struct TensorTable: Sendable {
    public private(set) var names: [String] = []
    public private(set) var byName: [String: Tensor] = [:]

    public init() {}

    public subscript(name: String) -> Tensor? { byName[name] }

    public var count: Int { names.count }

    /// Adds a tensor; a second tensor under the same name is an error in every source format.
    public mutating func insert(_ tensor: Tensor, named name: String) throws {
        guard byName[name] == nil else { throw MoltError.badInput("tensor \(quoted(name)) appears twice") }
        names.append(name)
        byName[name] = tensor
    }

    /// (name, tensor) pairs in source order.
    public var entries: [(name: String, tensor: Tensor)] { names.map { ($0, byName[$0]!) } }

    /// Each storage once, in the order tensors first use it (tied weights share one).
    public var distinctStorages: [Storage] {
        var seen = Set<ObjectIdentifier>()
        return names.compactMap { name in
            let storage = byName[name]!.storage
            return seen.insert(ObjectIdentifier(storage)).inserted ? storage : nil
        }
    }

    /// The SHA-256 of each of `paths` (the weight files), each file read once: the deferred CRC-32
    /// checks of the storages mapped from it are settled in the same read, instead of each
    /// reading its bytes again. The files are mapped anew, so dropping the pages read keeps
    /// the tensors' own mappings as they were.
    public func digestFiles(_ paths: [String]) throws -> [(file: MappedFile, sha256: String)] {
        let checked = distinctStorages.filter(\.awaitsCRC32Check)
        return try paths.map { path in
            let file = try MappedFile(path: path)
            let storages = checked.compactMap { storage in
                storage.mappedFile?.path == path ? storage.fileRange.map { (storage, $0) } : nil
            }
            let digest = file.digest(crc32Of: storages.map(\.1))
            for ((storage, _), crc) in zip(storages, digest.crc32s) { storage.settleCheck(computedCRC32: crc) }
            return (file, digest.sha256)
        }
    }

    /// The distinct files the tensors are mapped from.
    public var mappedFiles: [MappedFile] {
        var seen = Set<ObjectIdentifier>()
        return distinctStorages.compactMap(\.mappedFile).filter { seen.insert(ObjectIdentifier($0)).inserted }
    }

    /// Runs every storage's deferred integrity check (zip CRCs) on a background thread while
    /// `body` runs, so checking overlaps with the work that reads the tensors; then throws
    /// the first failure. `body`'s output must not be committed before this returns. The
    /// checks wait for `prior` first (and fail with it): a pass that settles them
    /// (`digestFiles`) then leaves them nothing to read.
    public func verifyingIntegrity<R>(after prior: (@Sendable () throws -> Void)? = nil, while body: () throws -> R) throws -> R {
        let storages = distinctStorages
        let checks = Background {
            try prior?()
            for storage in storages { try storage.verifyIntegrity() }
        }
        let result = Result(catching: body)
        // A corrupt source explains a failure of `body` better than the failure itself.
        try checks.wait()
        return try result.get()
    }
}
