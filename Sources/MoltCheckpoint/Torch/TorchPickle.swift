import MoltCore

/// What a reader needs to hand the pickle machine one storage named by a persistent id.
public struct StorageRequest: Sendable, Equatable {
    /// The storage's key: the record `data/<key>` in a zip, a decimal pointer value in the
    /// legacy format.
    public let key: String
    /// The element type of a typed storage class (FloatStorage ...); nil for UntypedStorage.
    public let dtype: DType?
    /// numel x element size, as the persistent id declares it. The storage returned must hold
    /// exactly this many bytes.
    public let byteCount: Int
    /// Where torch kept it ("cpu", "cuda:0"): informative only.
    public let location: String
}

/// Supplies the bytes of one storage. Called once per key: the machine caches the result so
/// tied weights share one Storage.
public typealias StorageResolver = (StorageRequest) throws -> Storage

/// A storage as one persistent id names it. The same key may be named again with another
/// dtype of the same byte size (torch reinterprets the bytes); each reference keeps its own.
public struct StorageRef {
    public let key: String
    public let storage: Storage
    public let dtype: DType?
    public let location: String
}

/// The torch meaning of calls, persistent ids and BUILDs. Everything without a meaning here
/// becomes an inert placeholder.
struct TorchPickle {
    /// Typed storage classes (module `torch`, or `torch.cuda` in old files) and their dtypes.
    static let storageClasses: [String: DType] = [
        "FloatStorage": .f32, "DoubleStorage": .f64, "HalfStorage": .f16, "BFloat16Storage": .bf16,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool,
    ]

    /// torch dtypes (module `torch`) Molt can hold, with their aliases.
    static let dtypes: [String: DType] = [
        "float32": .f32, "float": .f32, "float64": .f64, "double": .f64, "float16": .f16,
        "half": .f16, "bfloat16": .bf16, "int64": .i64, "long": .i64, "int32": .i32, "int": .i32,
        "int16": .i16, "short": .i16, "int8": .i8, "uint8": .u8, "bool": .bool,
    ]

    /// Globals whose instances are plain data: placeholders, but not worth a warning.
    static let plainData: Set<String> = ["builtins.slice", "torch.device", "torch.serialization._get_layout"]

    let file: String
    let resolver: StorageResolver
    private(set) var warnings: [String] = []
    private var warned: Set<String> = []
    /// Storages by key, with the byte count their first persistent id declared.
    private var storages: [String: (storage: Storage, byteCount: Int)] = [:]

    init(file: String, resolver: @escaping StorageResolver) {
        self.file = file
        self.resolver = resolver
    }

    // MARK: Calls

    /// REDUCE, NEWOBJ and NEWOBJ_EX: `callee(*args, **kwargs)`. `nesting` counts
    /// `_rebuild_from_type_v2` calls wrapping this one.
    mutating func call(_ callee: PickleValue, _ args: [PickleValue], kwargs: PickleValue? = nil, at offset: Int, nesting: Int = 0) throws -> PickleValue {
        switch callee {
        case .global(let module, let name):
            let qualified = "\(module).\(name)"
            if GlobalPolicy.verdict(module: module, name: name) == .interpreted,
                let value = try interpret(qualified, args, kwargs: kwargs, at: offset, nesting: nesting)
            {
                return value
            }
            if !TorchPickle.plainData.contains(qualified) && warned.insert(qualified).inserted {
                warnings.append("ignored object \(qualified)")
            }
            return .object(PickleObject(module: module, name: name, args: args, kwargs: kwargs))
        case .object(let o):
            // Calling a placeholder (a class returned by something uninterpreted).
            return .object(PickleObject(module: o.module, name: o.name, args: args, kwargs: kwargs))
        default:
            throw bad("cannot call a \(callee.kind)", at: offset)
        }
    }

