import MoltCore

/// Reads a pickle into `PickleValue`s without ever running it: a stack machine for protocols
/// 0 to 5 in which globals are refused, interpreted (`TorchPickle`) or turned into inert
/// placeholders, and every resource a pickle could exhaust is bounded by `PickleLimits`.
public struct PickleMachine {
    /// The name errors give the pickle's bytes (a path, or `archive.pt:archive/data.pkl`).
    public let file: String
    public let limits: PickleLimits
    private var torch: TorchPickle

    /// One line per placeholder global called ("ignored object argparse.Namespace"), each
    /// once, across every `load` of this machine.
    public var warnings: [String] { torch.warnings }

    /// `storages` supplies the bytes of the storages persistent ids name; without it, a
    /// persistent id is an error. Storages are cached by key across loads.
    public init(file: String, limits: PickleLimits = PickleLimits(), storages: StorageResolver? = nil) {
        self.file = file
        self.limits = limits
        let resolver = storages ?? { request in
            throw MoltError.badInput("a persistent id names storage \(quoted(request.key)) where none are expected", file: file)
        }
        torch = TorchPickle(file: file, resolver: resolver)
    }

    /// Runs the pickle starting at `start` up to its STOP and returns its value and the offset
    /// just past STOP. With `requireEnd`, bytes after STOP are an error; without it, the
    /// caller can read another pickle from `end` (the legacy format has five in a row).
    /// Offsets in errors count from the start of `bytes`.
    public mutating func load(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, requireEnd: Bool = true) throws -> (value: PickleValue, end: Int) {
        guard (0...bytes.count).contains(start) else {
            throw MoltError.badInput("truncated: no pickle at byte \(start) of \(bytes.count)", file: file)
        }
        var run = PickleRun(bytes: bytes, position: start, file: file, limits: limits)
        let value = try run.execute(&torch)
        if requireEnd && run.position != bytes.count {
            throw MoltError.badInput("\(bytes.count - run.position) bytes after STOP", file: file, offset: run.position)
        }
        return (value, run.position)
    }

    /// Runs a whole pickle held in an array.
    public mutating func load(_ bytes: [UInt8]) throws -> PickleValue {
        try bytes.withUnsafeBytes { try load($0).value }
    }
}

/// The state of one pickle being read: Python's unpickler keeps a fresh memo per load.
private struct PickleRun {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    let file: String
    let limits: PickleLimits

    /// Where the current opcode starts, for errors.
    private var opStart = 0
    private var op = PickleOpcode.stop
    private var stack: [PickleValue] = []
    /// Stack heights at each open MARK. As in Python 3, opcodes only reach the values above
    /// the innermost MARK.
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var created = 0

    init(bytes: UnsafeRawBufferPointer, position: Int, file: String, limits: PickleLimits) {
        self.bytes = bytes
        self.position = position
        self.file = file
        self.limits = limits
    }

