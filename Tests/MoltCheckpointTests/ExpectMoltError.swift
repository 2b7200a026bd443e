import MoltCore
import Testing

/// Runs `body`, which must throw a MoltError whose message holds every keyword (in any case
/// when `ignoringCase`) and, when `kind` is given, of that kind. Returns the error for checks
/// of its own.
@discardableResult
func expectMoltError(
    _ keywords: [String], kind: MoltError.Kind? = nil, ignoringCase: Bool = false,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Any
) -> MoltError? {
    do {
        let value = try body()
        Issue.record("expected an error mentioning \(keywords), got \(value)", sourceLocation: sourceLocation)
    } catch let error as MoltError {
        let message = ignoringCase ? error.message.lowercased() : error.message
        for keyword in keywords {
            #expect(message.contains(ignoringCase ? keyword.lowercased() : keyword), "\(error.message) lacks \(keyword)",
                    sourceLocation: sourceLocation)
        }
        if let kind { #expect(error.kind == kind, "\(error.message)", sourceLocation: sourceLocation) }
        return error
    } catch {
        Issue.record("not a MoltError: \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