    /// The value of an interpreted global called with `args`; nil for one that has no
    /// meaning as a call (a dtype, a storage class), which then becomes a placeholder.
    private mutating func interpret(_ qualified: String, _ args: [PickleValue], kwargs: PickleValue?, at offset: Int, nesting: Int) throws -> PickleValue? {
        if let kwargs {
            guard case .dict(let d) = kwargs, d.count == 0 else {
                throw bad("\(qualified) called with keyword arguments", at: offset)
            }
        }
        switch qualified {
        case "torch._utils._rebuild_tensor":
            try expectCount(args, 4...4, qualified, at: offset)
            return try tensor(args, dtype: nil, metadata: nil, at: offset)
        case "torch._utils._rebuild_tensor_v2":
            try expectCount(args, 6...7, qualified, at: offset)
            return try tensor(args, dtype: nil, metadata: args.count == 7 ? args[6] : nil, at: offset)
        case "torch._utils._rebuild_tensor_v3":
            try expectCount(args, 7...8, qualified, at: offset)
            return try tensor(args, dtype: args[6], metadata: args.count == 8 ? args[7] : nil, at: offset)
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            // A Parameter is its tensor; requires_grad, hooks and Python state do not matter here.
            try expectCount(args, qualified.hasSuffix("state") ? 4...4 : 3...3, qualified, at: offset)
            return args[0]
        case "torch._tensor._rebuild_from_type_v2":
            // (func, type, args, state): the tensor is func(*args); the subclass type and its
            // Python state are dropped.
            try expectCount(args, 4...4, qualified, at: offset)
            guard let inner = args[2].asArray else { throw bad("\(qualified) arguments are not a tuple", at: offset) }
            // torch never nests these; a pickle that does could otherwise recurse without end.
            guard nesting < 4 else { throw bad("\(qualified) nested too deep", at: offset) }
            return try call(args[0], inner, at: offset, nesting: nesting + 1)
        case "collections.OrderedDict":
            return try orderedDict(args, at: offset)
        case "torch.Size":
            guard args.count <= 1 else { throw bad("torch.Size takes one argument", at: offset) }
            guard let dims = args.first?.asArray ?? (args.isEmpty ? [] : nil) else {
                throw bad("torch.Size of a \(args[0].kind)", at: offset)
            }
            return .tuple(PickleTuple(dims))
        case "builtins.set", "builtins.frozenset":
            guard args.count <= 1 else { throw bad("\(qualified) takes one argument", at: offset) }
            guard let items = args.first?.asArray ?? (args.isEmpty ? [] : nil) else {
                throw bad("\(qualified) of a \(args[0].kind)", at: offset)
            }
            return .set(PickleList(items))
        case "builtins.complex":
            guard args.count <= 2, let re = (args.first ?? .float(0)).asDouble, let im = (args.count == 2 ? args[1] : .float(0)).asDouble else {
                throw bad("complex arguments are not two numbers", at: offset)
            }
            return .complex(real: re, imag: im)
        case "builtins.bytearray":
            if args.isEmpty { return .bytes([]) }
            if args.count == 1, case .bytes(let b) = args[0] { return .bytes(b) }
            return try encode(args, qualified, at: offset)
        case "_codecs.encode":
            return try encode(args, qualified, at: offset)
        default:
            return nil
        }
    }

    /// `OrderedDict()` or `OrderedDict(pairs)`.
    private func orderedDict(_ args: [PickleValue], at offset: Int) throws -> PickleValue {
        let dict = PickleDict()
        guard let pairs = args.first else { return .dict(dict) }
        guard args.count == 1, let items = pairs.asArray else {
            throw bad("OrderedDict arguments are not a sequence of pairs", at: offset)
        }
        for item in items {
            guard let pair = item.asArray, pair.count == 2 else {
                throw bad("OrderedDict item is not a pair", at: offset)
            }
            guard dict.set(pair[1], for: pair[0]) else { throw bad("unhashable dict key (\(pair[0].kind))", at: offset) }
        }
        return .dict(dict)
    }

    /// How protocols 0-2 write bytes: `_codecs.encode(text, 'latin1')`, and
    /// `bytearray(text, 'latin-1')`.
    private func encode(_ args: [PickleValue], _ qualified: String, at offset: Int) throws -> PickleValue {
        guard (1...2).contains(args.count), let text = args[0].asString else {
            throw bad("\(qualified) expects a string and an encoding", at: offset)
        }
        let encoding = args.count == 2 ? (args[1].asString ?? "") : "utf-8"
        switch encoding.lowercased().filter({ $0 != "-" && $0 != "_" }) {
        case "latin1", "iso88591", "l1":
            var out: [UInt8] = []
            out.reserveCapacity(text.unicodeScalars.count)
            for scalar in text.unicodeScalars {
                guard scalar.value < 256 else { throw bad("\(qualified): text is not latin-1", at: offset) }
                out.append(UInt8(scalar.value))
            }
            return .bytes(out)
        case "utf8":
            return .bytes(Array(text.utf8))
        default:
            throw MoltError.unsupported("\(qualified) with encoding \(quoted(encoding)) at byte \(offset)", file: file)
        }
    }

    // MARK: Tensors

