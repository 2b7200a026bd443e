/// A tuple. A class (not a bare array) so the memo can share it and teardown can tell when it
/// holds the last reference.
public final class PickleTuple {
    public private(set) var items: [PickleValue]

    init(_ items: [PickleValue]) { self.items = items }

    public var count: Int { items.count }

    deinit { Teardown.release(&items) }

    fileprivate func takeItems() -> [PickleValue] {
        let taken = items
        items = []
        return taken
    }
}

/// A list (or set): mutated by APPEND/APPENDS/ADDITEMS after it was memoized.
public final class PickleList {
    public internal(set) var items: [PickleValue]

    init(_ items: [PickleValue] = []) { self.items = items }

    public var count: Int { items.count }

    deinit { Teardown.release(&items) }

    fileprivate func takeItems() -> [PickleValue] {
        let taken = items
        items = []
        return taken
    }
}

/// A dict in insertion order. Keys are hashable pickle values: strings, numbers, bytes,
/// None, globals, placeholder objects (by identity) and tuples of those.
public final class PickleDict {
    public private(set) var keys: [PickleValue] = []
    public private(set) var values: [PickleValue] = []
    private var index: [PickleKey: Int] = [:]

    init() {}

    public var count: Int { keys.count }

    /// (key, value) pairs in insertion order.
    public var entries: [(key: PickleValue, value: PickleValue)] { Array(zip(keys, values)) }

    public subscript(key: String) -> PickleValue? {
        index[.string(key)].map { values[$0] }
    }

    public subscript(key: PickleValue) -> PickleValue? {
        guard let k = PickleKey(key) else { return nil }
        return index[k].map { values[$0] }
    }

    /// Python's `d[key] = value`: a key already present keeps its place. Returns false when
    /// the key is unhashable (a list, dict, set, tensor) or too large to hash.
    func set(_ value: PickleValue, for key: PickleValue) -> Bool {
        guard let k = PickleKey(key) else { return false }
        if let i = index[k] {
            values[i] = value
        } else {
            index[k] = keys.count
            keys.append(key)
            values.append(value)
        }
        return true
    }

    deinit {
        Teardown.release(&keys)
        Teardown.release(&values)
    }

    fileprivate func takeItems() -> [PickleValue] {
        let taken = keys + values
        keys = []
        values = []
        index = [:]
        return taken
    }
}

/// An instance of a class the reader does not interpret (argparse.Namespace, numpy arrays,
/// enums, Megatron classes). Nothing is ever called: the placeholder only records what the
/// pickle said about it.
public final class PickleObject {
    /// The global it was made from (for a placeholder called again, the first one's global).
    public let module: String
    public let name: String
    /// Arguments of the REDUCE/NEWOBJ that made it.
    public internal(set) var args: [PickleValue]
    /// Keyword arguments of NEWOBJ_EX.
    public internal(set) var kwargs: PickleValue?
    /// What BUILD set: usually a dict of attributes, or a (dict, slots) tuple.
    public internal(set) var state: PickleValue?
    /// Items APPENDed or ADDed to it (a list or set subclass).
    public internal(set) var items: [PickleValue] = []
    /// Entries SETITEM put in it (a dict subclass such as defaultdict).
    public internal(set) var entries: PickleDict?

    init(module: String, name: String, args: [PickleValue], kwargs: PickleValue? = nil) {
        self.module = module
        self.name = name
        self.args = args
        self.kwargs = kwargs
    }

    /// An attribute from the BUILD state, else an entry set on a dict subclass.
    public subscript(key: String) -> PickleValue? {
        switch state {
        case .dict(let d)?:
            if let v = d[key] { return v }
        case .tuple(let t)? where t.count == 2:
            if case .dict(let d) = t.items[0], let v = d[key] { return v }
            if case .dict(let d) = t.items[1], let v = d[key] { return v }
        default:
            break
        }
        return entries?[key]
    }

    deinit {
        var all = takeItems()
        Teardown.release(&all)
    }

    fileprivate func takeItems() -> [PickleValue] {
        var taken = args + items
        if let kwargs { taken.append(kwargs) }
        if let state { taken.append(state) }
        if let entries { taken.append(.dict(entries)) }
        args = []
        items = []
        kwargs = nil
        state = nil
        entries = nil
        return taken
    }
}

/// Releases nested containers with a loop instead of recursion: a pickle of a few MB can nest
/// containers millions deep, and releasing them recursively would overflow the stack.
enum Teardown {
    static func release(_ values: inout [PickleValue]) {
        guard values.contains(where: { $0.container != nil }) else { return }
        var pending = values
        values = []
        while !pending.isEmpty {
            // The popped value is a temporary gone by the next statement, so the container is
            // unique exactly when nothing else refers to it. Emptying it first leaves its own
            // deinit nothing to recurse into.
            guard var container = pending.removeLast().container, isKnownUniquelyReferenced(&container) else { continue }
            switch container {
            case let t as PickleTuple: pending.append(contentsOf: t.takeItems())
            case let l as PickleList: pending.append(contentsOf: l.takeItems())
            case let d as PickleDict: pending.append(contentsOf: d.takeItems())
            case let o as PickleObject: pending.append(contentsOf: o.takeItems())
            default: break
            }
        }
    }
}

extension PickleValue {
    fileprivate var container: AnyObject? {
        switch self {
        case .tuple(let t): t
        case .list(let l), .set(let l): l
        case .dict(let d): d
        case .object(let o): o
        default: nil
        }
    }
}

/// The hashable form of a dict key, with Python's equalities (True == 1 == 1.0).
enum PickleKey: Hashable {
    case none
    case int(Int64)
    case bigInt([UInt8])
    case float(Double)
    case complex(Double, Double)
    case string(String)
    case bytes([UInt8])
    case global(String, String)
    case identity(ObjectIdentifier)
    indirect case tuple([PickleKey])

    /// Tuple keys are bounded so hashing a memo-shared tuple cannot take exponential time.
    static let maxNodes = 1_000
    static let maxDepth = 32

    init?(_ value: PickleValue) {
        var nodes = 0
        self.init(value, nodes: &nodes, depth: 0)
    }

    private init?(_ value: PickleValue, nodes: inout Int, depth: Int) {
        nodes += 1
        guard nodes <= PickleKey.maxNodes, depth <= PickleKey.maxDepth else { return nil }
        switch value {
        case .none: self = .none
        case .bool(let b): self = .int(b ? 1 : 0)
        case .int(let v): self = .int(v)
        case .bigInt(let b): self = .bigInt(b)
        case .float(let d):
            if let v = Int64(exactly: d) { self = .int(v) } else { self = .float(d) }
        case .complex(let re, let im):
            if im != 0 { self = .complex(re, im) } else if let v = Int64(exactly: re) { self = .int(v) } else { self = .float(re) }
        case .string(let s): self = .string(s)
        case .bytes(let b): self = .bytes(b)
        case .global(let module, let name): self = .global(module, name)
        case .object(let o): self = .identity(ObjectIdentifier(o))
        case .tuple(let t):
            var parts: [PickleKey] = []
            parts.reserveCapacity(t.count)
            for item in t.items {
                guard let k = PickleKey(item, nodes: &nodes, depth: depth + 1) else { return nil }
                parts.append(k)
            }
            self = .tuple(parts)
        case .list, .set, .dict, .tensor, .storage:
            return nil
        }
    }
}
