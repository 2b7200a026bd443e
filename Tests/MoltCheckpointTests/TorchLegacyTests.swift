import Foundation
import MoltCore
import MoltTestSupport
import Testing

@testable import MoltCheckpoint

/// `torch.save({'state': sd, 'args': argparse.Namespace(lr=0.5)}, f, _use_new_zipfile_serialization=False)`
/// (torch 2.15) where sd is an OrderedDict of w = arange(6).reshape(2, 3) f32, w_t = w.t(),
/// row = w[1], tied = w, d = [1.5, -2.0] bf16, i = [7, -8] i64. Its last 68 bytes are the three
/// records, in string order of their keys: d (bf16), i (i64), w (f32).
let legacyFile = base64(
    "gAKKCmz8nEb5IGqoUBkugAJN6QMugAJ9cQAoWBAAAABwcm90b2NvbF92ZXJzaW9ucQFN6QNYDQAAAGxpdHRsZV9lbmRpYW5xAohYCgAAAHR5cGVfc2l6ZXNxA31xBChYBQAAAHNob3J0cQVLAlgDAAAAaW50cQZLBFgEAAAAbG9uZ3EHSwR1dS6AAn1xAChYBQAAAHN0YXRlcQFjY29sbGVjdGlvbnMKT3JkZXJlZERpY3QKcQIpUnEDKFgBAAAAd3EEY3RvcmNoLl91dGlscwpfcmVidWlsZF90ZW5zb3JfdjIKcQUoKFgHAAAAc3RvcmFnZXEGY3RvcmNoCkZsb2F0U3RvcmFnZQpxB1gOAAAAOTQwMTQ2NDUwMzA4MDBxCFgDAAAAY3B1cQlLBk50cQpRSwBLAksDhnELSwNLAYZxDIloAilScQ10cQ5ScQ9YAwAAAHdfdHEQaAUoKGgGaAdYDgAAADk0MDE0NjQ1MDMwODAwcRFoCUsGTnRxElFLAEsDSwKGcRNLAUsDhnEUiWgCKVJxFXRxFlJxF1gDAAAAcm93cRhoBSgoaAZoB1gOAAAAOTQwMTQ2NDUwMzA4MDBxGWgJSwZOdHEaUUsDSwOFcRtLAYVxHIloAilScR10cR5ScR9YBAAAAHRpZWRxIGgPWAEAAABkcSFoBSgoaAZjdG9yY2gKQkZsb2F0MTZTdG9yYWdlCnEiWA4AAAA5NDAxNDUyODc4MTc3NnEjaAlLAk50cSRRSwBLAoVxJUsBhXEmiWgCKVJxJ3RxKFJxKVgBAAAAaXEqaAUoKGgGY3RvcmNoCkxvbmdTdG9yYWdlCnErWA4AAAA5NDAxNDUyODc4MTkyMHEsaAlLAk50cS1RSwBLAoVxLksBhXEviWgCKVJxMHRxMVJxMnVYBAAAAGFyZ3NxM2NhcmdwYXJzZQpOYW1lc3BhY2UKcTQpgXE1fXE2WAIAAABscnE3Rz/gAAAAAAAAc2J1LoACXXEAKFgOAAAAOTQwMTQ1Mjg3ODE3NzZxAVgOAAAAOTQwMTQ1Mjg3ODE5MjBxAlgOAAAAOTQwMTQ2NDUwMzA4MDBxA2UuAgAAAAAAAADAPwDAAgAAAAAAAAAHAAAAAAAAAPj/////////BgAAAAAAAAAAAAAAAACAPwAAAEAAAEBAAACAQAAAoEA="
)

func readLegacy(_ bytes: [UInt8]) throws -> (value: PickleValue, warnings: [String], file: MappedFile) {
    // The scratch directory goes at once; the mapping stays valid.
    let file = try ScratchDirectory().map(bytes, as: "model.pt")
    var warnings: [String] = []
    let value = try TorchLegacy.read(file, warnings: &warnings)
    return (value, warnings, file)
}

func expectLegacyFailure(_ bytes: [UInt8], _ keywords: String..., kind: MoltError.Kind? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    expectMoltError(keywords, kind: kind, sourceLocation: sourceLocation) { try readLegacy(bytes).value }
}

/// A legacy file built from parts: the header pickles, an object naming FloatStorage keys
/// with the given element counts, the key list, and records (count, raw f32 zeros).
func legacy(
    declared: [(key: String, numel: UInt8)], listed: [String], records: [(count: Int64, floats: Int)], magic: [UInt8]? = nil
) -> [UInt8] {
    var out = magic ?? (Op.proto(2) + Op.long1(TorchLegacy.magic) + Op.stop)
    out += Op.proto(2) + Op.int2(1001) + Op.stop
    out += Op.proto(2) + Op.emptyDict + Op.str("little_endian") + Op.newTrue + Op.setItem + Op.stop
    let storages = declared.map { Op.mark + Op.str("storage") + Op.global("torch", "FloatStorage") + Op.str($0.key) + Op.str("cpu") + Op.int1($0.numel) + Op.none + Op.tuple + Op.binPersID }
    out += Op.proto(2) + Op.mark + storages.joined() + Op.list + Op.stop
    out += Op.proto(2) + Op.mark + listed.map { Op.str($0) }.joined() + Op.list + Op.stop
    for record in records {
        out += Op.le(record.count) + [UInt8](repeating: 0, count: 4 * record.floats)
    }
    return out
}

