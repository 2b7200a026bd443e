import Foundation
import MoltCore
import Testing

@testable import MoltCheckpoint

/// data.pkl of `torch.save(sd, pickle_protocol=2)` (torch 2.15) where sd is an OrderedDict
/// with _metadata of: w = arange(6).reshape(2, 3) f32, w_t = w.t(), row = w[1], tied = w,
/// p = Parameter([1.5, -2.0] bf16), i = [7, -8] i64. Protocol 3 differs only in the PROTO byte.
let stateDictProtocol2 = base64(
    "gAJjY29sbGVjdGlvbnMKT3JkZXJlZERpY3QKcQApUnEBKFgBAAAAd3ECY3RvcmNoLl91dGlscwpfcmVidWlsZF90ZW5zb3JfdjIKcQMoKFgHAAAAc3RvcmFnZXEEY3RvcmNoCkZsb2F0U3RvcmFnZQpxBVgBAAAAMHEGWAMAAABjcHVxB0sGdHEIUUsASwJLA4ZxCUsDSwGGcQqJaAApUnELdHEMUnENWAMAAAB3X3RxDmgDKChoBGgFaAZoB0sGdHEPUUsASwNLAoZxEEsBSwOGcRGJaAApUnESdHETUnEUWAMAAAByb3dxFWgDKChoBGgFaAZoB0sGdHEWUUsDSwOFcRdLAYVxGIloAClScRl0cRpScRtYBAAAAHRpZWRxHGgNWAEAAABwcR1jdG9yY2guX3V0aWxzCl9yZWJ1aWxkX3BhcmFtZXRlcgpxHmgDKChoBGN0b3JjaApCRmxvYXQxNlN0b3JhZ2UKcR9YAQAAADFxIGgHSwJ0cSFRSwBLAoVxIksBhXEjiWgAKVJxJHRxJVJxJohoAClScSeHcShScSlYAQAAAGlxKmgDKChoBGN0b3JjaApMb25nU3RvcmFnZQpxK1gBAAAAMnEsaAdLAnRxLVFLAEsChXEuSwGFcS+JaAApUnEwdHExUnEydX1xM1gJAAAAX21ldGFkYXRhcTR9cTVYAAAAAHE2fXE3WAcAAAB2ZXJzaW9ucThLAXNzc2Iu"
)

/// The same state dict at protocol 4 (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL).
/// Protocol 5 differs only in the PROTO byte.
let stateDictProtocol4 = base64(
    "gASVvwEAAAAAAACMC2NvbGxlY3Rpb25zlIwLT3JkZXJlZERpY3SUk5QpUpQojAF3lIwMdG9yY2guX3V0aWxzlIwSX3JlYnVpbGRfdGVuc29yX3YylJOUKCiMB3N0b3JhZ2WUjAV0b3JjaJSMDEZsb2F0U3RvcmFnZZSTlIwBMJSMA2NwdZRLBnSUUUsASwJLA4aUSwNLAYaUiWgCKVKUdJRSlIwDd190lGgHKChoCGgLaAxoDUsGdJRRSwBLA0sChpRLAUsDhpSJaAIpUpR0lFKUjANyb3eUaAcoKGgIaAtoDGgNSwZ0lFFLA0sDhZRLAYWUiWgCKVKUdJRSlIwEdGllZJRoE4wBcJRoBYwSX3JlYnVpbGRfcGFyYW1ldGVylJOUaAcoKGgIaAmMD0JGbG9hdDE2U3RvcmFnZZSTlIwBMZRoDUsCdJRRSwBLAoWUSwGFlIloAilSlHSUUpSIaAIpUpSHlFKUjAFplGgHKChoCGgJjAtMb25nU3RvcmFnZZSTlIwBMpRoDUsCdJRRSwBLAoWUSwGFlIloAilSlHSUUpR1fZSMCV9tZXRhZGF0YZR9lIwAlH2UjAd2ZXJzaW9ulEsBc3NzYi4="
)

/// The records data/0, data/1, data/2 of those archives.
func stateDictRecords() -> StorageServer {
    StorageServer([
        "0": hexBytes("000000000000803f0000004000004040000080400000a040"),
        "1": hexBytes("c03f00c0"),
        "2": hexBytes("0700000000000000f8ffffffffffffff"),
    ])
}

