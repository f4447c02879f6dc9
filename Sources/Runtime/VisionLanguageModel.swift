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
    /// The decoded images and the processor settings each was prepared with (they differ when
    /// a tile budget resized some less): what the image feature cache keys on.
    let images: [Image]
    let imageConfigs: [Idefics3ImageProcessorConfig]

    /// How many frames of `pixelValues` each image has: its tiles and a global view, or one.
    public var framesPerImage: [Int] { grids.map { $0.rows > 0 ? $0.rows * $0.cols + 1 : 1 } }

    /// The frames of the images at `indices` (ascending), as one tensor for the vision tower.
    func pixelValues(ofImages indices: [Int]) -> Tensor? {
        guard let pixels = pixelValues, !indices.isEmpty else { return nil }
        let frameSize = pixels.shape.dropFirst().reduce(1, *)
        let firstFrames = framesPerImage.reduce(into: [0]) { $0.append($0.last! + $1) }
        var scalars: [Float] = []
        for index in indices {
            scalars += pixels.scalars[(firstFrames[index] * frameSize)..<(firstFrames[index + 1] * frameSize)]
        }
        return Tensor(shape: [scalars.count / frameSize] + pixels.shape.dropFirst(), scalars: scalars)
    }
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

    /// Loads a model folder. `weightFormat` and `cacheFormat` trade exactness for speed and
    /// memory in the language model (see `WeightFormat`, `KVCacheFormat`); float32 computes as
    /// transformers does.
    public init(folder: URL, weightFormat: WeightFormat = .float32, cacheFormat: KVCacheFormat = .float32) throws {
        let directory = try ModelDirectory(folder)
        self.folder = folder
        model = try Idefics3Model(folder: folder, weightFormat: weightFormat, cacheFormat: cacheFormat)
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
        // Idefics3/SmolVLM templates loop over a message's parts; given a plain string they would
        // loop over its characters and print nothing. Plain text becomes one text part, as vLLM
        // and llama.cpp's server turn OpenAI's string content into parts for such templates.
        let messages = messages.map { message in
            guard case .text(let text) = message.content else { return message }
            return ChatMessage(role: message.role, content: .parts([.text(text)]))
        }
        let rendered = try chatTemplate.render(messages: messages, addGenerationPrompt: true,
                                               bosToken: specialTokens.strings["bos_token"], eosToken: specialTokens.strings["eos_token"])
        var config = processorConfig.image
        if let imageSplitting { config.doImageSplitting = imageSplitting }
        let processor = Idefics3ImageProcessor(config: config)
        let configs = images.map { image in maxTiles.map { processor.limitingTiles(to: $0, for: image) } ?? config }
        let processed = zip(images, configs).map { Idefics3ImageProcessor(config: $1).process($0) }
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
                              grids: processed.map { ($0.rows, $0.cols) }, images: images, imageConfigs: configs)
    }

    /// What must hold before any work is done: valid parameters, a prompt that fits the context
    /// and only ids the model knows.
    public func check(_ prompt: PreparedPrompt, parameters: GenerationParameters) throws(GenerationError) {
        try Generator(model: model, tokenizer: tokenizer, endOfSequence: []).check(prompt: prompt.ids, parameters: parameters)
    }

    /// The decoder-width features of the images at `indices` (ascending), encoded in one pass of
    /// the vision tower, one array per image.
    func encodeImages(_ prompt: PreparedPrompt, indices: [Int]) throws -> [[Float]] {
        guard let pixels = prompt.pixelValues(ofImages: indices) else { return [] }
        let features = try model.imageFeatures(pixels)
        let perFrame = features.count / pixels.shape[0]
        var start = 0
        return indices.map { index in
            let count = prompt.framesPerImage[index] * perFrame
            defer { start += count }
            return Array(features[start..<(start + count)])
        }
    }

    /// The features of all the prompt's images, in order: those `cache` holds are taken from it,
    /// the others encoded together and added to it.
    func imageFeatures(_ prompt: PreparedPrompt, cache: ImageFeatureCache?) throws -> [Float] {
        guard let pixels = prompt.pixelValues else { return [] }
        guard let cache else { return try model.imageFeatures(pixels) }
        let keys = zip(prompt.images, prompt.imageConfigs).map { ImageFeatureCache.key(for: $0, processor: $1) }
        var perImage = keys.map(cache.features(for:))
        let missing = perImage.indices.filter { perImage[$0] == nil }
        for (index, features) in zip(missing, try encodeImages(prompt, indices: missing)) {
            perImage[index] = features
            cache.store(features, for: keys[index])
        }
        return perImage.flatMap { $0 ?? [] }
    }

    /// Answers a prepared prompt, calling `onEvent` as tokens and text come.
    /// `ignoringEndOfSequence` keeps generating past EOS tokens (for benchmarks); `imageCache`,
    /// when given, supplies the features of images encoded before and keeps the new ones.
    @discardableResult
    public func generate(_ prompt: PreparedPrompt, parameters: GenerationParameters, ignoringEndOfSequence: Bool = false,
                         imageCache: ImageFeatureCache? = nil, onEvent: (GenerationEvent) throws -> Void) throws -> GenerationReport {
        try check(prompt, parameters: parameters)
        var report = GenerationReport()
        report.promptTokens = prompt.ids.count
        let visionStart = Date()
        let features = try imageFeatures(prompt, cache: imageCache)
        report.visionSeconds = prompt.pixelValues == nil ? 0 : Date().timeIntervalSince(visionStart)
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
