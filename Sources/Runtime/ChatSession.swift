import ChatTemplates
import Foundation
import ImageCodec
import ModelFamilies

/// A conversation that keeps its messages, images and KV cache across turns: each question
/// runs only the tokens that follow what the cache already holds, and encodes only new images.
public final class ChatSession {
    public let model: VisionLanguageModel
    public private(set) var messages: [ChatMessage]
    private let system: [ChatMessage]
    private let imageSplitting: Bool?
    private let maxTiles: Int?
    private var images: [Image] = []
    /// Decoder-width features of each image so far.
    private var features: [[Float]] = []
    private var cache: KVCache
    /// The ids whose keys and values the cache holds, position by position.
    private var cachedIDs: [Int] = []

    public init(model: VisionLanguageModel, systemPrompt: String? = nil, imageSplitting: Bool? = nil, maxTiles: Int? = nil) {
        self.model = model
        system = systemPrompt.map { [.system($0)] } ?? []
        messages = system
        self.imageSplitting = imageSplitting
        self.maxTiles = maxTiles
        cache = model.model.makeCache()
    }

    /// Forgets the conversation; the system prompt stays.
    public func clear() {
        messages = system
        images = []
        features = []
        cachedIDs = []
        cache.truncate(to: 0)
    }

    /// Asks `text` about `newImages` (placed before the text), streams the answer through
    /// `onEvent`, and adds the question and the answer to the conversation.
    @discardableResult
    public func send(_ text: String, images newImages: [Image] = [], parameters: GenerationParameters,
                     onEvent: (GenerationEvent) throws -> Void) throws -> GenerationReport {
        let question = ChatMessage.user(Array(repeating: ChatMessage.Part.image, count: newImages.count) + [.text(text)])
        let prompt = try model.prepare(messages: messages + [question], images: images + newImages, imageSplitting: imageSplitting,
                                       maxTiles: maxTiles)
        try model.check(prompt, parameters: parameters)
        var report = GenerationReport()
        report.promptTokens = prompt.ids.count

        // Encode only the new images: they come last.
        let visionStart = Date()
        let newFeatures = try model.encodeImages(prompt, indices: Array(images.count..<(images.count + newImages.count)))
        if !newImages.isEmpty { report.visionSeconds = Date().timeIntervalSince(visionStart) }
        let allFeatures = (features + newFeatures).flatMap { $0 }

        // Reuse the longest prefix the cache already holds (at least one token is always run).
        var reused = zip(cachedIDs, prompt.ids).prefix { $0 == $1 }.count
        reused = min(reused, prompt.ids.count - 1, cache.count)
        cache.truncate(to: reused)
        let generated = try model.run(prompt.ids, features: allFeatures, cache: &cache, reusing: reused, parameters: parameters,
                                      endOfSequence: model.specialTokens.eos, report: &report, onEvent: onEvent)
        cachedIDs = prompt.ids + generated.dropLast()
        images += newImages
        features += newFeatures
        let answer = model.tokenizer.decode(generated, skipSpecialTokens: true)
        messages += [question, .assistant(answer)]
        return report
    }
}
