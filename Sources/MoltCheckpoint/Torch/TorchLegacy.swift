import MoltCore

/// Reader of torch's legacy stream format (`torch.save(..., _use_new_zipfile_serialization=False)`,
/// the default before torch 1.6): five pickles back to back, then one record per storage.
/// See Formats/torch-legacy.md.
public enum TorchLegacy {
    /// 0x1950A86A20F9469CFC6C as the LONG1 bytes a pickle stores it in.
    static let magic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    static let protocolVersion = 1001

    /// The saved object, its storages zero-copy slices of `file`. Placeholder warnings are
    /// appended to `warnings`.
    public static func read(_ file: MappedFile, limits: PickleLimits = PickleLimits(), warnings: inout [String]) throws -> PickleValue {
        let bytes = file.bytes
        let name = file.path
        // The header pickles go through the same restricted machine: a fake magic number can
        // itself be a malicious pickle.
        var header = PickleMachine(file: name, limits: limits)
        let (magicValue, afterMagic) = try header.load(bytes, requireEnd: false)
        guard case .bigInt(let value) = magicValue, value == magic else {
            throw MoltError.badInput("not a torch legacy file: the first pickle is \(magicValue), not the magic number", file: name, offset: 0)
        }
        let (version, afterVersion) = try header.load(bytes, from: afterMagic, requireEnd: false)
        guard version.asInt == protocolVersion else {
            throw MoltError.unsupported("legacy protocol version \(version) at byte \(afterMagic) (expected \(protocolVersion))", file: name)
        }
        let (sysInfo, afterSysInfo) = try header.load(bytes, from: afterVersion, requireEnd: false)
        try checkSysInfo(sysInfo, file: name, at: afterVersion)

        // Records follow the pickles in the key list's order and their sizes come from the
        // persistent ids, so the object is read twice: first against stand-in storages (of
        // the declared size, so views are checked) to learn the sizes, then for real.
        var declared: [String: StorageRequest] = [:]
        var sizing = PickleMachine(file: name, limits: limits) { request in
            guard request.byteCount <= file.count else {
                throw MoltError.badInput(
                    "truncated: storage \(quoted(request.key)) declares \(request.byteCount) bytes, more than the file holds", file: name)
            }
            declared[request.key] = request
            return Storage(file: file, range: 0..<request.byteCount)
        }
        let afterObject = try sizing.load(bytes, from: afterSysInfo, requireEnd: false).end

        let (keyList, afterKeys) = try header.load(bytes, from: afterObject, requireEnd: false)
        guard let keys = keyList.asArray else {
            throw MoltError.badInput("the storage key list is a \(keyList.kind), not a list", file: name, offset: afterObject)
        }
        var records: [String: Storage] = [:]
        var position = afterKeys
        for item in keys {
            guard let key = item.asString else {
                throw MoltError.badInput("storage key list holds a \(item.kind), not a string", file: name, offset: afterObject)
            }
            guard let request = declared[key] else {
                throw MoltError.badInput("storage \(quoted(key)) is listed but the object never uses it", file: name, offset: afterObject)
            }
            guard records[key] == nil else {
                throw MoltError.badInput("storage \(quoted(key)) is listed twice", file: name, offset: afterObject)
            }
            guard file.count - position >= 8 else {
                throw MoltError.badInput("truncated: no record for storage \(quoted(key))", file: name, offset: position)
            }
            let count = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: Int64.self))
            let numel = request.byteCount / (request.dtype?.size ?? 1)
            guard count == numel else {
                throw MoltError.badInput(
                    "record for storage \(quoted(key)) holds \(count) elements but its persistent id declares \(numel)", file: name,
                    offset: position)
            }
            let start = position + 8
            guard request.byteCount <= file.count - start else {
                throw MoltError.badInput(
                    "truncated: record for storage \(quoted(key)) needs \(request.byteCount) bytes, \(file.count - start) left", file: name,
                    offset: start)
            }
            records[key] = Storage(file: file, range: start..<start + request.byteCount)
            position = start + request.byteCount
        }
        if let missing = declared.keys.sorted().first(where: { records[$0] == nil }) {
            throw MoltError.badInput("storage \(quoted(missing)) has no record", file: name, offset: afterObject)
        }
        guard position == file.count else {
            throw MoltError.badInput("\(file.count - position) bytes after the last storage record", file: name, offset: position)
        }

        var machine = PickleMachine(file: name, limits: limits) { request in
            guard let storage = records[request.key] else {
                throw MoltError.badInput("storage \(quoted(request.key)) has no record", file: name)
            }
            return storage
        }
        let object = try machine.load(bytes, from: afterSysInfo, requireEnd: false).value
        warnings += machine.warnings
        return object
    }

    /// sys_info: a dict of plain values (ints, strings, a dict of type sizes) in which
    /// `little_endian` must be True.
    private static func checkSysInfo(_ info: PickleValue, file: String, at offset: Int) throws {
        guard let dict = info.asDict else {
            throw MoltError.badInput("legacy sys_info is a \(info.kind), not a dict", file: file, offset: offset)
        }
        for (key, value) in dict.entries {
            let plain = isPlain(value) || value.asDict.map { $0.values.allSatisfy(isPlain) } == true
            guard key.asString != nil, plain else {
                throw MoltError.badInput("legacy sys_info entry \(key) is not a plain value", file: file, offset: offset)
            }
        }
        guard dict["little_endian"]?.asBool == true else {
            throw MoltError.unsupported("legacy file not written little-endian (sys_info little_endian is not True)", file: file)
        }
    }

    private static func isPlain(_ value: PickleValue) -> Bool {
        switch value {
        case .none, .bool, .int, .float, .string: true
        default: false
        }
    }
}