    mutating func execute(_ torch: inout TorchPickle) throws -> PickleValue {
        while position < bytes.count {
            opStart = position
            let byte = bytes[position]
            position += 1
            guard let op = PickleOpcode(rawValue: byte) else {
                throw bad("unknown opcode 0x\(String(byte, radix: 16, uppercase: true))")
            }
            self.op = op
            switch op {
            case .stop:
                return try pop()
            case .proto:
                let version = try u8()
                guard version <= 5 else {
                    throw MoltError.unsupported("pickle protocol \(version) at byte \(opStart)", file: file)
                }
            case .frame:
                // Frames only group opcodes for buffered reading; the length must still fit.
                let length = try u64()
                guard length <= UInt64(bytes.count - position) else {
                    throw bad("truncated: FRAME of \(length) bytes, \(bytes.count - position) left")
                }

            // Refused opcodes: calls by protocol 0/1 and lookups in the extension registry.
            case .inst, .obj, .ext1, .ext2, .ext4:
                throw bad("refused opcode \(op.name)")
            case .nextBuffer, .readonlyBuffer:
                throw MoltError.unsupported("out-of-band buffers (\(op.name)) at byte \(opStart)", file: file)
            case .persID:
                throw MoltError.unsupported("text persistent ids (PERSID) at byte \(opStart)", file: file)

            // Stack and memo.
            case .mark:
                guard marks.count < limits.maxMarkDepth else {
                    throw bad("MARKs nested too deep (more than \(limits.maxMarkDepth))")
                }
                marks.append(stack.count)
            case .pop:
                if stack.count > segmentStart {
                    stack.removeLast()
                } else if !marks.isEmpty {
                    marks.removeLast()
                } else {
                    throw bad("stack underflow")
                }
            case .popMark:
                _ = try popMark()
            case .dup:
                try push(try top())
            case .put:
                try put(try textIndex())
            case .binPut:
                try put(Int(try u8()))
            case .longBinPut:
                try put(Int(try u32()))
            case .memoize:
                try put(memo.count)
            case .get:
                try get(try textIndex())
            case .binGet:
                try get(Int(try u8()))
            case .longBinGet:
                try get(Int(try u32()))

            // Scalars.
            case .none:
                try push(.none)
            case .newTrue:
                try push(.bool(true))
            case .newFalse:
                try push(.bool(false))
            case .binInt:
                try push(.int(Int64(Int32(bitPattern: try u32()))))
            case .binInt1:
                try push(.int(Int64(try u8())))
            case .binInt2:
                try push(.int(Int64(try u16())))
            case .long1:
                try push(PickleRun.long(try take(Int(try u8()))))
            case .long4:
                let length = Int32(bitPattern: try u32())
                guard length >= 0 else { throw bad("LONG4 with negative length \(length)") }
                try push(PickleRun.long(try take(Int(length))))
            case .int:
                let text = try line()
                if text == "00" || text == "01" {
                    try push(.bool(text == "01"))
                } else {
                    try push(.int(try textInteger(text)))
                }
            case .long:
                let text = try line()
                try push(.int(try textInteger(text.hasSuffix("L") ? String(text.dropLast()) : text)))
            case .binFloat:
                try push(.float(Double(bitPattern: UInt64(bigEndian: try load(UInt64.self)))))
            case .float:
                let text = try line()
                guard let value = Double(text) else { throw bad("FLOAT \(quoted(text.prefix(40))) is not a number") }
                try push(.float(value))

            // Text and bytes.
            case .binUnicode:
                try push(.string(try utf8(try take(Int(try u32())))))
            case .shortBinUnicode:
                try push(.string(try utf8(try take(Int(try u8())))))
            case .binUnicode8:
                try push(.string(try utf8(try take(try length64()))))
            case .unicode:
                let raw = try rawLine()
                guard let text = PickleText.rawUnicodeEscape(raw[...]) else { throw bad("malformed UNICODE argument") }
                try push(.string(text))
            case .binString:
                let length = Int32(bitPattern: try u32())
                guard length >= 0 else { throw bad("BINSTRING with negative length \(length)") }
                try push(PickleRun.python2String(Array(try take(Int(length)))))
            case .shortBinString:
                try push(PickleRun.python2String(Array(try take(Int(try u8())))))
            case .string:
                let raw = try rawLine()
                guard raw.count >= 2, let quote = raw.first, quote == raw.last,
                    quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"")
                else { throw bad("STRING argument is not quoted") }
                guard let decoded = PickleText.escapeDecode(raw[1..<raw.count - 1]) else {
                    throw bad("malformed escape in STRING argument")
                }
                try push(PickleRun.python2String(decoded))
            case .binBytes:
                try push(.bytes(Array(try take(Int(try u32())))))
            case .shortBinBytes:
                try push(.bytes(Array(try take(Int(try u8())))))
            case .binBytes8, .byteArray8:
                try push(.bytes(Array(try take(try length64()))))

            // Containers.
            case .emptyTuple:
                try push(.tuple(PickleTuple([])))
            case .tuple1, .tuple2, .tuple3:
                let n = Int(op.rawValue - PickleOpcode.tuple1.rawValue) + 1
                guard stack.count - segmentStart >= n else { throw bad("stack underflow") }
                let items = Array(stack[(stack.count - n)...])
                stack.removeLast(n)
                try push(.tuple(PickleTuple(items)))
            case .tuple:
                try push(.tuple(PickleTuple(try popMark())))
            case .emptyList:
                try push(.list(PickleList()))
            case .list:
                try push(.list(PickleList(try popMark())))
            case .emptySet:
                try push(.set(PickleList()))
            case .frozenSet:
                try push(.set(PickleList(try popMark())))
            case .emptyDict:
                try push(.dict(PickleDict()))
            case .dict:
                let dict = PickleDict()
                try setItems(try popMark(), in: .dict(dict))
                try push(.dict(dict))
            case .append:
                let value = try pop()
                try append([value], to: try top())
            case .appends, .addItems:
                let items = try popMark()
                try append(items, to: try top())
            case .setItem:
                let value = try pop()
                let key = try pop()
                try setItems([key, value], in: try top())
            case .setItems:
                let items = try popMark()
                try setItems(items, in: try top())

            // Globals, calls and persistent ids.
            case .global:
                let module = try line()
                let name = try line()
                try pushGlobal(module: module, name: name)
            case .stackGlobal:
                let name = try pop()
                let module = try pop()
                guard let m = module.asString, let n = name.asString else {
                    throw bad("STACK_GLOBAL of a \(module.kind) and a \(name.kind), not two strings")
                }
                try pushGlobal(module: m, name: n)
            case .reduce:
                let args = try pop()
                let callee = try pop()
                guard case .tuple(let t) = args else { throw bad("REDUCE arguments are a \(args.kind), not a tuple") }
                try push(try torch.call(callee, t.items, at: opStart))
            case .newObj:
                let args = try pop()
                let cls = try pop()
                guard case .tuple(let t) = args else { throw bad("NEWOBJ arguments are a \(args.kind), not a tuple") }
                try push(try torch.call(cls, t.items, at: opStart))
            case .newObjEx:
                let kwargs = try pop()
                let args = try pop()
                let cls = try pop()
                guard case .tuple(let t) = args else { throw bad("NEWOBJ_EX arguments are a \(args.kind), not a tuple") }
                try push(try torch.call(cls, t.items, kwargs: kwargs, at: opStart))
            case .build:
                let state = try pop()
                try build(try top(), state: state)
            case .binPersID:
                let pid = try pop()
                try push(try torch.persistentLoad(pid, at: opStart))
            }
        }
        throw bad("truncated: the pickle ends before STOP")
    }

    // MARK: Stack

    private var segmentStart: Int { marks.last ?? 0 }

    private mutating func push(_ value: PickleValue) throws {
        guard stack.count < limits.maxStackSize else {
            throw bad("stack too deep (more than \(limits.maxStackSize) values)")
        }
        created += 1
        guard created <= limits.maxObjects else { throw bad("too many objects (more than \(limits.maxObjects))") }
        stack.append(value)
    }

    private mutating func pop() throws -> PickleValue {
        guard stack.count > segmentStart, let value = stack.popLast() else { throw bad("stack underflow") }
        return value
    }

    private func top() throws -> PickleValue {
        guard stack.count > segmentStart, let value = stack.last else { throw bad("stack underflow") }
        return value
    }

    /// The values above the innermost MARK, which is closed.
    private mutating func popMark() throws -> [PickleValue] {
        guard let start = marks.popLast() else { throw bad("\(op.name) without a MARK") }
        let items = Array(stack[start...])
        stack.removeSubrange(start...)
        return items
    }

    private mutating func put(_ index: Int) throws {
        let value = try top()
        guard memo[index] != nil || memo.count < limits.maxMemoEntries else {
            throw bad("memo too large (more than \(limits.maxMemoEntries) entries)")
        }
        memo[index] = value
    }

    private mutating func get(_ index: Int) throws {
        guard let value = memo[index] else { throw bad("memo has no entry \(index)") }
        try push(value)
    }

    // MARK: Containers and objects

    private func append(_ items: [PickleValue], to target: PickleValue) throws {
        switch (op, target) {
        case (.append, .list(let l)), (.appends, .list(let l)), (.addItems, .set(let l)):
            l.items.append(contentsOf: items)
        case (_, .object(let o)):
            o.items.append(contentsOf: items)
        default:
            throw bad("\(op.name) to a \(target.kind)")
        }
    }

    private func setItems(_ items: [PickleValue], in target: PickleValue) throws {
        guard items.count % 2 == 0 else { throw bad("\(op.name) with an odd number of values") }
        let dict: PickleDict
        switch target {
        case .dict(let d):
            dict = d
        case .object(let o):
            dict = o.entries ?? PickleDict()
            o.entries = dict
        default:
            throw bad("\(op.name) on a \(target.kind)")
        }
        for i in stride(from: 0, to: items.count, by: 2) where !dict.set(items[i + 1], for: items[i]) {
            throw bad("unhashable or oversized dict key (\(items[i].kind))")
        }
    }

    /// BUILD sets a placeholder's state. On a dict (an OrderedDict's `_metadata`) or a tensor
    /// (Python attributes of a Parameter) the state carries nothing Molt uses.
    private func build(_ target: PickleValue, state: PickleValue) throws {
        switch target {
        case .object(let o): o.state = state
        case .dict, .tensor: break
        default: throw bad("BUILD on a \(target.kind)")
        }
    }

    private mutating func pushGlobal(module written: String, name writtenName: String) throws {
        // Real module and attribute names are short; this also bounds the work of checking them.
        guard written.utf8.count <= 1024, writtenName.utf8.count <= 1024 else { throw bad("global name longer than 1024 bytes") }
        let (module, name) = GlobalPolicy.normalize(module: written, name: writtenName)
        if GlobalPolicy.verdict(module: module, name: name) == .refused {
            let spelled = (module, name) == (written, writtenName) ? "" : " (written \(written).\(writtenName))"
            throw bad("refused global \(module).\(name)\(spelled)")
        }
        try push(.global(module: module, name: name))
    }

    // MARK: Reading

    private mutating func take(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count <= bytes.count - position else {
            throw bad("truncated: \(op.name) needs \(count) bytes, \(bytes.count - position) left")
        }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
    }

    private mutating func load<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let raw = try take(MemoryLayout<T>.size)
        return raw.loadUnaligned(as: T.self)
    }

    private mutating func u8() throws -> UInt8 { try load(UInt8.self) }
    private mutating func u16() throws -> UInt16 { UInt16(littleEndian: try load(UInt16.self)) }
    private mutating func u32() throws -> UInt32 { UInt32(littleEndian: try load(UInt32.self)) }
    private mutating func u64() throws -> UInt64 { UInt64(littleEndian: try load(UInt64.self)) }

    /// An 8-byte length, which must fit in what is left.
    private mutating func length64() throws -> Int {
        let length = try u64()
        guard length <= UInt64(bytes.count - position) else {
            throw bad("truncated: \(op.name) needs \(length) bytes, \(bytes.count - position) left")
        }
        return Int(length)
    }

    /// The bytes up to the next newline, which is consumed.
    private mutating func rawLine() throws -> [UInt8] {
        guard let newline = bytes[position...].firstIndex(of: UInt8(ascii: "\n")) else {
            throw bad("truncated: \(op.name) argument has no newline")
        }
        defer { position = newline + 1 }
        return Array(bytes[position..<newline])
    }

    private mutating func line() throws -> String {
        let raw = try rawLine()
        guard let text = String(validating: raw, as: UTF8.self) else { throw bad("\(op.name) argument is not UTF-8") }
        return text
    }

    private mutating func textIndex() throws -> Int {
        let text = try line()
        guard let index = Int(text), index >= 0 else { throw bad("\(op.name) index \(quoted(text.prefix(40))) is not a memo index") }
        return index
    }

    private func textInteger(_ text: String) throws -> Int64 {
        guard let parsed = PickleText.integer(text) else { throw bad("\(op.name) \(quoted(text.prefix(40))) is not an integer") }
        guard parsed.fits else {
            throw MoltError.unsupported("\(op.name) integer beyond 64 bits at byte \(opStart)", file: file)
        }
        return parsed.value
    }

    private func utf8(_ raw: UnsafeRawBufferPointer) throws -> String {
        guard let text = String(validating: raw, as: UTF8.self) else { throw bad("\(op.name) string is not valid UTF-8") }
        return text
    }

    /// A Python 2 `str`: text when it is UTF-8 (torch loads with encoding='utf-8'), bytes
    /// otherwise.
    private static func python2String(_ raw: [UInt8]) -> PickleValue {
        if let text = String(validating: raw, as: UTF8.self) { return .string(text) }
        return .bytes(raw)
    }

    /// LONG1/LONG4: little-endian two's complement, as Int64 when it fits.
    private static func long(_ raw: UnsafeRawBufferPointer) -> PickleValue {
        var bytes = Array(raw)
        guard let last = bytes.last else { return .int(0) }
        let fill: UInt8 = last & 0x80 == 0 ? 0x00 : 0xFF
        // Drop redundant sign bytes so equal numbers have equal bytes.
        while bytes.count > 1, bytes[bytes.count - 1] == fill, (bytes[bytes.count - 2] & 0x80 == 0) == (fill == 0) {
            bytes.removeLast()
        }
        guard bytes.count <= 8 else { return .bigInt(bytes) }
        var value: UInt64 = fill == 0 ? 0 : ~0
        for (i, byte) in bytes.enumerated() {
            value &= ~(UInt64(0xFF) << (8 * i))
            value |= UInt64(byte) << (8 * i)
        }
        return .int(Int64(bitPattern: value))
    }

    private func bad(_ message: String) -> MoltError {
        MoltError.badInput(message, file: file, offset: opStart)
    }
}
