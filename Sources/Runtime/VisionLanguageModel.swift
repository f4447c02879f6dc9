import ChatTemplates
import Foundation
import ImageCodec
import ModelFamilies
import Tensors
import Tokenizers

/// Problems with what a model folder or a request holds, in words a person can act on.
public struct RuntimeError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// A conversation turned into model input: the rendered chat template, the text after each
/// `<image>` was expanded into its tile tokens, the token ids, and the images' pixel values.
public struct PreparedPrompt: Sendable {
    public let renderedText: String
    public let expandedText: String
    public let ids: [Int]
    public let pixelValues: Tensor?
    /// Tile rows and columns per image (0 × 0: one frame).
    public let grids: [(rows: Int, cols: Int)]
}

/// Where the time of one answer went, and how many tokens it took.
public struct GenerationReport: Sendable {
    public var finish: FinishReason = .length
    public var promptTokens = 0
    public var completionTokens = 0
    public var visionSeconds = 0.0
    /// From the start of the prefill to the first generated token.
    public var prefillSeconds = 0.0
    /// After the first token.
    public var decodeSeconds = 0.0

    public var decodeTokensPerSecond: Double {
        decodeSeconds > 0 ? Double(max(completionTokens - 1, 0)) / decodeSeconds : 0
    }
}

/// A vision-language model loaded from a HuggingFace folder: weights, tokenizer, special
/// tokens, image processor and chat template. Load it once; ask it many questions.
public final class VisionLanguageModel: Sendable {
    public let folder: URL
    public let model: Idefics3Model
    public let tokenizer: Tokenizer
    public let specialTokens: SpecialTokens
    public let processorConfig: Idefics3ProcessorConfig
    public let chatTemplate: ChatTemplate

