import MoltCore

/// Which expert a tensor belongs to, read from its name
/// (`decoder.layers.{i}.mixer.local_experts.{e}.…`).
struct ExpertKey: Hashable {
    init(layer: Int, expert: Int) {
        self.layer = layer
        self.expert = expert
    }

    let layer: Int
    let expert: Int

    /// nil for a tensor that is not an expert's; throws for a name that claims to be one but
    /// does not say which.
    init?(tensorName name: String) throws {
        guard TensorNames.isExpert(name) else { return nil }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count > 6, parts[0] == "decoder", parts[1] == "layers", parts[3] == "mixer", parts[4] == "local_experts",
            let layer = Int(parts[2]), let expert = Int(parts[5]), layer >= 0, expert >= 0
        else {
            throw MoltError.badInput("tensor \(quoted(name)) looks like an expert's but does not name its layer and expert")
        }
        self.layer = layer
        self.expert = expert
    }
}