/// A Megatron-style checkpoint (protocol 2): args = argparse.Namespace(num_layers=2,
/// hidden_size=4, params_dtype=torch.bfloat16, mask=__main__.AttnMaskType.causal),
/// iteration 10, checkpoint_version 3.0, model.language_model.embedding = OrderedDict(w=ones(2, 2)
/// bf16), rng_state = [{'np': np.arange(3), 'seed': np.float64(0.5)}].
let megatronProtocol2 = base64(
    "gAJ9cQAoWAQAAABhcmdzcQFjYXJncGFyc2UKTmFtZXNwYWNlCnECKYFxA31xBChYCgAAAG51bV9sYXllcnNxBUsCWAsAAABoaWRkZW5fc2l6ZXEGSwRYDAAAAHBhcmFtc19kdHlwZXEHY3RvcmNoCmJmbG9hdDE2CnEIWAQAAABtYXNrcQljX19tYWluX18KQXR0bk1hc2tUeXBlCnEKSwKFcQtScQx1YlgJAAAAaXRlcmF0aW9ucQ1LClgSAAAAY2hlY2twb2ludF92ZXJzaW9ucQ5HQAgAAAAAAABYBQAAAG1vZGVscQ99cRBYDgAAAGxhbmd1YWdlX21vZGVscRF9cRJYCQAAAGVtYmVkZGluZ3ETY2NvbGxlY3Rpb25zCk9yZGVyZWREaWN0CnEUKVJxFVgBAAAAd3EWY3RvcmNoLl91dGlscwpfcmVidWlsZF90ZW5zb3JfdjIKcRcoKFgHAAAAc3RvcmFnZXEYY3RvcmNoCkJGbG9hdDE2U3RvcmFnZQpxGVgBAAAAMHEaWAMAAABjcHVxG0sEdHEcUUsASwJLAoZxHUsCSwGGcR6JaBQpUnEfdHEgUnEhc3NzWAkAAABybmdfc3RhdGVxIl1xI31xJChYAgAAAG5wcSVjbnVtcHkuX2NvcmUubXVsdGlhcnJheQpfcmVjb25zdHJ1Y3QKcSZjbnVtcHkKbmRhcnJheQpxJ0sAhXEoY19jb2RlY3MKZW5jb2RlCnEpWAEAAABicSpYBgAAAGxhdGluMXErhnEsUnEth3EuUnEvKEsBSwOFcTBjbnVtcHkKZHR5cGUKcTFYAgAAAGk4cTKJiIdxM1JxNChLA1gBAAAAPHE1Tk5OSv////9K/////0sAdHE2YoloKVgYAAAAAAAAAAAAAAABAAAAAAAAAAIAAAAAAAAAcTdoK4ZxOFJxOXRxOmJYBAAAAHNlZWRxO2NudW1weS5fY29yZS5tdWx0aWFycmF5CnNjYWxhcgpxPGgxWAIAAABmOHE9iYiHcT5ScT8oSwNoNU5OTkr/////Sv////9LAHRxQGJoKVgJAAAAAAAAAAAAw6A/cUFoK4ZxQlJxQ4ZxRFJxRXVhdS4="
)

/// `pickle.dumps({'a': [1, -2**40, 'x\né€', b'y\0', 1.5, True, False, None], 'b': (1,),
/// 'c': {2: 3}}, protocol=0)`: text opcodes only.
let protocol0 = base64(
    "KGRwMApWYQpwMQoobHAyCkkxCmFMLTEwOTk1MTE2Mjc3NzZMCmFWeFx1MDAwYelcdTIwYWMKcDMKYWNfY29kZWNzCmVuY29kZQpwNAooVnlcdTAwMDAKcDUKVmxhdGluMQpwNgp0cDcKUnA4CmFGMS41CmFJMDEKYUkwMAphTmFzVmIKcDkKKEkxCnRwMTAKc1ZjCnAxMQooZHAxMgpJMgpJMwpzcy4="
)

/// `pickle.dumps({'a': [1, -2**40, 'x\né', b'y\0', 1.5, True, None], 'b': (1, 2)}, protocol=1)`.
let protocol1 = base64(
    "fXEAKFgBAAAAYXEBXXECKEsBTC0xMDk5NTExNjI3Nzc2TApYBAAAAHgKw6lxA2NfY29kZWNzCmVuY29kZQpxBChYAgAAAHkAcQVYBgAAAGxhdGluMXEGdHEHUnEIRz/4AAAAAAAASTAxCk5lWAEAAABicQkoSwFLAnRxCnUu"
)