    public init(folder: URL) throws {
        let directory = try ModelDirectory(folder)
        self.folder = folder
        model = try Idefics3Model(folder: folder)
        let tokenizerFile = folder.appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: tokenizerFile.path) else {
            throw RuntimeError("\(folder.path): no tokenizer.json")
        }
        tokenizer = try Tokenizer(contentsOf: tokenizerFile)
        specialTokens = try SpecialTokens.load(from: folder, tokenizer: tokenizer)
        processorConfig = try Idefics3ProcessorConfig.load(from: directory)
        guard let template = try ChatTemplate.load(fromModelFolder: folder) else {
            throw RuntimeError("\(folder.path): no chat template (chat_template.jinja, chat_template.json or tokenizer_config.json)")
        }
        chatTemplate = template
        if processorConfig.image.maxImageSize != model.config.vision.imageSize {
            throw RuntimeError("\(folder.path): the processor's max_image_size.longest_edge is \(processorConfig.image.maxImageSize) but vision_config.image_size is \(model.config.vision.imageSize); they must be equal")
        }
        if let length = processorConfig.imageSequenceLength, length != model.config.imageSequenceLength {
            throw RuntimeError("\(folder.path): processor_config.json says image_seq_len \(length) but config.json implies \(model.config.imageSequenceLength)")
        }
    }

    /// Renders `messages` with the chat template, expands each image placeholder for its image,
    /// tokenizes, and preprocesses the images. `images` are in the order their parts appear.
    /// `maxTiles` caps the tiles per image (each tile costs a vision-encoder pass and
    /// `imageSequenceLength` prompt tokens) by resizing less, as a smaller `size.longest_edge` would.
    public func prepare(messages: [ChatMessage], images: [Image], imageSplitting: Bool? = nil, maxTiles: Int? = nil) throws -> PreparedPrompt {
        let placeholders = messages.reduce(0) { count, message in
            guard case .parts(let parts) = message.content else { return count }
            return count + parts.filter { $0 == .image }.count
        }
        guard placeholders == images.count else {
            throw RuntimeError("the conversation has \(placeholders) image placeholder(s) but \(images.count) image(s) were given")
        }
        let rendered = try chatTemplate.render(messages: messages, addGenerationPrompt: true,
                                               bosToken: specialTokens.strings["bos_token"], eosToken: specialTokens.strings["eos_token"])
        var config = processorConfig.image
        if let imageSplitting { config.doImageSplitting = imageSplitting }
        let processor = Idefics3ImageProcessor(config: config)
        let processed = images.map { processor.process($0, maxTiles: maxTiles) }
        // Split on the placeholder the template wrote; each one becomes its image's tile tokens.
        var pieces = rendered.components(separatedBy: "<image>")
        guard pieces.count - 1 == images.count else {
            throw RuntimeError("the chat template wrote \(pieces.count - 1) <image> placeholder(s) for \(images.count) image(s)")
        }
        var expanded = pieces.removeFirst()
        for (image, piece) in zip(processed, pieces) {
            expanded += idefics3ImagePrompt(rows: image.rows, cols: image.cols, imageSequenceLength: model.config.imageSequenceLength) + piece
        }
        let ids = try tokenizer.encode(expanded)
        return PreparedPrompt(renderedText: rendered, expandedText: expanded, ids: ids,
                              pixelValues: processed.isEmpty ? nil : processor.pixelValues(processed),
                              grids: processed.map { ($0.rows, $0.cols) })
    }

    /// Answers a prepared prompt, calling `onEvent` as tokens and text come.
    /// `ignoringEndOfSequence` keeps generating past EOS tokens (for benchmarks).
    @discardableResult
    public func generate(_ prompt: PreparedPrompt, parameters: GenerationParameters, ignoringEndOfSequence: Bool = false,
                         onEvent: (GenerationEvent) throws -> Void) throws -> GenerationReport {
        try Generator(model: model, tokenizer: tokenizer, endOfSequence: []).check(prompt: prompt.ids, parameters: parameters)
        var report = GenerationReport()
        report.promptTokens = prompt.ids.count
        var features: [Float] = []
        if let pixels = prompt.pixelValues {
            let start = Date()
            features = try model.imageFeatures(pixels)
            report.visionSeconds = Date().timeIntervalSince(start)
        }
        var cache = model.makeCache()
        _ = try run(prompt.ids, features: features, cache: &cache, reusing: 0, parameters: parameters,
                    endOfSequence: ignoringEndOfSequence ? [] : specialTokens.eos, report: &report, onEvent: onEvent)
        return report
    }

    /// Generates after `ids`, of which `cache` already holds the first `reused`; fills in the
    /// report's token counts and timings; returns the generated ids.
    func run(_ ids: [Int], features: [Float], cache: inout KVCache, reusing reused: Int, parameters: GenerationParameters,
             endOfSequence: [Int], report: inout GenerationReport, onEvent: (GenerationEvent) throws -> Void) throws -> [Int] {
        let generator = Generator(model: model, tokenizer: tokenizer, endOfSequence: endOfSequence)
        let prefillStart = Date()
        var firstToken: Date?
        var completionTokens = 0
        let result = try generator.generate(prompt: ids, parameters: parameters, cache: &cache, prefill: { cache in
            try self.model.prefill(tokens: ids, from: reused, imageFeatures: features, cache: &cache)
        }) { event in
            if case .token = event {
                if firstToken == nil { firstToken = Date() }
                completionTokens += 1
            }
            try onEvent(event)
        }
        report.finish = result.finish
        report.completionTokens = completionTokens
        if let firstToken {
            report.prefillSeconds = firstToken.timeIntervalSince(prefillStart)
            report.decodeSeconds = Date().timeIntervalSince(firstToken)
        }
        return result.generated
    }

    /// Asks about `images` with `messages`, as an `AsyncSequence` of events computed on a
    /// background task; cancelling the consumer stops the computation.
    public func stream(messages: [ChatMessage], images: [Image], parameters: GenerationParameters,
                       imageSplitting: Bool? = nil, maxTiles: Int? = nil) -> AsyncThrowingStream<GenerationEvent, Error> {
        eventStream { [self] onEvent in
            let prompt = try prepare(messages: messages, images: images, imageSplitting: imageSplitting, maxTiles: maxTiles)
            try generate(prompt, parameters: parameters, onEvent: onEvent)
        }
    }
}
