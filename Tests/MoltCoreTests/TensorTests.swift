import MoltCore
import Testing

private func storage(_ values: [Float]) -> Storage {
    values.withUnsafeBytes { Storage(copying: $0) }
}

@Test func transposedViewCopiesInRowMajorOrder() throws {
    let t = try Tensor(storage: storage([1, 2, 3, 4, 5, 6]), dtype: .f32, shape: [3, 2], strides: [1, 3])
    #expect(!t.isContiguous)
    #expect(try t.floatValues() == [1, 4, 2, 5, 3, 6])
}

@Test func offsetViewReadsInPlace() throws {
    let t = try Tensor(storage: storage([1, 2, 3, 4, 5, 6]), dtype: .f32, shape: [2, 2], offset: 2)
    #expect(t.isContiguous)
    #expect(try t.floatValues() == [3, 4, 5, 6])
}

@Test func viewPastStorageIsRefused() {
    #expect(throws: MoltError.self) {
        try Tensor(storage: storage([1, 2, 3]), dtype: .f32, shape: [2, 2])
    }
    #expect(throws: MoltError.self) {
        try Tensor(storage: storage([1]), dtype: .f32, shape: [Int.max, 2])
    }
}

@Test func bf16RoundsToNearestEven() {
    #expect(FloatBits.floatToBF16(1.0) == 0x3F80)
    // 1 + 2^-8 is halfway between two bf16 values: ties go to the even mantissa (1.0).
    #expect(FloatBits.floatToBF16(1.00390625) == 0x3F80)
    #expect(FloatBits.floatToBF16(1.01171875) == 0x3F82)
    #expect(FloatBits.bf16ToFloat(0xC040) == -3.0)
}

@Test func conversionRoundTripsThroughHalf() throws {
    let t = try Tensor(storage: storage([0.5, -2, 65504]), dtype: .f32, shape: [3])
    let half = try t.converted(to: .f16)
    #expect(half.dtype == .f16)
    #expect(try half.floatValues() == [0.5, -2, 65504])
}

/// Issue 13's crash: shape, stride and offset arithmetic from a file overflowed in here.
@Test func overflowingViewsAreRefusedWithTheirNumbers() {
    let bytes = storage([1, 2])
    func message(_ shape: [Int], _ strides: [Int]?, _ offset: Int) -> String? {
        do {
            _ = try Tensor(storage: bytes, dtype: .f32, shape: shape, strides: strides, offset: offset)
            return nil
        } catch {
            return (error as? MoltError)?.message
        }
    }
    // offset + 1 overflowed after the stride sum (now: the offset alone is past the storage).
    #expect(message([1], [1], Int.max) == "view (offset \(Int.max), shape [1], strides [1]) of f32 starts past the end of its storage (8 bytes)")
    // The furthest element's byte offset overflowed.
    #expect(message([2], [Int.max / 2], 0) == "view (offset 0, shape [2], strides [\(Int.max / 2)]) of f32 needs more than Int.max bytes but its storage holds 8")
    // (dim - 1) * stride overflowed.
    #expect(message([3], [Int.max], 0) == "view (offset 0, shape [3], strides [\(Int.max)]) of f32 reaches past Int.max")
    // A stride-0 view of 2^61 elements: count fits, bytes do not.
    #expect(message([1 << 61], [0], 0) == "view (offset 0, shape [\(1 << 61)], strides [0]) of f32 holds more than Int.max bytes, more than its storage (8) and the 67108864 an overlapping view may hold")
    // Fits Int but not the bound: copying it would allocate 4 GiB from 8 bytes.
    #expect(message([1 << 30], [0], 0) == "view (offset 0, shape [\(1 << 30)], strides [0]) of f32 holds \(1 << 32) bytes, more than its storage (8) and the 67108864 an overlapping view may hold")
    // Expanded views within the bound are torch's `expand`, and read.
    #expect(message([1000, 2], [0, 1], 0) == nil)
    #expect(message([2, 3], nil, 0) == "view (offset 0, shape [2, 3], strides contiguous) of f32 needs 24 bytes but its storage holds 8")
    #expect(message([2], [1, 1], 0) == "view (offset 0, shape [2], strides [1, 1]) of f32 differs in rank between shape and strides")
    #expect(message([1], [1], -1) == "view (offset -1, shape [1], strides [1]) of f32 has a negative offset or stride")
    #expect(message([0, 1 << 40, 1 << 40], nil, 0) == nil)
    // Found by the tensor fuzz target: an empty view with a far offset made a wild pointer
    // once made contiguous (Fixtures/fuzz/regressions/tensor).
    #expect(message([0], [7], 1 << 62) == "view (offset \(1 << 62), shape [0], strides [7]) of f32 starts past the end of its storage (8 bytes)")
    #expect(message([0], [1], 2) == nil)
    #expect(message([0], [1], 3) == "view (offset 3, shape [0], strides [1]) of f32 starts past the end of its storage (8 bytes)")
}

@Test func quotedEscapesWhatCouldBreakALine() {
    #expect(quoted("plain.weight") == "'plain.weight'")
    #expect(quoted("it's \\ here") == "'it\\'s \\\\ here'")
    #expect(quoted("\u{1B}[2J\u{07}\n\r\t\0\u{7F}\u{85}\u{2028}\u{202E}é") == "'\\u{1b}[2J\\u{7}\\n\\r\\t\\0\\u{7f}\\u{85}\\u{2028}\\u{202e}é'")
    #expect(quoted(String(repeating: "a", count: 205)) == "'" + String(repeating: "a", count: 200) + "'... (5 more characters)")
}

@Test func everyMoltErrorMessageStaysOnOneLine() {
    let error = MoltError.badInput("name \u{1B}]0;owned\u{07}\nsecond line", file: "f")
    #expect(error.message == "f: name \\u{1b}]0;owned\\u{7}\\nsecond line")
    #expect(error.within("ctx\n").message == "ctx\\n: f: name \\u{1b}]0;owned\\u{7}\\nsecond line")
}