    /// `_rebuild_tensor*(storage, offset, size, stride, ...)`; `dtype` is v3's dtype argument.
    private func tensor(_ args: [PickleValue], dtype dtypeArg: PickleValue?, metadata: PickleValue?, at offset: Int) throws -> PickleValue {
        guard case .storage(let ref) = args[0] else { throw bad("tensor storage is a \(args[0].kind), not a storage", at: offset) }
        guard let storageOffset = args[1].asInt else { throw bad("tensor offset is not an int", at: offset) }
        let shape = try ints(args[2], "tensor size", at: offset)
        let strides = try ints(args[3], "tensor stride", at: offset)
        var dtype = ref.dtype ?? .u8
        if let dtypeArg {
            guard case .global(let module, let name) = dtypeArg, module == "torch" else {
                throw bad("tensor dtype is a \(dtypeArg.kind)", at: offset)
            }
            guard let d = TorchPickle.dtypes[name] else {
                throw MoltError.unsupported("tensor of dtype torch.\(name) at byte \(offset)", file: file)
            }
            dtype = d
        }
        if let metadata, case .dict(let flags) = metadata {
            // The neg bit means the stored values still have to be negated; conj is a no-op
            // for the real dtypes Molt has.
            if flags["neg"]?.asBool == true {
                throw MoltError.unsupported("tensor with the negative bit set (metadata {'neg': True}) at byte \(offset)", file: file)
            }
        }
        do {
            return .tensor(try Tensor(storage: ref.storage, dtype: dtype, shape: shape, strides: strides, offset: storageOffset))
        } catch let error as MoltError {
            throw MoltError(error.kind, "\(file): byte \(offset): tensor on storage \(quoted(ref.key)): \(error.message)")
        }
    }

    private func ints(_ value: PickleValue, _ what: String, at offset: Int) throws -> [Int] {
        guard let items = value.asArray else { throw bad("\(what) is a \(value.kind), not a tuple", at: offset) }
        return try items.map {
            guard let v = $0.asInt else { throw bad("\(what) holds a \($0.kind), not an int", at: offset) }
            return v
        }
    }

    // MARK: Persistent ids

    /// BINPERSID: `('storage', class, key, location, numel)` (zip format), the same with a
    /// sixth `view_metadata` that must be None (legacy format), or `('module', class, file,
    /// source)` which legacy whole-module saves use for their classes.
    mutating func persistentLoad(_ pid: PickleValue, at offset: Int) throws -> PickleValue {
        guard let fields = pid.asArray, let typename = fields.first.flatMap(TorchPickle.text) else {
            throw bad("persistent id \(pid) is not a ('storage', ...) tuple", at: offset)
        }
        if typename == "module", fields.count == 4 { return fields[1] }
        guard typename == "storage", fields.count == 5 || fields.count == 6 else {
            throw bad("unknown persistent id \(pid)", at: offset)
        }
        if fields.count == 6, case .none = fields[5] {} else if fields.count == 6 {
            throw MoltError.unsupported("storage view in persistent id \(pid) at byte \(offset)", file: file)
        }
        let dtype = try storageDType(fields[1], at: offset)
        guard let key = TorchPickle.text(fields[2]), let location = TorchPickle.text(fields[3]) else {
            throw bad("storage key or location in \(pid) is not a string", at: offset)
        }
        guard let numel = fields[4].asInt, numel >= 0 else { throw bad("storage numel in \(pid) is not a count", at: offset) }
        let (byteCount, overflow) = numel.multipliedReportingOverflow(by: dtype?.size ?? 1)
        guard !overflow else { throw bad("storage \(quoted(key)) size \(numel) overflows", at: offset) }

        let storage: Storage
        if let cached = storages[key] {
            guard cached.byteCount == byteCount else {
                throw bad("storage \(quoted(key)) is declared as \(cached.byteCount) bytes and as \(byteCount) bytes", at: offset)
            }
            storage = cached.storage
        } else {
            storage = try resolver(StorageRequest(key: key, dtype: dtype, byteCount: byteCount, location: location))
            guard storage.count == byteCount else {
                throw bad("storage \(quoted(key)) holds \(storage.count) bytes but its persistent id declares \(byteCount)", at: offset)
            }
            storages[key] = (storage, byteCount)
        }
        return .storage(StorageRef(key: key, storage: storage, dtype: dtype, location: location))
    }

    /// The dtype of a storage class global; nil for UntypedStorage.
    private func storageDType(_ value: PickleValue, at offset: Int) throws -> DType? {
        guard case .global(let module, let name) = value else {
            throw bad("storage type is a \(value.kind), not a storage class", at: offset)
        }
        if name == "UntypedStorage" && (module == "torch" || module == "torch.storage") { return nil }
        if module == "torch" || module == "torch.cuda", let dtype = TorchPickle.storageClasses[name] { return dtype }
        throw MoltError.unsupported("storage type \(module).\(name) at byte \(offset)", file: file)
    }

    /// Python 2 pickles loaded without an encoding give ASCII bytes where torch meant text.
    private static func text(_ value: PickleValue) -> String? {
        switch value {
        case .string(let s): s
        case .bytes(let b) where b.allSatisfy({ $0 < 0x80 }): String(decoding: b, as: UTF8.self)
        default: nil
        }
    }

    // MARK: Helpers

    private func expectCount(_ args: [PickleValue], _ range: ClosedRange<Int>, _ qualified: String, at offset: Int) throws {
        guard range.contains(args.count) else {
            throw bad("\(qualified) takes \(range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)") arguments, got \(args.count)", at: offset)
        }
    }

    private func bad(_ message: String, at offset: Int) -> MoltError {
        MoltError.badInput(message, file: file, offset: offset)
    }
}
