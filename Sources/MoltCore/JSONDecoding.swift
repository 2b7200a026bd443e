/// Decodes `Decodable` types from a `JSON` value that the strict parser made, so files read
/// through `JSON.parse(strict:)` (duplicate keys refused, depth bounded) need no second,
/// laxer parser to fill typed structs. Numbers must fit their type exactly: 3.0 is not an
/// Int, 2^32 is not a UInt32.
public struct JSONValueDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from value: JSON) throws -> T {
        try T(from: ValueDecoder(value: value, codingPath: []))
    }
}

private struct IndexKey: CodingKey {
    let intValue: Int?
    let stringValue: String
    init(_ index: Int) {
        intValue = index
        stringValue = "\(index)"
    }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.init(intValue) }
}

private struct ValueDecoder: Decoder {
    let value: JSON
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let fields) = value else { throw mismatch([String: JSON].self, value, codingPath) }
        return KeyedDecodingContainer(Keyed<Key>(fields: fields, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let items) = value else { throw mismatch([JSON].self, value, codingPath) }
        return Unkeyed(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { Single(value: value, codingPath: codingPath) }
}

private func mismatch(_ type: Any.Type, _ value: JSON, _ path: [CodingKey]) -> DecodingError {
    .typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(type), found \(value.kindName)"))
}

/// A scalar of type `T` read from `value`, or a type mismatch.
private func scalar<T: Decodable>(_ type: T.Type, _ value: JSON, _ path: [CodingKey]) throws -> T {
    func integer<I: FixedWidthInteger>(_: I.Type) -> I? {
        guard case .int(let i) = value else { return nil }
        return I(exactly: i)
    }
    let result: Any? =
        switch type {
        case is JSON.Type: value
        case is Bool.Type: if case .bool(let b) = value { b } else { nil }
        case is String.Type: if case .string(let s) = value { s } else { nil }
        case is Int.Type: integer(Int.self)
        case is Int64.Type: integer(Int64.self)
        case is Int32.Type: integer(Int32.self)
        case is UInt32.Type: integer(UInt32.self)
        case is UInt64.Type: integer(UInt64.self)
        case is UInt16.Type: integer(UInt16.self)
        case is UInt8.Type: integer(UInt8.self)
        case is Double.Type:
            switch value {
            case .int(let i): Double(i)
            case .double(let d): d
            default: nil
            }
        case is Float.Type:
            switch value {
            case .int(let i): Float(i)
            case .double(let d): Float(d)
            default: nil
            }
        default: try T(from: ValueDecoder(value: value, codingPath: path))
        }
    guard let typed = result as? T else { throw mismatch(type, value, path) }
    return typed
}

private struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let fields: [(String, JSON)]
    let codingPath: [CodingKey]

    /// Keys in the order the file lists them.
    var allKeys: [Key] { fields.compactMap { Key(stringValue: $0.0) } }

    func contains(_ key: Key) -> Bool { fields.contains { $0.0 == key.stringValue } }

    private func value(_ key: Key) throws -> JSON {
        guard let field = fields.first(where: { $0.0 == key.stringValue }) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no \(key.stringValue)"))
        }
        return field.1
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try scalar(type, try value(key), codingPath + [key])
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decode(type, forKey: key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: try value(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try ValueDecoder(value: try value(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder { ValueDecoder(value: .object(fields), codingPath: codingPath) }

    func superDecoder(forKey key: Key) throws -> Decoder { ValueDecoder(value: try value(key), codingPath: codingPath + [key]) }
}

private struct Unkeyed: UnkeyedDecodingContainer {
    let items: [JSON]
    let codingPath: [CodingKey]
    var currentIndex = 0

    init(items: [JSON], codingPath: [CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next() throws -> (JSON, [CodingKey]) {
        let path = codingPath + [IndexKey(currentIndex)]
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(JSON.self, .init(codingPath: path, debugDescription: "past the end of the array"))
        }
        defer { currentIndex += 1 }
        return (items[currentIndex], path)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, path) = try next()
        return try scalar(type, value, path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (value, path) = try next()
        return try ValueDecoder(value: value, codingPath: path).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        let (value, path) = try next()
        return try ValueDecoder(value: value, codingPath: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> Decoder {
        let (value, path) = try next()
        return ValueDecoder(value: value, codingPath: path)
    }
}

private struct Single: SingleValueDecodingContainer {
    let value: JSON
    let codingPath: [CodingKey]

    func decodeNil() -> Bool { value == .null }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try scalar(type, value, codingPath) }
}
