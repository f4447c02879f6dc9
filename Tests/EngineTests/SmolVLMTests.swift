import Foundation
import ImageCodec
import ModelFamilies
import Runtime
import Tensors
import Testing
import TestSupport
import Tokenizers

/// Tests/Fixtures/smolvlm/NAME/expected.json: what transformers computes with the random checkpoints.
struct SmolVLMExpectations: Decodable {
    struct Step: Decodable {
        let ids: [Int]
        let logprobs: [Float]
    }

    struct Case: Decodable {
        let name: String
        let images: [String]
        let split: Bool
        let prompt: String
        let input_ids: [Int]
        let vision_first_frame: [Float]?
        let connector_first_frame: [Float]?
        let logit_ids: [Int]
        let logits: [Float]
        let greedy: [Int]
        let top_logprobs: [Step]
    }

    let cases: [Case]
}

/// Largest |a − b| relative to the largest |b| (at least 1).
func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
    let scale = max(1, b.map(abs).max() ?? 1)
    return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
}

@Suite struct SmolVLMTests {
    struct Loaded {
        let model: Idefics3Model
        let tokenizer: Tokenizer
        let processor: Idefics3ImageProcessor
        let cases: [SmolVLMExpectations.Case]
    }

    func load(_ name: String, weights: WeightFormat = .float32) throws -> Loaded {
        let folder = Fixtures.url("smolvlm/\(name)")
        let processorConfig = try Idefics3ProcessorConfig.load(from: ModelDirectory(folder))
        return Loaded(model: try Idefics3Model(folder: folder, weightFormat: weights),
                      tokenizer: try Tokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json")),
                      processor: Idefics3ImageProcessor(config: processorConfig.image),
                      cases: try Fixtures.json(SmolVLMExpectations.self, "smolvlm/\(name)/expected.json").cases)
    }

    /// The rendered prompt with each `<image>` expanded for its image, tokenized; and the pixel values.
    func inputs(_ c: SmolVLMExpectations.Case, _ loaded: Loaded) throws -> (ids: [Int], pixels: Tensor?) {
        var config = loaded.processor.config
        config.doImageSplitting = c.split
        let processor = Idefics3ImageProcessor(config: config)
        let images = try c.images.map { processor.process(try ImageDecoder.decode(contentsOf: Fixtures.url("processor/images/" + $0))) }
        var parts = c.prompt.components(separatedBy: "<image>")
        var text = parts.removeFirst()
        for (image, part) in zip(images, parts) {
            text += idefics3ImagePrompt(rows: image.rows, cols: image.cols, imageSequenceLength: loaded.model.config.imageSequenceLength) + part
        }
        return (try loaded.tokenizer.encode(text), images.isEmpty ? nil : processor.pixelValues(images))
    }

    /// The bfloat16 checkpoint held as bfloat16 computes with the same weights: the same bar.
    @Test(arguments: [("idefics3-f32", WeightFormat.float32), ("smolvlm-bf16", .float32), ("smolvlm-bf16", .bfloat16)])
    func matchesTransformers(_ name: String, weights: WeightFormat) throws {
        let loaded = try load(name, weights: weights)
        #expect(loaded.cases.count >= 6)
        for c in loaded.cases {
            let (ids, pixels) = try inputs(c, loaded)
            #expect(ids == c.input_ids, "\(c.name): input_ids")
            var features: [Float] = []
            if let pixels {
                let size = loaded.model.config.vision.imageSize
                let first = pixels.scalars.withUnsafeBufferPointer { UnsafeBufferPointer(rebasing: $0[0..<(3 * size * size)]) }
                let vision = loaded.model.vision.encode(frames: first)
                #expect(relativeError(vision, try #require(c.vision_first_frame)) < 1e-4, "\(c.name): vision")
                let connector = loaded.model.connector(vision, side: loaded.model.config.vision.patchesPerSide)
                #expect(relativeError(connector, try #require(c.connector_first_frame)) < 1e-4, "\(c.name): connector")
                features = try loaded.model.imageFeatures(pixels)
            }
            var cache = loaded.model.makeCache()
            let logits = try loaded.model.prefill(tokens: ids, imageFeatures: features, cache: &cache)
            #expect(relativeError(c.logit_ids.map { logits[$0] }, c.logits) < 1e-4, "\(c.name): logits")

            let generator = Generator(model: loaded.model, tokenizer: loaded.tokenizer, endOfSequence: [])
            var tokens: [GeneratedToken] = []
            try generator.generate(prompt: ids, parameters: GenerationParameters(maxNewTokens: 20, topLogprobs: 5),
                                   prefill: { cache in try loaded.model.prefill(tokens: ids, imageFeatures: features, cache: &cache) }) { event in
                if case .token(let token) = event { tokens.append(token) }
            }
            #expect(tokens.map(\.id) == c.greedy, "\(c.name): greedy")
            for (token, step) in zip(tokens, c.top_logprobs) {
                #expect(token.topLogprobs.map(\.id) == step.ids, "\(c.name): top-5 ids")
                #expect(zip(token.topLogprobs.map(\.logprob), step.logprobs).map { abs($0 - $1) }.max()! < 1e-3, "\(c.name): log-probs")
            }
        }
    }

    @Test func imagePromptLayout() {
        #expect(idefics3ImagePrompt(rows: 0, cols: 0, imageSequenceLength: 2)
            == "<fake_token_around_image><global-img><image><image><fake_token_around_image>")
        #expect(idefics3ImagePrompt(rows: 1, cols: 2, imageSequenceLength: 1)
            == "<fake_token_around_image><row_1_col_1><image><fake_token_around_image><row_1_col_2><image>\n\n<fake_token_around_image><global-img><image><fake_token_around_image>")
    }

    @Test func imageTokenCountMismatchIsAnError() throws {
        let loaded = try load("idefics3-f32")
        var cache = loaded.model.makeCache()
        #expect(throws: ConfigError.self) { try loaded.model.prefill(tokens: [1, 49190, 2], imageFeatures: [], cache: &cache) }
    }
}