struct TorchLegacyTests {
    @Test func realLegacyFile() throws {
        let (value, warnings, file) = try readLegacy(legacyFile)
        let state = try #require(value["state"]?.asDict)
        #expect(state.keys.compactMap(\.asString) == ["w", "w_t", "row", "tied", "d", "i"])
        let w = try #require(state["w"]?.asTensor)
        #expect(try w.floatValues() == [0, 1, 2, 3, 4, 5])
        let wt = try #require(state["w_t"]?.asTensor)
        #expect(wt.strides == [1, 3])
        #expect(try wt.contiguous().floatValues() == [0, 3, 1, 4, 2, 5])
        #expect(try state["row"]?.asTensor?.floatValues() == [3, 4, 5])
        #expect(state["tied"]?.asTensor?.storage === w.storage && wt.storage === w.storage)
        #expect(try state["d"]?.asTensor?.floatValues() == [1.5, -2])
        #expect(try state["i"]?.asTensor?.floatValues() == [7, -8])
        // Zero-copy: storages are slices of the mapped file, at the records' offsets.
        #expect(w.storage.mappedFile === file)
        #expect(w.storage.bytes.baseAddress == file.bytes.baseAddress.map { $0 + legacyFile.count - 24 })
        #expect(value["args"]?["lr"]?.asDouble == 0.5)
        #expect(warnings == ["ignored object argparse.Namespace"])
    }

    @Test func fakeMagicIsRefusedBeforeAnythingRuns() {
        let evil = Op.proto(2) + Op.global("posix", "system") + Op.str("touch /tmp/molt-pwned") + Op.tuple1 + Op.reduce + Op.stop
        expectLegacyFailure(evil + legacyFile[15...], "posix.system", "byte 2")
    }

    @Test func headerChecks() {
        expectLegacyFailure(Op.proto(2) + Op.int1(5) + Op.stop + legacyFile[15...], "magic", "byte 0")
        var version = legacyFile
        version[18] = 0xE8  // 1000
        expectLegacyFailure(version, "1000", kind: .unsupported)
        var bigEndian = legacyFile
        bigEndian[73] = 0x89  // little_endian: False
        expectLegacyFailure(bigEndian, "little_endian", kind: .unsupported)
        let sysInfoWithObject = Op.proto(2) + Op.emptyDict + Op.str("x") + Op.global("mymod", "Thing") + Op.emptyTuple + Op.reduce + Op.setItem + Op.stop
        expectLegacyFailure(Array(legacyFile[..<21]) + sysInfoWithObject + legacyFile[137...], "sys_info", "byte 21")
    }

    @Test func recordCountsMustMatchTheirPersistentIds() {
        var bytes = legacyFile
        bytes[legacyFile.count - 68] = 3
        expectLegacyFailure(bytes, "record", "94014528781776", "3 elements", "declares 2", "byte \(legacyFile.count - 68)")
    }

    @Test func truncationAtEveryOffset() throws {
        for n in 0..<legacyFile.count {
            do {
                _ = try readLegacy(Array(legacyFile[..<n]))
                Issue.record("a legacy file cut at \(n) of \(legacyFile.count) bytes loaded")
            } catch is MoltError {
            } catch {
                Issue.record("not a MoltError: \(error)")
            }
        }
        expectLegacyFailure(Array(legacyFile.dropLast()), "truncated", "94014645030800")
    }

    @Test func trailingBytes() {
        expectLegacyFailure(legacyFile + [0], "1 bytes after the last storage record", "byte \(legacyFile.count)")
    }

    @Test func keyListMustMatchTheStorages() throws {
        let good = legacy(declared: [("a", 1), ("b", 2)], listed: ["a", "b"], records: [(1, 1), (2, 2)])
        let value = try readLegacy(good).value
        #expect(value.asArray?.compactMap(\.asTensor).count == 0)
        expectLegacyFailure(legacy(declared: [("a", 1), ("b", 2)], listed: ["a"], records: [(1, 1)]), "storage 'b' has no record")
        expectLegacyFailure(legacy(declared: [("a", 1)], listed: ["a", "c"], records: [(1, 1), (1, 1)]), "storage 'c'", "never uses")
        expectLegacyFailure(legacy(declared: [("a", 1)], listed: ["a", "a"], records: [(1, 1), (1, 1)]), "listed twice")
        expectLegacyFailure(legacy(declared: [("a", 200)], listed: ["a"], records: [(200, 1)]), "truncated", "storage 'a'")
        expectLegacyFailure(legacy(declared: [("a", 1)], listed: ["a"], records: [(-1, 1)]), "record", "-1 elements")
    }

    @Test func storageViewsInPersistentIdsAreUnsupported() {
        var bytes = legacy(declared: [("a", 1)], listed: ["a"], records: [(1, 1)])
        // The view_metadata None of the single persistent id (the last NONE) becomes an int.
        guard let none = bytes.lastIndex(of: 0x4E) else {
            Issue.record("no NONE")
            return
        }
        bytes[none] = 0x4B
        bytes.insert(0, at: none + 1)
        expectLegacyFailure(bytes, "view", kind: .unsupported)
    }
}
