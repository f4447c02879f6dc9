import ArgumentParser
import ChatTemplates
import Foundation
import ImageCodec
import Runtime

/// What `vqa` and `vqa prompt` share: the model, the conversation and how images are read.
struct ConversationOptions: ParsableArguments {
    @OptionGroup var model: ModelOption

    @OptionGroup var weights: WeightsOption

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

/// `--messages FILE.json`: OpenAI-style messages (see `ConversationMessages`); image paths are
/// relative to the file, and images come from files or data: URIs, never from the network.
enum MessagesFile {
    static func read(_ url: URL, decoding: DecodingOptions) throws -> (messages: [ChatMessage], images: [Image]) {
        let name = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw CommandError("\(name): cannot be read (\(error.localizedDescription))") }
        let conversation: ConversationMessages
        do { conversation = try ConversationMessages(json: try Value(json: data)) } catch { throw CommandError("\(name): \(error)") }
        let base = url.deletingLastPathComponent()
        let images = try conversation.images.map { image in
            switch image.reference {
            case .data(let bytes):
                return try ImageDecoder.decode(bytes, source: "\(name): \(image.field) (data: URI)", options: decoding)
            case .file(let path):
                return try ImageDecoder.decode(contentsOf: path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path),
                                               options: decoding)
            case .remote(let url):
                throw CommandError("\(name): \(image.field): images are read from files or data: URIs, not fetched from \(url)")
            }
        }
        return (conversation.messages, images)
    }
}
