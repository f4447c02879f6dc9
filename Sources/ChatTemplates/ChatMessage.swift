import Foundation

/// An OpenAI-style chat message: a role and either plain text or a list of text and media parts.
///
/// Templates receive it as `{"role": ..., "content": ...}`, with parts as `{"type": "text", "text": ...}`,
/// `{"type": "image"}` or `{"type": "video"}`. Messages with other fields (tool calls, reasoning...)
/// can be rendered as `Value` objects instead.
public struct ChatMessage: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        case text(String)
        case parts([Part])
    }

    public enum Part: Sendable, Equatable {
        case text(String)
        /// Where an image goes; the pixels travel separately, to the image processor.
        case image
        case video
    }

    public var role: String
    public var content: Content

    public init(role: String, content: Content) {
        self.role = role
        self.content = content
    }

    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: "system", content: .text(text)) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: "user", content: .text(text)) }
    public static func user(_ parts: [Part]) -> ChatMessage { ChatMessage(role: "user", content: .parts(parts)) }
    public static func assistant(_ text: String) -> ChatMessage { ChatMessage(role: "assistant", content: .text(text)) }

    /// The message as the JSON object a template sees.
    public var value: Value {
        let content: Value
        switch self.content {
        case .text(let text):
            content = .string(text)
        case .parts(let parts):
            content = .array(parts.map { part in
                switch part {
                case .text(let text): return ["type": "text", "text": .string(text)]
                case .image: return ["type": "image"]
                case .video: return ["type": "video"]
                }
            })
        }
        return ["role": .string(role), "content": content]
    }

    /// Reads a message from its JSON object form. Parts of type `image_url` count as images, as
    /// transformers' processors read them; other fields of the message or its parts are ignored.
    public init(_ value: Value) throws {
        guard case .object(let object) = value, case .string(let role)? = object["role"] else {
            throw ChatTemplateError(.invalidInput, "a chat message must be an object with a string \"role\"")
        }
        self.role = role
        switch object["content"] {
        case .string(let text)?:
            content = .text(text)
        case .array(let parts)?:
            content = .parts(try parts.map { part in
                guard case .object(let fields) = part, case .string(let type)? = fields["type"] else {
                    throw ChatTemplateError(.invalidInput, "a content part must be an object with a string \"type\"")
                }
                switch type {
                case "text":
                    guard case .string(let text)? = fields["text"] else {
                        throw ChatTemplateError(.invalidInput, "a text part must have a string \"text\"")
                    }
                    return .text(text)
                case "image", "image_url": return .image
                case "video": return .video
                default: throw ChatTemplateError(.invalidInput, "unsupported content part type \(pythonRepr(type))")
                }
            })
        default:
            throw ChatTemplateError(.invalidInput, "a chat message's \"content\" must be a string or a list of parts")
        }
    }

    /// Reads a JSON array of messages.
    public static func messages(fromJSON data: Data) throws -> [ChatMessage] {
        guard case .array(let elements) = try Value(json: data) else {
            throw ChatTemplateError(.invalidInput, "expected a JSON array of messages")
        }
        return try elements.map(ChatMessage.init)
    }
}
