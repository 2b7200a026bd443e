import MoltCore

/// Named tensors in the order their source listed them.
public struct TensorTable: Sendable {
    public private(set) var names: [String] = []
    public private(set) var byName: [String: Tensor] = [:]

    public init() {}

    public subscript(name: String) -> Tensor? { byName[name] }

    public var count: Int { names.count }

    /// Adds a tensor; a second tensor under the same name is an error in every source format.
    public mutating func insert(_ tensor: Tensor, named name: String) throws {
        guard byName[name] == nil else { throw MoltError.badInput("tensor '\(name)' appears twice") }
        names.append(name)
        byName[name] = tensor
    }

    /// (name, tensor) pairs in source order.
    public var entries: [(name: String, tensor: Tensor)] { names.map { ($0, byName[$0]!) } }
}
