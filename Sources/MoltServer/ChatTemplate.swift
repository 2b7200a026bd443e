/// The plain-text chat template (Formats/serve.md, "Chat"). BlackMamba is a base model with no
/// chat format of its own, so messages become a transcript the model continues:
///
///     {system message}\n\n
///     User: {user message}\n\n
///     Assistant: {assistant message}\n\n
///     ...
///     Assistant:
///
/// and generation stops where the model would start the user's next turn.
enum ChatTemplate {
    static let roles = ["system", "user", "assistant"]

    /// Stop strings added to every chat request: the start of another turn.
    static let turnStops = ["\nUser:", "\nAssistant:"]

    /// One line describing the template, for `/v1/models`.
    static let summary =
        "plain text: the system message, then 'User: ...' and 'Assistant: ...' turns separated by blank lines, "
        + "ending 'Assistant:'; generation stops at a new 'User:' or 'Assistant:' line"

    static func render(_ messages: [(role: String, content: String)]) -> String {
        var text = ""
        for (role, content) in messages {
            switch role {
            case "system": text += content + "\n\n"
            case "user": text += "User: " + content + "\n\n"
            default: text += "Assistant: " + content + "\n\n"
            }
        }
        return text + "Assistant:"
    }

    /// The messages of a chat request: `[{"role", "content"}]`, content a string or an array of
    /// `{"type": "text", "text"}` parts.
    static func messages(_ body: RequestFields) throws -> [(role: String, content: String)] {
        guard case .array(let items) = try body.require("messages") else {
            throw APIError.field("messages", "must be an array of {\"role\", \"content\"} objects")
        }
        guard !items.isEmpty else { throw APIError.field("messages", "must hold at least one message") }
        return try items.enumerated().map { i, item in
            let field = "messages[\(i)]"
            guard case .object = item else { throw APIError.field(field, "must be an object, not \(item.kindName)") }
            guard case .string(let role)? = item["role"], roles.contains(role) else {
                throw APIError.field("\(field).role", "must be one of \(roles.joined(separator: ", "))")
            }
            switch item["content"] {
            case .string(let text)?: return (role, text)
            case .array(let parts)?:
                let texts = try parts.enumerated().map { j, part -> String in
                    guard case .string("text")? = part["type"], case .string(let text)? = part["text"] else {
                        throw APIError.field("\(field).content[\(j)]", "must be {\"type\": \"text\", \"text\": ...}: the model reads text only")
                    }
                    return text
                }
                return (role, texts.joined())
            case let value:
                throw APIError.field("\(field).content", "must be a string or an array of text parts, not \(value?.kindName ?? "missing")")
            }
        }
    }
}
