import CMoltKernels
import MoltCore
import MoltQuant

/// A [rows, columns] weight matrix read in place, in one of the layouts of Formats/molt.md:
/// f32, f16, bf16 rows, or q8/q4 rows (values, f16 scales, f16 minimums). `y = W x` runs along
/// `columns`.
public struct WeightMatrix: @unchecked Sendable {
    public let element: MoltTensorType
    public let rows: Int
    public let columns: Int
    /// G for q8/q4, 0 otherwise.
    public let groupSize: Int
    public let pointer: UnsafeRawPointer
    public let byteCount: Int
    /// Keeps the bytes alive (a Storage, a mapped file), if the matrix does not own them.
    let owner: AnyObject?
    var description: molt_matrix

    /// `pointer` must stay valid while the matrix is used, unless `owner` keeps it alive.
    /// Validates the shape, the group size and that `byteCount` is exactly the layout's size.
    public init(element: MoltTensorType, rows: Int, columns: Int, groupSize: Int = 0, pointer: UnsafeRawPointer,
                byteCount: Int, owner: AnyObject? = nil) throws {
        let expected: Int
        switch element {
        case .f32, .f16, .bf16:
            let size = element == .f32 ? 4 : 2
            expected = try Checked.multiply([rows, columns, size], what: "\(element.rawValue) matrix [\(rows), \(columns)]")
            guard Int(bitPattern: pointer) % size == 0 else {
                throw MoltError.badInput("\(element.rawValue) matrix data is not \(size)-byte aligned")
            }
        case .q8, .q4:
            expected = try QuantLayout(type: element.quantType!, rows: rows, columns: columns, groupSize: groupSize).byteCount
        }
        guard byteCount == expected else {
            throw MoltError.badInput("\(element.rawValue) matrix [\(rows), \(columns)] needs \(expected) bytes, got \(byteCount)")
        }
        var description = molt_matrix()
        let type: molt_weight_type = switch element {
        case .f32: MOLT_WEIGHT_F32
        case .f16: MOLT_WEIGHT_F16
        case .bf16: MOLT_WEIGHT_BF16
        case .q8: MOLT_WEIGHT_Q8
        case .q4: MOLT_WEIGHT_Q4
        }
        guard molt_matrix_init(&description, type, pointer, Int64(rows), Int64(columns), Int32(clamping: groupSize)) == 0 else {
            throw MoltError.badInput("invalid \(element.rawValue) matrix [\(rows), \(columns)] with group size \(groupSize)")
        }
        self.element = element
        self.rows = rows
        self.columns = columns
        self.groupSize = element == .q8 || element == .q4 ? groupSize : 0
        self.pointer = pointer
        self.byteCount = byteCount
        self.owner = owner
        self.description = description
    }

    /// A quantized matrix, in place; the matrix keeps its storage alive.
    public init(_ matrix: QuantizedMatrix) throws {
        let layout = matrix.layout
        try self.init(
            element: layout.type == .q8 ? .q8 : .q4, rows: layout.rows, columns: layout.columns,
            groupSize: layout.groupSize, pointer: try WeightMatrix.base(matrix.storage.bytes), byteCount: layout.byteCount,
            owner: matrix.storage)
    }

    /// A contiguous 2-D f32, f16 or bf16 tensor, in place; the matrix keeps its storage alive.
    public init(_ tensor: Tensor) throws {
        guard tensor.shape.count == 2, tensor.isContiguous else {
            throw MoltError.badInput("a weight matrix needs a contiguous 2-D tensor, got shape \(tensor.shape)")
        }
        let element: MoltTensorType
        switch tensor.dtype {
        case .f32: element = .f32
        case .f16: element = .f16
        case .bf16: element = .bf16
        default: throw MoltError.unsupported("no kernels for \(tensor.dtype.rawValue) weights")
        }
        let start = tensor.offset * tensor.dtype.size
        try self.init(
            element: element, rows: tensor.shape[0], columns: tensor.shape[1],
            pointer: try WeightMatrix.base(tensor.storage.bytes) + start, byteCount: tensor.byteCount, owner: tensor.storage)
    }

    private static func base(_ bytes: UnsafeRawBufferPointer) throws -> UnsafeRawPointer {
        guard let base = bytes.baseAddress else { throw MoltError.badInput("empty weight storage") }
        return base
    }
}
