/// Cuts generated text at the first stop string, while it streams: text that may be the start
/// of a stop string is held back until the next piece shows whether it is.
struct StopStrings {
    private let stops: [String]
    private var held = ""
    /// True once a stop string was found: nothing more is returned.
    private(set) var stopped = false

    init(_ stops: [String]) {
        self.stops = stops
    }

    /// Takes the next piece of text; returns the text now safe to send.
    mutating func feed(_ piece: String) -> String {
        guard !stopped else { return "" }
        held += piece
        if let cut = stops.compactMap({ held.range(of: $0)?.lowerBound }).min() {
            stopped = true
            defer { held = "" }
            return String(held[..<cut])
        }
        // Hold back the longest end of the text that some stop string starts with.
        var keep = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, held.count), to: keep, by: -1)
            where held.hasSuffix(stop.prefix(length)) {
                keep = length
                break
            }
        }
        let safe = held.index(held.endIndex, offsetBy: -keep)
        defer { held = String(held[safe...]) }
        return String(held[..<safe])
    }

    /// The text still held back, at the end of generation.
    mutating func finish() -> String {
        defer { held = "" }
        return stopped ? "" : held
    }
}
