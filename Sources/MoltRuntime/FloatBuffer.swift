/// Zeroed, 64-byte-aligned Float memory the runtime owns: widened weights, decode state and
/// scratch. A class so the memory lives exactly as long as whatever holds it.
final class FloatBuffer: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
        self.count = count
    }

    deinit {
        base.deallocate()
    }
}
