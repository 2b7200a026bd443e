import MoltCore

/// What a pickle describes, built without running any of it. Containers are classes because
/// the memo shares references: a value memoized once and fetched a million times is stored
/// once, and APPEND/SETITEM mutate containers after they were memoized.
public enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    /// An integer outside Int64: minimal little-endian two's complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case complex(real: Double, imag: Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    /// A set or frozenset; elements in pickle order.
    case set(PickleList)
    case dict(PickleDict)
    /// A global named by the pickle and not called (yet): a class, function or dtype.
    indirect case global(module: String, name: String)
    /// An inert placeholder for an instance the reader does not interpret.
    case object(PickleObject)
    indirect case tensor(Tensor)
    indirect case storage(StorageRef)

    /// The global's dotted name, e.g. "torch.bfloat16".
    public var globalName: String? {
        if case .global(let module, let name) = self { return "\(module).\(name)" }
        return nil
    }

    public var asString: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var asInt: Int? {
        if case .int(let v) = self { return Int(exactly: v) }
        return nil
    }

    public var asBool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// Floats and integers as Double (integers may round).
    public var asDouble: Double? {
        switch self {
        case .float(let d): d
        case .int(let v): Double(v)
        default: nil
        }
    }

    public var asBytes: [UInt8]? {
        if case .bytes(let b) = self { return b }
        return nil
    }

    /// The elements of a tuple or list.
    public var asArray: [PickleValue]? {
        switch self {
        case .tuple(let t): t.items
        case .list(let l): l.items
        default: nil
        }
    }

    public var asDict: PickleDict? {
        if case .dict(let d) = self { return d }
        return nil
    }

    public var asObject: PickleObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var asTensor: Tensor? {
        if case .tensor(let t) = self { return t }
        return nil
    }

    /// A dict's entry, or a placeholder object's attribute (the state BUILD gave it, like an
    /// argparse.Namespace's fields) or item.
    public subscript(key: String) -> PickleValue? {
        switch self {
        case .dict(let d): d[key]
        case .object(let o): o[key]
        default: nil
        }
    }

    /// The kind of value, for error messages.
    public var kind: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int, .bigInt: "int"
        case .float: "float"
        case .complex: "complex"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .set: "set"
        case .dict: "dict"
        case .global(let module, let name): "global \(module).\(name)"
        case .object(let o): "object \(o.module).\(o.name)"
        case .tensor: "tensor"
        case .storage: "storage"
        }
    }
}

extension PickleValue: CustomStringConvertible {
    /// A Python-like rendering, cut off at a fixed depth and length so shared or
    /// self-referencing values (which the memo makes cheap to build) print in bounded time.
    public var description: String {
        var out = ""
        var budget = 400
        describe(into: &out, depth: 0, budget: &budget)
        return out
    }

    private func describe(into out: inout String, depth: Int, budget: inout Int) {
        budget -= 1
        if budget < 0 || depth > 8 {
            out += "…"
            return
        }
        func sequence(_ open: String, _ items: [PickleValue], _ close: String) {
            out += open
            for (i, item) in items.enumerated() {
                if i > 0 { out += ", " }
                if budget <= 0 {
                    out += "…"
                    break
                }
                item.describe(into: &out, depth: depth + 1, budget: &budget)
            }
            out += close
        }
        switch self {
        case .none: out += "None"
        case .bool(let b): out += b ? "True" : "False"
        case .int(let v): out += String(v)
        case .bigInt(let bytes): out += "int(0x\(bytes.reversed().hexString))"
        case .float(let d): out += String(d)
        case .complex(let re, let im): out += "complex(\(re), \(im))"
        case .string(let s): out += "\(quoted(s.count > 80 ? String(s.prefix(80)) + "…" : s))"
        case .bytes(let b): out += "b<\(b.count) bytes>"
        case .tuple(let t): sequence("(", t.items, t.items.count == 1 ? ",)" : ")")
        case .list(let l): sequence("[", l.items, "]")
        case .set(let l): sequence("{", l.items, "}")
        case .dict(let d):
            out += "{"
            for (i, (key, value)) in zip(d.keys, d.values).enumerated() {
                if i > 0 { out += ", " }
                if budget <= 0 {
                    out += "…"
                    break
                }
                key.describe(into: &out, depth: depth + 1, budget: &budget)
                out += ": "
                value.describe(into: &out, depth: depth + 1, budget: &budget)
            }
            out += "}"
        case .global(let module, let name): out += "\(module).\(name)"
        case .object(let o):
            out += "\(o.module).\(o.name)"
            sequence("(", o.args, ")")
            if let state = o.state {
                out += " state="
                state.describe(into: &out, depth: depth + 1, budget: &budget)
            }
        case .tensor(let t): out += "tensor(\(t.dtype.rawValue), \(t.shape))"
        case .storage(let s): out += "storage(\(quoted(s.key)), \(s.dtype?.rawValue ?? "untyped"), \(s.storage.count) bytes)"
        }
    }
}
