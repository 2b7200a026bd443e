import Foundation
import MoltCore
import Testing

@testable import MoltCheckpoint

/// Hand-written pickles, one opcode per call.
enum Op {
    static let stop: [UInt8] = [0x2E]
    static let mark: [UInt8] = [0x28]
    static let pop: [UInt8] = [0x30]
    static let popMark: [UInt8] = [0x31]
    static let dup: [UInt8] = [0x32]
    static let none: [UInt8] = [0x4E]
    static let newTrue: [UInt8] = [0x88]
    static let newFalse: [UInt8] = [0x89]
    static let emptyTuple: [UInt8] = [0x29]
    static let tuple: [UInt8] = [0x74]
    static let tuple1: [UInt8] = [0x85]
    static let tuple2: [UInt8] = [0x86]
    static let tuple3: [UInt8] = [0x87]
    static let emptyList: [UInt8] = [0x5D]
    static let list: [UInt8] = [0x6C]
    static let append: [UInt8] = [0x61]
    static let appends: [UInt8] = [0x65]
    static let emptyDict: [UInt8] = [0x7D]
    static let dict: [UInt8] = [0x64]
    static let setItem: [UInt8] = [0x73]
    static let setItems: [UInt8] = [0x75]
    static let emptySet: [UInt8] = [0x8F]
    static let addItems: [UInt8] = [0x90]
    static let frozenSet: [UInt8] = [0x91]
    static let reduce: [UInt8] = [0x52]
    static let newObj: [UInt8] = [0x81]
    static let newObjEx: [UInt8] = [0x92]
    static let build: [UInt8] = [0x62]
    static let binPersID: [UInt8] = [0x51]
    static let stackGlobal: [UInt8] = [0x93]
    static let memoize: [UInt8] = [0x94]

    static func proto(_ version: UInt8) -> [UInt8] { [0x80, version] }
    static func int1(_ v: UInt8) -> [UInt8] { [0x4B, v] }
    static func int2(_ v: UInt16) -> [UInt8] { [0x4D] + le(v) }
    static func int4(_ v: Int32) -> [UInt8] { [0x4A] + le(UInt32(bitPattern: v)) }
    static func long1(_ bytes: [UInt8]) -> [UInt8] { [0x8A, UInt8(bytes.count)] + bytes }
    static func binFloat(_ d: Double) -> [UInt8] { [0x47] + withUnsafeBytes(of: d.bitPattern.bigEndian, Array.init) }
    static func str(_ s: String) -> [UInt8] { [0x58] + le(UInt32(s.utf8.count)) + Array(s.utf8) }
    static func shortStr(_ s: String) -> [UInt8] { [0x8C, UInt8(s.utf8.count)] + Array(s.utf8) }
    static func str8(_ s: String) -> [UInt8] { [0x8D] + le(UInt64(s.utf8.count)) + Array(s.utf8) }
    static func bytes(_ b: [UInt8]) -> [UInt8] { [0x42] + le(UInt32(b.count)) + b }
    static func shortBytes(_ b: [UInt8]) -> [UInt8] { [0x43, UInt8(b.count)] + b }
    static func bytes8(_ b: [UInt8]) -> [UInt8] { [0x8E] + le(UInt64(b.count)) + b }
    static func byteArray8(_ b: [UInt8]) -> [UInt8] { [0x96] + le(UInt64(b.count)) + b }
    static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
    static func binPut(_ i: UInt8) -> [UInt8] { [0x71, i] }
    static func binGet(_ i: UInt8) -> [UInt8] { [0x68, i] }
    static func longBinPut(_ i: UInt32) -> [UInt8] { [0x72] + le(i) }
    static func longBinGet(_ i: UInt32) -> [UInt8] { [0x6A] + le(i) }
    static func frame(_ n: UInt64) -> [UInt8] { [0x95] + le(n) }
    /// A protocol 0 opcode with its newline-terminated text argument.
    static func text(_ opcode: String, _ argument: String) -> [UInt8] { Array("\(opcode)\(argument)\n".utf8) }

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }

    /// `('storage', torch.<cls>, key, 'cpu', numel)`, BINPERSID.
    static func storage(_ cls: String, key: String, numel: UInt8, module: String = "torch") -> [UInt8] {
        mark + str("storage") + global(module, cls) + str(key) + str("cpu") + int1(numel) + tuple + binPersID
    }

    /// `(d0, d1, ...)` of small ints.
    static func ints(_ values: [UInt8]) -> [UInt8] {
        mark + values.flatMap { int1($0) } + tuple
    }

    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`.
    static func tensorV2(_ storage: [UInt8], offset: UInt8 = 0, shape: [UInt8], strides: [UInt8], metadata: [UInt8]? = nil) -> [UInt8] {
        global("torch._utils", "_rebuild_tensor_v2") + mark + storage + int1(offset) + ints(shape) + ints(strides)
            + newFalse + global("collections", "OrderedDict") + emptyTuple + reduce + (metadata ?? []) + tuple + reduce
    }
}

/// A pickle's value with storages served from `records`; counts resolver calls.
final class StorageServer {
    var records: [String: [UInt8]]
    var requests: [StorageRequest] = []

    init(_ records: [String: [UInt8]] = [:]) { self.records = records }

    func resolve(_ request: StorageRequest) throws -> Storage {
        requests.append(request)
        guard let bytes = records[request.key] else { throw MoltError.badInput("no record \(request.key)") }
        return bytes.withUnsafeBytes { Storage(copying: $0) }
    }
}

func unpickle(_ bytes: [UInt8], server: StorageServer = StorageServer()) throws -> PickleValue {
    try unpickleWithWarnings(bytes, server: server).value
}

func unpickleWithWarnings(_ bytes: [UInt8], server: StorageServer = StorageServer()) throws -> (value: PickleValue, warnings: [String]) {
    var machine = PickleMachine(file: "test.pkl", storages: server.resolve)
    let value = try machine.load(bytes)
    return (value, machine.warnings)
}

/// Loading `bytes` fails with a MoltError whose message holds every keyword.
func expectFailure(
    _ bytes: [UInt8], _ keywords: String..., kind: MoltError.Kind? = nil, server: StorageServer = StorageServer(),
    sourceLocation: SourceLocation = #_sourceLocation
) {
    expectMoltError(keywords, kind: kind, sourceLocation: sourceLocation) { try unpickle(bytes, server: server) }
}

func base64(_ text: String) -> [UInt8] {
    Array(Data(base64Encoded: text) ?? Data())
}

func hexBytes(_ hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var chars = Array(hex)
    while chars.count >= 2 {
        out.append(UInt8(String(chars[0..<2]), radix: 16) ?? 0)
        chars.removeFirst(2)
    }
    return out
}
