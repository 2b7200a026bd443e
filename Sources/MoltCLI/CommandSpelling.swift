import ArgumentParser

/// Catches a misspelled or unknown subcommand before the argument parser does: it would
/// complain about the first option it cannot place ("Unknown option '-o'" for
/// `molt conver x -o y`) and `molt help nonexist` would print the top-level help and exit 0.
enum CommandSpelling {
    static var names: [String] { Molt.configuration.subcommands.map { $0._commandName } }

    /// The one-line error for `arguments` (without the program name), or nil when the
    /// subcommand, if any, is known.
    static func problem(in arguments: [String]) -> String? {
        guard let first = arguments.first, !first.hasPrefix("-") else { return nil }
        if first == "help" {
            guard arguments.count > 1, !arguments[1].hasPrefix("-") else { return nil }
            return names.contains(arguments[1]) ? nil : unknown(arguments[1])
        }
        return names.contains(first) ? nil : unknown(first)
    }

    private static func unknown(_ name: String) -> String {
        let near = names.map { ($0, distance(name, $0)) }.filter { $0.1 <= max(1, name.count / 3) || $0.0.hasPrefix(name) }
        if let best = near.min(by: { $0.1 < $1.1 }) {
            return "unknown command '\(name)'; did you mean '\(best.0)'?"
        }
        return "unknown command '\(name)' (commands: \(names.joined(separator: ", ")))"
    }

    /// Levenshtein distance: how many letters to insert, delete or change.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var row = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = row
        }
        return previous[b.count]
    }
}
