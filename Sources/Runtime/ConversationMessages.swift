import ChatTemplates
import Foundation

/// Where an image of a message says its pixels are, before anything is read or fetched:
/// the caller decides which sources it allows.
public enum ImageReference: Sendable, Equatable {
    /// A `data:` URI's bytes, already base64-decoded.
    case data([UInt8])
    /// A file path as written (a plain path, or the path of a `file://` URL, percent-decoded).
    case file(String)
    /// An `http://` or `https://` URL.
    case remote(URL)
}

/// A problem with one field of a conversation: `field` is its JSON path, as in
/// `messages[1].content[0].image_url.url`.
public struct ConversationError: Error, CustomStringConvertible, Sendable, Equatable {
    public let field: String
    public let reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}

/// OpenAI-style chat messages, as `vqa --messages` and the server's `/v1/chat/completions`
/// take them: a JSON array of `{"role", "content"}` objects whose content is a string or a list
/// of parts, `{"type": "text", "text"}`, `{"type": "image_url", "image_url": {"url"}}` (or
/// `"image_url": URL`), or transformers' `{"type": "image", "path" | "url" | "image"}`.
public struct ConversationMessages: Sendable, Equatable {
    /// An image part: where its pixels are and the JSON path of the field that said so.
    public struct ImagePart: Sendable, Equatable {
        public let reference: ImageReference
        public let field: String
    }

    public var messages: [ChatMessage]
    /// The images in the order their parts appear.
    public var images: [ImagePart]

    /// The roles a message may have; `developer` (OpenAI's newer name for the system prompt)
    /// becomes `system`, which is what chat templates know.
    public static let roles = ["system", "developer", "user", "assistant"]

    /// Reads the JSON array `json`; `field` names it in errors.
    public init(json: Value, field: String = "messages") throws(ConversationError) {
        guard let list = json.arrayValue else { throw ConversationError(field: field, reason: "expected an array of messages") }
        messages = []
        images = []
        for (index, item) in list.enumerated() {
            let path = "\(field)[\(index)]"
            guard item.objectValue != nil else { throw ConversationError(field: path, reason: "expected an object with 'role' and 'content'") }
            guard let role = item["role"]?.stringValue else { throw ConversationError(field: "\(path).role", reason: "expected a string") }
            guard Self.roles.contains(role) else {
                throw ConversationError(field: "\(path).role", reason: "'\(role)' is not supported (\(Self.roles.joined(separator: ", ")))")
            }
            let chatRole = role == "developer" ? "system" : role
            if let text = item["content"]?.stringValue {
                messages.append(ChatMessage(role: chatRole, content: .text(text)))
                continue
            }
            guard let parts = item["content"]?.arrayValue else {
                throw ConversationError(field: "\(path).content", reason: "expected a string or a list of parts")
            }
            var converted: [ChatMessage.Part] = []
            for (partIndex, part) in parts.enumerated() {
                let partPath = "\(path).content[\(partIndex)]"
                guard let type = part["type"]?.stringValue else {
                    throw ConversationError(field: partPath, reason: "expected an object with a string 'type'")
                }
                switch type {
                case "text":
                    guard let text = part["text"]?.stringValue else { throw ConversationError(field: "\(partPath).text", reason: "expected a string") }
                    converted.append(.text(text))
                case "image_url", "image":
                    let (source, sourceField) = try Self.imageSource(part, type: type, field: partPath)
                    images.append(ImagePart(reference: try Self.reference(source, field: sourceField), field: sourceField))
                    converted.append(.image)
                default:
                    throw ConversationError(field: "\(partPath).type", reason: "'\(type)' is not supported (text, image_url, image)")
                }
            }
            messages.append(ChatMessage(role: chatRole, content: .parts(converted)))
        }
    }

    /// The string naming an image part's source and the path of the field that held it.
    private static func imageSource(_ part: Value, type: String, field: String) throws(ConversationError) -> (String, String) {
        if let object = part["image_url"], object.objectValue != nil {
            guard let url = object["url"]?.stringValue else { throw ConversationError(field: "\(field).image_url.url", reason: "expected a string") }
            return (url, "\(field).image_url.url")
        }
        for key in ["image_url", "path", "url", "image"] {
            if let source = part[key]?.stringValue { return (source, "\(field).\(key)") }
        }
        throw ConversationError(field: field, reason: "an \(type) part needs image_url.url (or transformers' path, url or image)")
    }

    /// Sorts a source string into a data: URI (decoded here), a remote URL or a file path.
    static func reference(_ source: String, field: String) throws(ConversationError) -> ImageReference {
        if source.hasPrefix("data:") {
            guard let comma = source.firstIndex(of: ","), source[..<comma].hasSuffix(";base64"),
                  let bytes = Data(base64Encoded: String(source[source.index(after: comma)...]), options: .ignoreUnknownCharacters) else {
                throw ConversationError(field: field, reason: "a data: URI must hold base64 data (data:image/png;base64,...)")
            }
            return .data([UInt8](bytes))
        }
        let lowered = source.prefix(8).lowercased()
        if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") {
            guard let url = URL(string: source), url.host != nil else { throw ConversationError(field: field, reason: "not a valid URL") }
            return .remote(url)
        }
        if lowered.hasPrefix("file://") {
            guard let url = URL(string: source), url.host == nil || url.host == "" || url.host == "localhost" else {
                throw ConversationError(field: field, reason: "a file:// URL must name a local path (file:///path/to/image.png)")
            }
            return .file(url.path)
        }
        return .file(source)
    }
}
