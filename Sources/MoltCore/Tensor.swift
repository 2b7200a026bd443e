/// A strided view of a storage, as torch describes tensors: element offset, shape and
/// strides (both in elements). Contiguous tensors are read in place; others are copied only
/// when asked for contiguous bytes.
public struct Tensor: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    public let strides: [Int]
    public let offset: Int
    public let storage: Storage
    /// Number of elements.
    public let count: Int

    /// Overlapping views (stride 0, as `expand` makes) may hold more bytes than their storage,
    /// up to this much: making one contiguous copies that many bytes.
    public static let maxExpandedBytes = 64 << 20

    /// Validates that every element the view reaches lies inside `storage`. Shape, strides and
    /// offset come from untrusted files, so all of their arithmetic is overflow-checked, and a
    /// view may hold more bytes than its storage only up to `maxExpandedBytes` (a stride-0 view
    /// of 2^40 elements over a few bytes would make copying it unbounded).
    public init(storage: Storage, dtype: DType, shape: [Int], strides: [Int]? = nil, offset: Int = 0) throws {
        func fail(_ problem: String) -> MoltError {
            MoltError.badInput("view (offset \(offset), shape \(shape), strides \(strides.map { "\($0)" } ?? "contiguous")) of \(dtype.rawValue) \(problem)")
        }
        let count = try Checked.multiply(shape, what: "shape \(shape)")
        let (byteCount, countOverflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !countOverflow, byteCount <= max(storage.count, Tensor.maxExpandedBytes) else {
            throw fail(
                "holds \(countOverflow ? "more than Int.max" : String(byteCount)) bytes, more than its storage (\(storage.count)) "
                    + "and the \(Tensor.maxExpandedBytes) an overlapping view may hold")
        }
        let strides = strides ?? Tensor.contiguousStrides(shape)
        guard strides.count == shape.count else { throw fail("differs in rank between shape and strides") }
        guard offset >= 0, strides.allSatisfy({ $0 >= 0 }) else { throw fail("has a negative offset or stride") }
        // Even an empty view's offset must lie in the storage: readers form a pointer from it.
        let (offsetBytes, offsetOverflow) = offset.multipliedReportingOverflow(by: dtype.size)
        guard !offsetOverflow, offsetBytes <= storage.count else {
            throw fail("starts past the end of its storage (\(storage.count) bytes)")
        }
        if count > 0 {
            // The furthest element is offset + sum((dim - 1) * stride); it must fit the storage.
            var last = offset
            for (dim, stride) in zip(shape, strides) {
                let (step, o1) = (dim - 1).multipliedReportingOverflow(by: stride)
                let (sum, o2) = last.addingReportingOverflow(step)
                guard !o1, !o2 else { throw fail("reaches past Int.max") }
                last = sum
            }
            let (end, o3) = last.multipliedReportingOverflow(by: dtype.size)
            let (endBytes, o4) = end.addingReportingOverflow(dtype.size)
            guard !o3, !o4, endBytes <= storage.count else {
                throw fail("needs \(o3 || o4 ? "more than Int.max" : String(endBytes)) bytes but its storage holds \(storage.count)")
            }
        }
        self.storage = storage
        self.dtype = dtype
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.count = count
    }

    /// Row-major strides. Wrapping arithmetic: it can only wrap when a dimension is zero, and
    /// then no element is ever reached through them.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = running
            running &*= max(shape[i], 1)
        }
        return strides
    }

    public var byteCount: Int { count * dtype.size }

    /// True when the elements are laid out densely in row-major order from `offset`.
    public var isContiguous: Bool {
        if count <= 1 { return true }
        var expected = 1
        for (dim, stride) in zip(shape, strides).reversed() where dim != 1 {
            if stride != expected { return false }
            expected *= dim
        }
        return true
    }

    /// The tensor's bytes in row-major order: in place when contiguous, copied otherwise.
    public func withContiguousBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if isContiguous {
            let start = offset * dtype.size
            return try withExtendedLifetime(storage) {
                try body(UnsafeRawBufferPointer(rebasing: storage.bytes[start..<start + byteCount]))
            }
        }
        // Keep the copy alive while `body` reads it: its storage frees the memory on deinit.
        let copy = contiguous()
        return try withExtendedLifetime(copy.storage) { try body(copy.storage.bytes) }
    }

    /// A contiguous tensor with the same values: `self` when already contiguous.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        let size = dtype.size
        let copy = Storage(byteCount: byteCount) { out in
            guard let dst = out.baseAddress, let src = storage.bytes.baseAddress else { return }
            var index = [Int](repeating: 0, count: shape.count)
            for i in 0..<count {
                var element = offset
                for d in 0..<shape.count { element += index[d] * strides[d] }
                (dst + i * size).copyMemory(from: src + element * size, byteCount: size)
                // Advance the multi-index like an odometer.
                var d = shape.count - 1
                while d >= 0 {
                    index[d] += 1
                    if index[d] < shape[d] { break }
                    index[d] = 0
                    d -= 1
                }
            }
        }
        // The copy is exactly `byteCount` bytes of a dense layout, so this cannot fail.
        return try! Tensor(storage: copy, dtype: dtype, shape: shape)
    }
}
