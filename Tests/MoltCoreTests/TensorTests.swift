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
