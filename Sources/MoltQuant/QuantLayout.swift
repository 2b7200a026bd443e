import MoltCore

/// The two quantized encodings of a 2-D weight. Formats/molt.md defines their bytes.
public enum QuantType: String, Sendable, CaseIterable, Codable {
    /// Symmetric int8: w = scale * q, q in [-127, 127].
    case q8
    /// Asymmetric 4-bit: w = scale * q + min, q in [0, 15], two values per byte.
    case q4

    /// The largest q; q8 is symmetric around zero, q4 starts at zero.
    public var maxQ: Int { self == .q8 ? 127 : 15 }
}

/// Where every byte of a quantized [rows, columns] matrix lives. Rows are stored one after the
/// other, each as its quantized values, then its f16 scales, then (q4) its f16 minimums, so a
/// kernel that walks one row at a time reads one contiguous run of bytes.
public struct QuantLayout: Sendable, Equatable {
    public static let groupSizeLimit = 4096

    public let type: QuantType
    public let rows: Int
    public let columns: Int
    public let groupSize: Int
    /// Groups per row: the last one is padded when `columns % groupSize != 0`.
    public let groups: Int
    /// Bytes of quantized values at the start of each row.
    public let valueBytesPerRow: Int
    public let rowStride: Int
    /// Bytes of the whole matrix: rows × rowStride.
    public let byteCount: Int

    /// The group-size rule (Formats/molt.md): a multiple of 32 from 32 to `groupSizeLimit`, so
    /// that a group is whole blocks of the kernels' 32 lanes.
    public static func isValid(groupSize: Int) -> Bool {
        groupSize >= 32 && groupSize <= groupSizeLimit && groupSize % 32 == 0
    }

    /// Validates the sizes (they may come from an untrusted file) with overflow checks.
    public init(type: QuantType, rows: Int, columns: Int, groupSize: Int) throws {
        guard QuantLayout.isValid(groupSize: groupSize) else {
            throw MoltError.badInput("group size \(groupSize) is not a multiple of 32 from 32 to \(QuantLayout.groupSizeLimit)")
        }
        guard rows >= 0, columns >= 0 else { throw MoltError.badInput("negative matrix shape [\(rows), \(columns)]") }
        let groups = columns / groupSize + (columns % groupSize == 0 ? 0 : 1)
        let perGroup = type == .q8 ? groupSize + 2 : groupSize / 2 + 4
        self.type = type
        self.rows = rows
        self.columns = columns
        self.groupSize = groupSize
        self.groups = groups
        valueBytesPerRow = try Checked.multiply([groups, type == .q8 ? groupSize : groupSize / 2], what: "row of [\(rows), \(columns)]")
        rowStride = try Checked.multiply([groups, perGroup], what: "row of [\(rows), \(columns)]")
        byteCount = try Checked.multiply([rows, rowStride], what: "\(type.rawValue) matrix [\(rows), \(columns)]")
    }

    /// Zero columns past `columns` that fill the last group of each row.
    public var paddedColumns: Int { groups * groupSize - columns }
    /// Offset of the row's f16 scales from the row's start.
    public var scalesOffset: Int { valueBytesPerRow }
    /// Offset of the row's f16 minimums (q4 only) from the row's start.
    public var minimumsOffset: Int { valueBytesPerRow + 2 * groups }
}

/// A quantized matrix: its layout and its bytes (owned, or a view of a mapped file).
public struct QuantizedMatrix: Sendable {
    public let layout: QuantLayout
    public let storage: Storage

    public init(layout: QuantLayout, storage: Storage) throws {
        guard storage.count == layout.byteCount else {
            throw MoltError.badInput("\(layout.type.rawValue) matrix [\(layout.rows), \(layout.columns)] needs \(layout.byteCount) bytes, got \(storage.count)")
        }
        self.layout = layout
        self.storage = storage
    }

    /// Row `r`'s bytes: values, scales, minimums.
    public func row(_ r: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage.bytes[r * layout.rowStride..<(r + 1) * layout.rowStride])
    }
}
