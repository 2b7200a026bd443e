/// Bounds on what one pickle may make the machine do. Lengths of strings and bytes need no
/// limit here: each is checked against the bytes left in the pickle before anything is read.
public struct PickleLimits: Sendable {
    /// Open MARKs at once. Real state dicts nest a handful deep; files with 200,000 MARKs
    /// exist to exhaust recursive readers.
    public var maxMarkDepth: Int
    /// Values on the stack at once. Python's pickler batches lists, dicts and sets by 1,000,
    /// so only a huge tuple comes near this.
    public var maxStackSize: Int
    /// Memo entries: a state dict memoizes a few per tensor.
    public var maxMemoEntries: Int
    /// Values created in total (every opcode that pushes something new).
    public var maxObjects: Int

    public init(
        maxMarkDepth: Int = 10_000,
        maxStackSize: Int = 1_000_000,
        maxMemoEntries: Int = 10_000_000,
        maxObjects: Int = 50_000_000
    ) {
        self.maxMarkDepth = maxMarkDepth
        self.maxStackSize = maxStackSize
        self.maxMemoEntries = maxMemoEntries
        self.maxObjects = maxObjects
    }
}