struct PickleScalarTests {
    @Test func integersOfEveryWidth() throws {
        let items: [[UInt8]] = [
            Op.int1(200), Op.int2(60000), Op.int4(-5), Op.long1([]), Op.long1([0xFF]), Op.long1([0x00, 0x80, 0x00]), Op.long1([0x00, 0x80]),
            Op.long1([0x01, 0, 0, 0, 0, 0, 0, 0x80, 0xFF]), Op.long1([1, 2, 3, 4, 5, 6, 7, 8, 9]),
            [0x8B] + Op.le(UInt32(2)) + [0x34, 0x12],
        ]
        let value = try unpickle(Op.proto(2) + Op.mark + items.joined() + Op.tuple + Op.stop)
        let got = try #require(value.asArray)
        #expect(got.prefix(5).map(\.asInt) == [200, 60000, -5, 0, -1])
        #expect(got[5].asInt == 32768)
        #expect(got[6].asInt == -32768)
        // 9 bytes whose top byte is only sign extension still fit Int64.
        if case .int(let v) = got[7] { #expect(v == Int64(bitPattern: 0x8000_0000_0000_0001)) } else { Issue.record("\(got[7])") }
        if case .bigInt(let b) = got[8] { #expect(b == [1, 2, 3, 4, 5, 6, 7, 8, 9]) } else { Issue.record("\(got[8])") }
        #expect(got[9].asInt == 0x1234)
    }

    @Test func floatsStringsAndBytes() throws {
        let body =
            Op.binFloat(-2.5) + Op.text("F", "1e-3") + Op.str("héllo") + Op.shortStr("a") + Op.str8("b8")
            + Op.bytes([1, 2]) + Op.shortBytes([3]) + Op.bytes8([4]) + Op.byteArray8([5, 6]) + Op.none + Op.newTrue + Op.newFalse
        let value = try unpickle(Op.proto(5) + Op.mark + body + Op.tuple + Op.stop)
        let got = try #require(value.asArray)
        #expect(got[0].asDouble == -2.5)
        #expect(got[1].asDouble == 0.001)
        #expect(got[2...4].map(\.asString) == ["héllo", "a", "b8"])
        #expect(got[5...8].map(\.asBytes) == [[1, 2], [3], [4], [5, 6]])
        if case .none = got[9] {} else { Issue.record("\(got[9])") }
        #expect(got[10].asBool == true && got[11].asBool == false)
    }

    @Test func protocol0TextOpcodes() throws {
        let value = try unpickle(protocol0)
        let a = try #require(value["a"]?.asArray)
        #expect(a[0].asInt == 1)
        #expect(a[1].asInt == -1_099_511_627_776)
        #expect(a[2].asString == "x\né€")
        #expect(a[3].asBytes == [0x79, 0x00])
        #expect(a[4].asDouble == 1.5)
        #expect(a[5].asBool == true && a[6].asBool == false)
        if case .none = a[7] {} else { Issue.record("\(a[7])") }
        #expect(value["b"]?.asArray?.map(\.asInt) == [1])
        #expect(value["c"]?.asDict?[.int(2)]?.asInt == 3)
    }

    @Test func protocol1Opcodes() throws {
        let value = try unpickle(protocol1)
        let a = try #require(value["a"]?.asArray)
        #expect(a.count == 7)
        #expect(a[2].asString == "x\né")
        #expect(a[3].asBytes == [0x79, 0x00])
        #expect(value["b"]?.asArray?.map(\.asInt) == [1, 2])
    }

    @Test func python2Strings() throws {
        let body =
            Op.text("S", #"'a\n\x41\101\'b'"#) + [0x54] + Op.le(UInt32(2)) + Array("hi".utf8) + [0x55, 2, 0xFF, 0xFE]
            + Op.text("V", #"\u00e9\\u"#) + Op.text("L", "12L") + Op.text("I", "-7")
        let value = try unpickle(Op.mark + body + Op.tuple + Op.stop)
        let got = try #require(value.asArray)
        #expect(got[0].asString == "a\nAA'b")
        #expect(got[1].asString == "hi")
        // Not UTF-8: kept as bytes.
        #expect(got[2].asBytes == [0xFF, 0xFE])
        #expect(got[3].asString == #"é\\u"#)
        #expect(got[4].asInt == 12)
        #expect(got[5].asInt == -7)
    }

    @Test func stackOpcodes() throws {
        // POP, POP_MARK, DUP and POP of an empty segment removing its MARK, as Python does.
        let body = Op.int1(1) + Op.int1(2) + Op.pop + Op.dup + Op.mark + Op.int1(9) + Op.popMark + Op.mark + Op.pop + Op.tuple2
        let value = try unpickle(Op.proto(2) + body + Op.stop)
        #expect(value.asArray?.map(\.asInt) == [1, 1])
    }
}

struct PickleContainerTests {
    @Test func tuplesListsDictsSets() throws {
        let body =
            Op.mark
            + Op.emptyTuple + Op.int1(1) + Op.tuple1 + Op.int1(1) + Op.int1(2) + Op.tuple2 + Op.int1(1) + Op.int1(2) + Op.int1(3) + Op.tuple3
            + Op.emptyList + Op.int1(1) + Op.append + Op.mark + Op.int1(2) + Op.int1(3) + Op.appends
            + Op.mark + Op.int1(4) + Op.list
            + Op.emptyDict + Op.shortStr("k") + Op.int1(1) + Op.setItem
            + Op.mark + Op.int1(5) + Op.shortStr("five") + Op.int1(5) + Op.int1(6) + Op.shortStr("k") + Op.int1(7) + Op.setItems
            + Op.mark + Op.int1(1) + Op.int1(2) + Op.tuple2 + Op.shortStr("pair") + Op.dict
            + Op.emptySet + Op.mark + Op.int1(8) + Op.addItems + Op.mark + Op.int1(9) + Op.frozenSet
            + Op.tuple
        let got = try #require(try unpickle(Op.proto(4) + body + Op.stop).asArray)
        #expect(got[0...3].map { $0.asArray?.count } == [0, 1, 2, 3])
        #expect(got[4].asArray?.map(\.asInt) == [1, 2, 3])
        #expect(got[5].asArray?.map(\.asInt) == [4])
        let d = try #require(got[6].asDict)
        // A key set again keeps its first place and takes the last value.
        #expect(d.keys.map(\.description) == ["'k'", "5"])
        #expect(d["k"]?.asInt == 7)
        #expect(d[.int(5)]?.asInt == 6)
        let tupleKeyed = try #require(got[7].asDict)
        let key = PickleValue.tuple(PickleTuple([.int(1), .int(2)]))
        #expect(tupleKeyed[key]?.asString == "pair")
        if case .set(let s) = got[8] { #expect(s.items.map(\.asInt) == [8]) } else { Issue.record("\(got[8])") }
        if case .set(let s) = got[9] { #expect(s.items.map(\.asInt) == [9]) } else { Issue.record("\(got[9])") }
    }

    @Test func memoSharesReferences() throws {
        // l = []; (l, l) then APPEND to the memoized list shows in both.
        let body = Op.emptyList + Op.binPut(0) + Op.binGet(0) + Op.tuple2 + Op.binGet(0) + Op.int1(1) + Op.append + Op.pop
        let value = try unpickle(Op.proto(2) + body + Op.stop)
        let items = try #require(value.asArray)
        guard case .list(let a) = items[0], case .list(let b) = items[1] else { Issue.record("\(value)"); return }
        #expect(a === b)
        #expect(a.items.map(\.asInt) == [1])
    }

    @Test func memoizeAndLongIndices() throws {
        let body = Op.shortStr("x") + Op.memoize + Op.pop + Op.int1(3) + Op.longBinPut(70000) + Op.pop
            + Op.binGet(0) + Op.longBinGet(70000) + Op.text("p", "5") + Op.text("g", "5") + Op.tuple3
        let value = try unpickle(Op.proto(4) + body + Op.stop)
        #expect(value.description == "('x', 3, 3)")
    }

    @Test func selfReferencingList() throws {
        let value = try unpickle(Op.proto(2) + Op.emptyList + Op.binPut(0) + Op.binGet(0) + Op.append + Op.stop)
        guard case .list(let l) = value, case .list(let inner) = l.items[0] else { Issue.record("\(value)"); return }
        #expect(inner === l)
        // Printing terminates.
        #expect(value.description.count < 200)
    }

    @Test func billionLaughsStaysShared() throws {
        // 30 levels of lists holding 10 references to the level below: 10^30 leaves if copied.
        var bytes = Op.proto(2) + Op.emptyList + Op.binPut(0)
        for level in 1...30 {
            bytes += Op.mark + Array(repeating: Op.binGet(UInt8(level - 1)), count: 10).joined() + Op.list + Op.binPut(UInt8(level))
        }
        bytes += Op.stop
        let start = ContinuousClock.now
        let value = try unpickle(bytes)
        #expect(value.asArray?.count == 10)
        #expect(value.description.count < 2000)
        // Copying would never end (10^30 leaves); shared, it takes milliseconds. The bound is a
        // hang guard, wide enough for a loaded CI machine.
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test func sharedTupleKeyIsBounded() throws {
        // Tuples of 2 references to the level below, 40 deep, used as a dict key.
        var bytes = Op.proto(2) + Op.emptyDict + Op.none + Op.binPut(0) + Op.pop
        for level in 1...40 {
            bytes += Op.binGet(UInt8(level - 1)) + Op.binGet(UInt8(level - 1)) + Op.tuple2 + Op.binPut(UInt8(level)) + Op.pop
        }
        bytes += Op.binGet(40) + Op.int1(1) + Op.setItem + Op.stop
        expectFailure(bytes, "dict key", "byte")
    }

    @Test func deepTuplesAreReleasedWithoutRecursion() throws {
        let tuples = Op.proto(2) + Op.none + [UInt8](repeating: 0x85, count: 1_000_000) + Op.stop
        _ = try unpickle(tuples)
    }

    @Test func deepListsAreReleasedWithoutRecursion() throws {
        // 200,000 lists linked after all were memoized, so no count taken while building
        // could know the final depth.
        let n: UInt32 = 200_000
        var lists = Op.proto(2)
        for i in 0..<n { lists += Op.emptyList + Op.longBinPut(i) + Op.pop }
        for i in 0..<n - 1 { lists += Op.longBinGet(i) + Op.longBinGet(i + 1) + Op.append + Op.pop }
        lists += Op.longBinGet(0) + Op.stop
        _ = try unpickle(lists)
    }

    @Test func descriptionIsPythonLike() throws {
        let value = try unpickle(Op.proto(2) + Op.emptyDict + Op.shortStr("a") + Op.mark + Op.int1(1) + Op.none + Op.list + Op.setItem + Op.stop)
        #expect(value.description == "{'a': [1, None]}")
    }
}

struct PickleTorchTests {
    func checkStateDict(_ bytes: [UInt8]) throws {
        let server = stateDictRecords()
        let value = try unpickle(bytes, server: server)
        let dict = try #require(value.asDict)
        #expect(dict.keys.compactMap(\.asString) == ["w", "w_t", "row", "tied", "p", "i"])
        let w = try #require(value["w"]?.asTensor)
        #expect(w.dtype == .f32 && w.shape == [2, 3] && w.strides == [3, 1])
        #expect(try w.floatValues() == [0, 1, 2, 3, 4, 5])
        let wt = try #require(value["w_t"]?.asTensor)
        #expect(wt.shape == [3, 2] && wt.strides == [1, 3] && !wt.isContiguous)
        #expect(try wt.contiguous().floatValues() == [0, 3, 1, 4, 2, 5])
        let row = try #require(value["row"]?.asTensor)
        #expect(row.offset == 3)
        #expect(try row.floatValues() == [3, 4, 5])
        let tied = try #require(value["tied"]?.asTensor)
        #expect(tied.storage === w.storage && wt.storage === w.storage)
        let p = try #require(value["p"]?.asTensor)
        #expect(p.dtype == .bf16)
        #expect(try p.floatValues() == [1.5, -2])
        let i = try #require(value["i"]?.asTensor)
        #expect(i.dtype == .i64)
        #expect(try i.floatValues() == [7, -8])
        // One request per key, with the dtype and size the persistent id declared.
        #expect(server.requests.map(\.key) == ["0", "1", "2"])
        #expect(server.requests.map(\.dtype) == [.f32, .bf16, .i64])
        #expect(server.requests.map(\.byteCount) == [24, 4, 16])
        #expect(server.requests.map(\.location) == ["cpu", "cpu", "cpu"])
    }

    @Test(arguments: [2, 3, 4, 5] as [UInt8])
    func realStateDicts(protocolVersion: UInt8) throws {
        var bytes = protocolVersion < 4 ? stateDictProtocol2 : stateDictProtocol4
        bytes[1] = protocolVersion
        try checkStateDict(bytes)
    }

    @Test func megatronCheckpointWithPlaceholders() throws {
        let server = StorageServer(["0": hexBytes("803f803f803f803f")])
        let (value, warnings) = try unpickleWithWarnings(megatronProtocol2, server: server)
        let args = try #require(value["args"]?.asObject)
        #expect(args.module == "argparse" && args.name == "Namespace")
        #expect(value["args"]?["num_layers"]?.asInt == 2)
        #expect(value["args"]?["params_dtype"]?.globalName == "torch.bfloat16")
        #expect(value["args"]?["mask"]?.asObject?.args.first?.asInt == 2)
        #expect(value["iteration"]?.asInt == 10)
        #expect(value["checkpoint_version"]?.asDouble == 3.0)
        let w = try #require(value["model"]?["language_model"]?["embedding"]?["w"]?.asTensor)
        #expect(w.dtype == .bf16 && w.shape == [2, 2])
        #expect(try w.floatValues() == [1, 1, 1, 1])
        let rng = try #require(value["rng_state"]?.asArray?.first)
        let array = try #require(rng["np"]?.asObject)
        #expect(array.name == "_reconstruct" && array.state != nil)
        // _codecs.encode(text, 'latin1') gave the array's raw bytes.
        guard case .tuple(let state)? = array.state, case .bytes(let raw) = state.items[4] else {
            Issue.record("\(array.state.map(\.description) ?? "no state")")
            return
        }
        #expect(raw == [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0])
        #expect(
            warnings == [
                "ignored object argparse.Namespace", "ignored object __main__.AttnMaskType",
                "ignored object numpy._core.multiarray._reconstruct", "ignored object numpy.dtype",
                "ignored object numpy._core.multiarray.scalar",
            ])
    }

    @Test func orderedDictMetadataBuildIsIgnored() throws {
        let bytes =
            Op.proto(2) + Op.global("collections", "OrderedDict") + Op.emptyTuple + Op.reduce
            + Op.shortStr("a") + Op.int1(1) + Op.setItem
            + Op.emptyDict + Op.shortStr("_metadata") + Op.emptyDict + Op.setItem + Op.build + Op.stop
        let value = try unpickle(bytes)
        #expect(value.asDict?.count == 1)
        #expect(value["a"]?.asInt == 1)
    }

    @Test func orderedDictFromPairs() throws {
        let pairs = Op.mark + Op.shortStr("b") + Op.int1(2) + Op.tuple2 + Op.list
        let value = try unpickle(Op.proto(2) + Op.global("collections", "OrderedDict") + pairs + Op.tuple1 + Op.reduce + Op.stop)
        #expect(value["b"]?.asInt == 2)
    }

    @Test func tiedStoragesShareOneStorage() throws {
        let server = StorageServer(["k": [UInt8](repeating: 0, count: 16)])
        let a = Op.tensorV2(Op.storage("FloatStorage", key: "k", numel: 4), shape: [4], strides: [1])
        let b = Op.tensorV2(Op.storage("FloatStorage", key: "k", numel: 4), offset: 2, shape: [2], strides: [1])
        let value = try unpickle(Op.proto(2) + a + b + Op.tuple2 + Op.stop, server: server)
        let tensors = value.asArray?.compactMap(\.asTensor) ?? []
        #expect(tensors.count == 2)
        #expect(tensors[0].storage === tensors[1].storage)
        #expect(tensors[1].offset == 2)
        #expect(server.requests.count == 1)
    }

    @Test func sameKeyAsAnotherDTypeOfTheSameSize() throws {
        // torch reinterprets the bytes when the sizes agree; each tensor keeps its own dtype.
        let server = StorageServer(["k": hexBytes("0000803f")])
        let a = Op.tensorV2(Op.storage("FloatStorage", key: "k", numel: 1), shape: [1], strides: [1])
        let b = Op.tensorV2(Op.storage("IntStorage", key: "k", numel: 1), shape: [1], strides: [1])
        let tensors = try #require(try unpickle(Op.proto(2) + a + b + Op.tuple2 + Op.stop, server: server).asArray?.compactMap(\.asTensor))
        #expect(tensors.map(\.dtype) == [.f32, .i32])
        #expect(try tensors[0].floatValues() == [1])
        #expect(try tensors[1].floatValues() == [0x3F80_0000])

        let c = Op.tensorV2(Op.storage("HalfStorage", key: "k", numel: 1), shape: [1], strides: [1])
        expectFailure(Op.proto(2) + a + c + Op.tuple2 + Op.stop, "storage 'k'", "4 bytes", "2 bytes", server: StorageServer(["k": [0, 0, 0, 0]]))
    }

    @Test func untypedStorageWithV3() throws {
        let server = StorageServer(["0": hexBytes("0000803f00000040")])
        let bytes =
            Op.proto(2) + Op.global("torch._utils", "_rebuild_tensor_v3") + Op.mark
            + Op.storage("UntypedStorage", key: "0", numel: 8, module: "torch.storage") + Op.int1(0) + Op.ints([2]) + Op.ints([1])
            + Op.newFalse + Op.global("collections", "OrderedDict") + Op.emptyTuple + Op.reduce + Op.global("torch", "float32")
            + Op.tuple + Op.reduce + Op.stop
        let tensor = try #require(try unpickle(bytes, server: server).asTensor)
        #expect(tensor.dtype == .f32)
        #expect(try tensor.floatValues() == [1, 2])
        #expect(server.requests.first?.dtype == nil)
        #expect(server.requests.first?.byteCount == 8)
    }

    @Test func v3WithAnUnsupportedDType() {
        let bytes =
            Op.proto(2) + Op.global("torch._utils", "_rebuild_tensor_v3") + Op.mark
            + Op.storage("UntypedStorage", key: "0", numel: 2, module: "torch.storage") + Op.int1(0) + Op.ints([1]) + Op.ints([1])
            + Op.newFalse + Op.none + Op.global("torch", "uint16") + Op.tuple + Op.reduce + Op.stop
        expectFailure(bytes, "torch.uint16", "byte", kind: .unsupported, server: StorageServer(["0": [0, 0]]))
    }

    @Test func tensorMetadata() throws {
        let conj = Op.emptyDict + Op.shortStr("conj") + Op.newTrue + Op.setItem
        let neg = Op.emptyDict + Op.shortStr("neg") + Op.newTrue + Op.setItem
        let storage = Op.storage("FloatStorage", key: "k", numel: 1)
        let records = ["k": hexBytes("0000803f")]
        let tensor = try unpickle(Op.proto(2) + Op.tensorV2(storage, shape: [1], strides: [1], metadata: conj) + Op.stop, server: StorageServer(records))
        #expect(try tensor.asTensor?.floatValues() == [1])
        expectFailure(
            Op.proto(2) + Op.tensorV2(storage, shape: [1], strides: [1], metadata: neg) + Op.stop, "neg", "byte", kind: .unsupported,
            server: StorageServer(records))
    }

    @Test func parametersAndTensorSubclasses() throws {
        let records = ["k": hexBytes("0000803f")]
        let inner = Op.tensorV2(Op.storage("FloatStorage", key: "k", numel: 1), shape: [1], strides: [1])
        let hooks = Op.global("collections", "OrderedDict") + Op.emptyTuple + Op.reduce
        let withState =
            Op.global("torch._utils", "_rebuild_parameter_with_state") + Op.mark + inner + Op.newTrue + hooks + Op.emptyDict + Op.tuple + Op.reduce
        let fromType =
            Op.global("torch._tensor", "_rebuild_from_type_v2") + Op.mark + Op.global("torch._utils", "_rebuild_tensor_v2") + Op.global("torch.nn.parameter", "Parameter")
            + Op.mark + Op.storage("FloatStorage", key: "k", numel: 1) + Op.int1(0) + Op.ints([1]) + Op.ints([1]) + Op.newFalse + hooks + Op.tuple
            + Op.emptyDict + Op.tuple + Op.reduce
        let (value, warnings) = try unpickleWithWarnings(Op.proto(2) + withState + fromType + Op.tuple2 + Op.stop, server: StorageServer(records))
        let tensors = value.asArray?.compactMap(\.asTensor) ?? []
        #expect(tensors.count == 2)
        #expect(warnings.isEmpty)
    }

    @Test func interpretedBuiltins() throws {
        let body =
            Op.global("builtins", "set") + Op.mark + Op.int1(1) + Op.list + Op.tuple1 + Op.reduce
            + Op.global("__builtin__", "frozenset") + Op.mark + Op.int1(2) + Op.list + Op.tuple1 + Op.reduce
            + Op.global("builtins", "complex") + Op.binFloat(1) + Op.binFloat(2) + Op.tuple2 + Op.reduce
            + Op.global("builtins", "bytearray") + Op.shortStr("\u{1}\u{FF}") + Op.shortStr("latin-1") + Op.tuple2 + Op.reduce
            + Op.global("torch", "Size") + Op.ints([2, 3]) + Op.tuple1 + Op.reduce
            + Op.global("builtins", "slice") + Op.none + Op.int1(3) + Op.none + Op.tuple3 + Op.reduce
            + Op.global("torch", "device") + Op.shortStr("cpu") + Op.tuple1 + Op.reduce
        let (value, warnings) = try unpickleWithWarnings(Op.proto(2) + Op.mark + body + Op.tuple + Op.stop)
        let got = try #require(value.asArray)
        if case .set(let s) = got[0] { #expect(s.items.map(\.asInt) == [1]) } else { Issue.record("\(got[0])") }
        if case .set(let s) = got[1] { #expect(s.items.map(\.asInt) == [2]) } else { Issue.record("\(got[1])") }
        if case .complex(let re, let im) = got[2] { #expect(re == 1 && im == 2) } else { Issue.record("\(got[2])") }
        #expect(got[3].asBytes == [1, 0xFF])
        #expect(got[4].asArray?.map(\.asInt) == [2, 3])
        #expect(got[5].asObject?.name == "slice")
        #expect(got[6].asObject?.args.first?.asString == "cpu")
        #expect(warnings.isEmpty)
    }

    @Test func newObjExAndPlaceholderContainers() throws {
        let body =
            Op.global("mymod", "MyList") + Op.emptyTuple + Op.newObj + Op.mark + Op.int1(1) + Op.appends
            + Op.global("collections", "defaultdict") + Op.global("builtins", "list") + Op.tuple1 + Op.reduce + Op.shortStr("k") + Op.int1(2) + Op.setItem
            + Op.global("mymod", "Kw") + Op.emptyTuple + Op.emptyDict + Op.shortStr("a") + Op.int1(3) + Op.setItem + Op.newObjEx
        let (value, warnings) = try unpickleWithWarnings(Op.proto(4) + Op.mark + body + Op.tuple + Op.stop)
        let got = try #require(value.asArray)
        #expect(got[0].asObject?.items.map(\.asInt) == [1])
        #expect(got[1]["k"]?.asInt == 2)
        #expect(got[2].asObject?.kwargs?["a"]?.asInt == 3)
        #expect(warnings == ["ignored object mymod.MyList", "ignored object collections.defaultdict", "ignored object mymod.Kw"])
    }

    @Test func storageSizeMustMatchTheDeclaration() {
        let bytes = Op.proto(2) + Op.tensorV2(Op.storage("FloatStorage", key: "k", numel: 4), shape: [4], strides: [1]) + Op.stop
        expectFailure(bytes, "storage 'k'", "12", "16", server: StorageServer(["k": [UInt8](repeating: 0, count: 12)]))
    }

    @Test func viewsOutsideTheirStorage() {
        let bytes = Op.proto(2) + Op.tensorV2(Op.storage("FloatStorage", key: "k", numel: 4), offset: 1, shape: [4], strides: [1]) + Op.stop
        expectFailure(bytes, "storage 'k'", "byte", server: StorageServer(["k": [UInt8](repeating: 0, count: 16)]))
    }

    @Test func badPersistentIds() {
        expectFailure(Op.proto(2) + Op.shortStr("x") + Op.binPersID + Op.stop, "persistent id", "byte")
        let view = Op.mark + Op.str("storage") + Op.global("torch", "FloatStorage") + Op.str("k") + Op.str("cpu") + Op.int1(1) + Op.shortStr("v") + Op.tuple + Op.binPersID
        expectFailure(Op.proto(2) + view + Op.stop, "view", kind: .unsupported)
        expectFailure(Op.proto(2) + Op.storage("ComplexFloatStorage", key: "k", numel: 1) + Op.stop, "torch.ComplexFloatStorage", kind: .unsupported)
        var machine = PickleMachine(file: "nostorage.pkl")
        #expect(throws: MoltError.self) { try machine.load(Op.proto(2) + Op.storage("FloatStorage", key: "k", numel: 1) + Op.stop) }
    }
}

struct PickleRefusalTests {
    static let refused: [(String, String)] = [
        ("posix", "system"), ("os", "system"), ("nt", "system"), ("os.path", "join"), ("builtins", "eval"),
        ("builtins", "exec"), ("builtins", "compile"), ("builtins", "getattr"), ("builtins", "__import__"),
        ("builtins", "open"), ("subprocess", "Popen"), ("subprocess", "check_output"), ("runpy", "_run_code"),
        ("torch.storage", "_load_from_bytes"), ("torch", "load"), ("torch.hub", "load"), ("torch._C", "_x"),
        ("torch.jit", "load"), ("socket", "socket"), ("shutil", "rmtree"), ("importlib", "import_module"),
        ("importlib.machinery", "SourceFileLoader"), ("pickle", "loads"), ("_pickle", "loads"), ("marshal", "loads"),
        ("operator", "attrgetter"), ("operator", "methodcaller"), ("functools", "partial"), ("ctypes", "CDLL"),
        ("code", "InteractiveInterpreter"), ("pty", "spawn"), ("webbrowser", "open"), ("io", "open"),
        ("pathlib", "Path"), ("sys", "modules"), ("numpy", "load"), ("types", "CodeType"),
    ]

    @Test func refusedGlobalsAreNamed() {
        for (module, name) in Self.refused {
            let server = StorageServer()
            let bytes = Op.proto(2) + Op.global(module, name) + Op.shortStr("touch /tmp/x") + Op.tuple1 + Op.reduce + Op.stop
            expectFailure(bytes, "refused global \(module).\(name)", "byte 2", kind: .badInput, server: server)
            #expect(server.requests.isEmpty)
        }
    }

    @Test func refusedThroughStackGlobal() {
        let bytes = Op.proto(4) + Op.frame(16) + Op.shortStr("os") + Op.shortStr("system") + Op.stackGlobal + Op.emptyTuple + Op.reduce + Op.stop
        expectFailure(bytes, "os.system", "byte 23")
    }

    @Test func python2NamesAreMapped() {
        expectFailure(Op.proto(2) + Op.global("__builtin__", "eval") + Op.stop, "builtins.eval", "__builtin__.eval", "byte")
        expectFailure(Op.proto(2) + Op.global("__builtin__", "reduce") + Op.stop, "functools.reduce", "byte")
        expectFailure(Op.proto(2) + Op.global("cPickle", "loads") + Op.stop, "pickle.loads", "byte")
    }

    @Test func dottedNamesAreCheckedAttributeByAttribute() {
        expectFailure(Op.proto(4) + Op.shortStr("torch") + Op.shortStr("os.system") + Op.stackGlobal + Op.stop, "torch.os.system", "byte")
        expectFailure(
            Op.proto(4) + Op.shortStr("torch._utils") + Op.shortStr("_rebuild_tensor_v2.__globals__") + Op.stackGlobal + Op.stop, "__globals__")
        expectFailure(Op.proto(4) + Op.shortStr("torch") + Op.shortStr("storage._load_from_bytes") + Op.stackGlobal + Op.stop, "_load_from_bytes")
    }

    @Test func namesakeSubmodulesAreNotRefused() throws {
        // A package's own `io` submodule is not the standard library's.
        let (value, warnings) = try unpickleWithWarnings(Op.proto(2) + Op.global("megatron.core.io", "Thing") + Op.emptyTuple + Op.reduce + Op.stop)
        #expect(value.asObject?.module == "megatron.core.io")
        #expect(warnings == ["ignored object megatron.core.io.Thing"])
    }

    @Test func refusedOpcodes() {
        expectFailure(Op.mark + Op.text("i", "posix\nsystem") + Op.stop, "refused opcode INST", "byte 1")
        expectFailure(Op.mark + Op.global("collections", "OrderedDict") + [0x6F] + Op.stop, "refused opcode OBJ", "byte")
        expectFailure(Op.proto(2) + [0x82, 1] + Op.stop, "refused opcode EXT1", "byte 2")
        expectFailure(Op.proto(5) + [0x97] + Op.stop, "NEXT_BUFFER", kind: .unsupported)
        expectFailure(Op.proto(5) + Op.byteArray8([1]) + [0x98] + Op.stop, "READONLY_BUFFER", kind: .unsupported)
        expectFailure(Op.text("P", "0") + Op.stop, "PERSID", kind: .unsupported)
    }
}

struct PickleBoundsTests {
    @Test func markBombFailsFast() {
        let bytes = Op.proto(2) + [UInt8](repeating: 0x28, count: 200_000) + Op.stop
        let start = ContinuousClock.now
        expectFailure(bytes, "deep", "byte")
        #expect(ContinuousClock.now - start < .milliseconds(500))
    }

    @Test func stackAndObjectLimits() {
        var machine = PickleMachine(file: "x.pkl", limits: PickleLimits(maxStackSize: 10))
        #expect(throws: MoltError.self) { try machine.load(Op.proto(2) + Array(repeating: Op.none, count: 11).joined() + Op.stop) }
        var objects = PickleMachine(file: "x.pkl", limits: PickleLimits(maxObjects: 5))
        do {
            _ = try objects.load(Op.proto(2) + Op.mark + Array(repeating: Op.none, count: 6).joined() + Op.tuple + Op.stop)
            Issue.record("expected too many objects")
        } catch let error as MoltError {
            #expect(error.message.contains("too many objects"))
        } catch {
            Issue.record("\(error)")
        }
        var memo = PickleMachine(file: "x.pkl", limits: PickleLimits(maxMemoEntries: 2))
        #expect(throws: MoltError.self) { try memo.load(Op.proto(4) + Op.none + Op.memoize + Op.memoize + Op.memoize + Op.stop) }
    }

    @Test func missingMemoEntries() {
        expectFailure(Op.proto(2) + Op.longBinGet(0xFFFF_FFFF) + Op.stop, "memo", "4294967295", "byte 2")
        expectFailure(Op.proto(2) + Op.binGet(3) + Op.stop, "memo", "byte 2")
        expectFailure(Op.text("g", "-1") + Op.stop, "memo", "byte 0")
    }

    @Test func trailingBytesAfterStop() throws {
        expectFailure(Op.proto(2) + Op.none + Op.stop + [0], "after STOP", "byte 4")
        var machine = PickleMachine(file: "x.pkl")
        let two = Op.proto(2) + Op.int1(1) + Op.stop + Op.proto(2) + Op.int1(2) + Op.stop
        try two.withUnsafeBytes { raw in
            let first = try machine.load(raw, requireEnd: false)
            #expect(first.value.asInt == 1 && first.end == 5)
            let second = try machine.load(raw, from: first.end)
            #expect(second.value.asInt == 2 && second.end == 10)
        }
    }

    @Test(arguments: [stateDictProtocol2, stateDictProtocol4, megatronProtocol2, protocol0])
    func truncationAtEveryOffset(bytes: [UInt8]) {
        for n in 0..<bytes.count {
            do {
                var machine = PickleMachine(file: "cut.pkl", storages: StorageServer(["0": [UInt8](repeating: 0, count: 24)]).resolve)
                _ = try machine.load(Array(bytes[..<n]))
                Issue.record("a pickle cut at \(n) of \(bytes.count) bytes loaded")
            } catch is MoltError {
            } catch {
                Issue.record("not a MoltError: \(error)")
            }
        }
    }

    @Test func truncatedArguments() {
        expectFailure(Op.proto(2) + Op.str("hello").dropLast(2) + Op.stop, "truncated", "BINUNICODE", "byte 2")
        expectFailure(Op.proto(4) + [0x8E] + Op.le(UInt64.max) + Op.stop, "truncated", "BINBYTES8")
        expectFailure(Op.proto(4) + Op.frame(1000) + Op.stop, "truncated", "FRAME")
        expectFailure(Op.proto(2) + Op.none, "truncated", "STOP")
        expectFailure(Op.proto(2) + [0x63] + Array("os".utf8), "truncated", "GLOBAL")
        expectFailure([], "truncated")
    }

    @Test func malformedPickles() {
        expectFailure(Op.proto(2) + [0xFF] + Op.stop, "unknown opcode 0xFF", "byte 2")
        expectFailure(Op.proto(6) + Op.stop, "protocol 6", kind: .unsupported)
        expectFailure(Op.proto(2) + Op.stop, "stack underflow", "byte 2")
        expectFailure(Op.proto(2) + Op.none + Op.mark + Op.tuple1 + Op.stop, "stack underflow")
        expectFailure(Op.proto(2) + Op.none + Op.tuple + Op.stop, "MARK")
        expectFailure(Op.proto(2) + Op.int1(1) + Op.int1(2) + Op.append + Op.stop, "APPEND to a int")
        expectFailure(Op.proto(2) + Op.emptyDict + Op.emptyList + Op.int1(1) + Op.setItem + Op.stop, "unhashable")
        expectFailure(Op.proto(2) + Op.int1(1) + Op.emptyTuple + Op.reduce + Op.stop, "cannot call a int")
        expectFailure(Op.proto(2) + Op.global("collections", "OrderedDict") + Op.none + Op.reduce + Op.stop, "REDUCE arguments")
        expectFailure(Op.proto(2) + Op.emptyList + Op.none + Op.build + Op.stop, "BUILD on a list")
        expectFailure(Op.proto(2) + Op.text("I", "99999999999999999999") + Op.stop, "64 bits", kind: .unsupported)
        expectFailure(Op.text("S", "unquoted") + Op.stop, "quoted")
        expectFailure(Op.proto(4) + [0x8C, 2, 0xC3, 0x28] + Op.stop, "UTF-8")
    }
}
