import ArgumentParser
import ChatTemplates
import Foundation
import ImageCodec

/// What `vqa` and `vqa prompt` share: the model, the conversation and how images are read.
struct ConversationOptions: ParsableArguments {
    @OptionGroup var model: ModelOption

    @Option(name: .long, help: "A system message put before the conversation.")
    var system: String?

    @Option(name: .long, help: "A conversation as a JSON array of {\"role\", \"content\"} messages (see the README).",
            completion: .file(extensions: ["json"]))
    var messages: String?

    @OptionGroup var detail: ImageDetailOptions

    @Option(name: .long, help: "Refuse images with more pixels than this (checked before decoding).")
    var maxPixels = DecodingOptions.defaultMaxPixels

    @Argument(help: "Images (PNG or JPEG), then the question. With --messages, nothing.")
    var inputs: [String] = []

    func validate() throws {
        if messages != nil && !inputs.isEmpty { throw ValidationError("give either --messages or images and a question, not both") }
        if messages == nil && inputs.isEmpty { throw ValidationError("give the images and a question, e.g. vqa --model DIR photo.jpg \"What is in this photo?\"") }
        if maxPixels <= 0 { throw ValidationError("--max-pixels must be positive") }
        if messages == nil, let last = inputs.last, FileManager.default.fileExists(atPath: last),
           ImageDecoder.format(of: Array((try? FileHandle(forReadingFrom: URL(fileURLWithPath: last)).read(upToCount: 8)) ?? Data())) != nil {
            throw ValidationError("the last argument must be the question, but '\(last)' is an image; e.g. vqa --model DIR \(last) \"What is in this image?\"")
        }
    }

    func modelFolder() async throws -> URL { try await model.folder() }

    /// The messages and their images, in order.
    func conversation() throws -> (messages: [ChatMessage], images: [Image]) {
        var result: [ChatMessage] = system.map { [.system($0)] } ?? []
        let decoding = DecodingOptions(maxPixels: maxPixels)
        if let messages {
            let parsed = try MessagesFile.read(URL(fileURLWithPath: messages), decoding: decoding)
            return (result + parsed.messages, parsed.images)
        }
        let question = inputs.last!
        let images = try inputs.dropLast().map { try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: $0), options: decoding) }
        result.append(.user(Array(repeating: ChatMessage.Part.image, count: images.count) + [.text(question)]))
        return (result, images)
    }
}

/// `--messages FILE.json`: OpenAI-style messages whose content is a string or a list of parts —
/// `{"type": "text", "text"}`, `{"type": "image_url", "image_url": {"url"}}` (a path, a file://
/// URL or a data: URI) or transformers' `{"type": "image", "path" | "url" | "image"}`.
enum MessagesFile {
    static func read(_ url: URL, decoding: DecodingOptions) throws -> (messages: [ChatMessage], images: [Image]) {
        let name = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw CommandError("\(name): cannot be read (\(error.localizedDescription))") }
        guard let list = (try? JSONSerialization.jsonObject(with: data)) as? [Any] else {
            throw CommandError("\(name): expected a JSON array of messages")
        }
        var messages: [ChatMessage] = [], images: [Image] = []
        let base = url.deletingLastPathComponent()
        for (index, item) in list.enumerated() {
            let path = "\(name): messages[\(index)]"
            guard let object = item as? [String: Any], let role = object["role"] as? String else {
                throw CommandError("\(path): expected an object with a string 'role'")
            }
            if let text = object["content"] as? String {
                messages.append(ChatMessage(role: role, content: .text(text)))
                continue
            }
            guard let parts = object["content"] as? [Any] else { throw CommandError("\(path).content: expected a string or a list of parts") }
            var converted: [ChatMessage.Part] = []
            for (partIndex, part) in parts.enumerated() {
                let partPath = "\(path).content[\(partIndex)]"
                guard let part = part as? [String: Any], let type = part["type"] as? String else {
                    throw CommandError("\(partPath): expected an object with a 'type'")
                }
                switch type {
                case "text":
                    guard let text = part["text"] as? String else { throw CommandError("\(partPath): a text part needs 'text'") }
                    converted.append(.text(text))
                case "image_url", "image":
                    let source = (part["image_url"] as? [String: Any])?["url"] as? String ?? part["image_url"] as? String
                        ?? part["path"] as? String ?? part["url"] as? String ?? part["image"] as? String
                    guard let source else { throw CommandError("\(partPath): an image part needs a path, url or image_url.url") }
                    images.append(try loadImage(source, relativeTo: base, decoding: decoding, context: partPath))
                    converted.append(.image)
                default:
                    throw CommandError("\(partPath): part type '\(type)' is not supported (text, image_url, image)")
                }
            }
            messages.append(ChatMessage(role: role, content: .parts(converted)))
        }
        return (messages, images)
    }

    /// A path (relative to the messages file), a file:// URL, or a data: URI with base64 data.
    static func loadImage(_ source: String, relativeTo base: URL, decoding: DecodingOptions, context: String) throws -> Image {
        if source.hasPrefix("data:") {
            guard let comma = source.firstIndex(of: ","), source[..<comma].hasSuffix(";base64"),
                  let bytes = Data(base64Encoded: String(source[source.index(after: comma)...]), options: .ignoreUnknownCharacters) else {
                throw CommandError("\(context): a data: URI must be base64 (data:image/png;base64,...)")
            }
            return try ImageDecoder.decode([UInt8](bytes), source: "\(context) (data: URI)", options: decoding)
        }
        if source.hasPrefix("http://") || source.hasPrefix("https://") {
            throw CommandError("\(context): images are read from files or data: URIs, not fetched from \(source)")
        }
        let path = source.hasPrefix("file://") ? (URL(string: source)?.path ?? String(source.dropFirst(7))) : source
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
        return try ImageDecoder.decode(contentsOf: url, options: decoding)
    }
}
