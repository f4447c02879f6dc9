import Foundation
import ModelFamilies
import Runtime
import Tensors
import Testing
import TestSupport
import Tokenizers

/// Tests/Fixtures/llama/NAME/expected.json: what transformers computes with the random checkpoint.
struct LlamaExpectations: Decodable {
    struct Step: Decodable {
        let ids: [Int]
        let logprobs: [Float]
    }

    struct Case: Decodable {
        let prompt: [Int]
        let last_logits: [Float]
        let greedy: [Int]
        let top_logprobs: [Step]
    }

    let cases: [Case]
}

@Suite struct LlamaTests {

    func load(_ name: String, weights: WeightFormat = .float32) throws -> (LlamaForCausalLM, Generator, [LlamaExpectations.Case]) {
        let folder = Fixtures.url("llama/\(name)")
        let model = try LlamaForCausalLM(folder: folder, weightFormat: weights)
        let tokenizer = try Tokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json"))
        // No end-of-sequence ids: the fixtures ran 20 steps without stopping.
        let generator = Generator(model: model, tokenizer: tokenizer, endOfSequence: [])
        return (model, generator, try Fixtures.json(LlamaExpectations.self, "llama/\(name)/expected.json").cases)
    }

    /// bfloat16 storage of a bfloat16 checkpoint holds the very same weights, so it must meet
    /// the float32 bar too.
    @Test(arguments: [("gqa-tied-f32", WeightFormat.float32), ("mha-untied-bf16", .float32), ("mha-untied-bf16", .bfloat16)])
    func logitsMatchTransformers(_ name: String, weights: WeightFormat) throws {
        let (model, _, cases) = try load(name, weights: weights)
        for c in cases {
            var cache = model.makeCache()
            let logits = model.logits(after: c.prompt, cache: &cache)
            let scale = max(1, c.last_logits.map(abs).max()!)
            let worst = zip(logits, c.last_logits).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-4 * scale, "prompt \(c.prompt): max |Δlogit| \(worst)")
        }
    }

    @Test(arguments: [("gqa-tied-f32", WeightFormat.float32), ("mha-untied-bf16", .float32), ("mha-untied-bf16", .bfloat16)])
    func greedyAndLogprobsMatchTransformers(_ name: String, weights: WeightFormat) throws {
        let (_, generator, cases) = try load(name, weights: weights)
        for c in cases {
            let run = try generator.complete(prompt: c.prompt, parameters: GenerationParameters(maxNewTokens: 20, topLogprobs: 5))
            #expect(run.tokens.map(\.id) == c.greedy)
            #expect(run.finish == .length)
            for (token, expected) in zip(run.tokens, c.top_logprobs) {
                #expect(token.topLogprobs.map(\.id) == expected.ids)
                let worst = zip(token.topLogprobs.map(\.logprob), expected.logprobs).map { abs($0 - $1) }.max()!
                #expect(worst <= 1e-3, "step log-probs differ by \(worst)")
                #expect(token.logprob == token.topLogprobs[0].logprob)
            }
        }
    }

    /// Precomputed embeddings in place of token lookups (how image features enter) give the same result.
    @Test func embeddingsPath() throws {
        let (model, _, cases) = try load("gqa-tied-f32")
        var cache = model.makeCache()
        let direct = model.logits(after: cases[1].prompt, cache: &cache)
        var second = model.makeCache()
        let viaEmbeddings = model.decoder.forward(embeddings: model.decoder.embed(cases[1].prompt), cache: &second)
        #expect(direct == viaEmbeddings)
        // Prefill then one step equals running the whole sequence at once.
        var stepwise = model.makeCache()
        _ = model.logits(after: Array(cases[1].prompt.dropLast()), cache: &stepwise)
        let last = model.logits(after: [cases[1].prompt.last!], cache: &stepwise)
        #expect(zip(last, direct).map { abs($0 - $1) }.max()! < 1e-5)
    }

    @Test func samplingIsReproducibleAndTopKOneIsGreedy() throws {
        let (_, generator, cases) = try load("mha-untied-bf16")
        let sampling = GenerationParameters(maxNewTokens: 20, temperature: 0.9, topP: 0.95, seed: 42)
        let first = try generator.complete(prompt: cases[0].prompt, parameters: sampling).tokens.map(\.id)
        let second = try generator.complete(prompt: cases[0].prompt, parameters: sampling).tokens.map(\.id)
        #expect(first == second)
        var other = sampling
        other.seed = 7
        #expect(try generator.complete(prompt: cases[0].prompt, parameters: other).tokens.map(\.id) != first)
        let topOne = GenerationParameters(maxNewTokens: 20, temperature: 1.3, topK: 1, seed: 3)
        #expect(try generator.complete(prompt: cases[0].prompt, parameters: topOne).tokens.map(\.id) == cases[0].greedy)
    }

    /// A vanishing temperature samples the most likely token, not NaN-driven garbage.
    @Test func tinyTemperatureIsGreedy() throws {
        let (_, generator, cases) = try load("mha-untied-bf16")
        let run = try generator.complete(prompt: cases[0].prompt, parameters: GenerationParameters(maxNewTokens: 20, temperature: 1e-30, seed: 1))
        #expect(run.tokens.map(\.id) == cases[0].greedy)
    }

    @Test func stopsOnEndOfSequenceAndStopStrings() throws {
        let (model, generator, cases) = try load("mha-untied-bf16")
        let eos = cases[0].greedy[3]
        let stopping = Generator(model: model, tokenizer: generator.tokenizer, endOfSequence: [eos])
        let run = try stopping.complete(prompt: cases[0].prompt, parameters: GenerationParameters(maxNewTokens: 20))
        #expect(run.finish == .stop && run.tokens.map(\.id) == Array(cases[0].greedy.prefix(4)))
        // The letters of the greedy ids: stop at the text of the 6th token.
        let full = try generator.complete(prompt: cases[0].prompt, parameters: GenerationParameters(maxNewTokens: 20)).text
        let letters = Array(full)
        let stop = String(letters[5...6])
        let stopped = try generator.complete(prompt: cases[0].prompt, parameters: GenerationParameters(maxNewTokens: 20, stopStrings: [stop]))
        #expect(stopped.finish == .stop)
        #expect(stopped.text == String(full[..<full.range(of: stop)!.lowerBound]))
    }

    @Test func streamingDeliversTheSameRun() async throws {
        let (_, generator, cases) = try load("gqa-tied-f32")
        let parameters = GenerationParameters(maxNewTokens: 12)
        var text = "", ids: [Int] = [], finish: FinishReason?
        for try await event in generator.stream(prompt: cases[1].prompt, parameters: parameters) {
            switch event {
            case .token(let token): ids.append(token.id)
            case .text(let piece): text += piece
            case .finished(let reason): finish = reason
            }
        }
        let whole = try generator.complete(prompt: cases[1].prompt, parameters: parameters)
        #expect(ids == whole.tokens.map(\.id) && text == whole.text && finish == .length)
    }

    @Test func contextOverflowIsAnError() throws {
        let (_, generator, _) = try load("gqa-tied-f32")
        let error = try #require(throws: GenerationError.self) {
            try generator.complete(prompt: Array(repeating: 5, count: 128), parameters: GenerationParameters())
        }
        #expect(error == .contextOverflow(promptTokens: 128, contextLength: 128))
        let full = try generator.complete(prompt: Array(repeating: 5, count: 120), parameters: GenerationParameters(maxNewTokens: 50))
        #expect(full.finish == .contextFull && full.tokens.count == 9)
    }

    @Test func promptTokenOutsideTheVocabulary() throws {
        let (_, generator, _) = try load("gqa-tied-f32")
        let error = try #require(throws: GenerationError.self) { try generator.complete(prompt: [1, 128], parameters: GenerationParameters()) }
        #expect(error == .tokenOutsideVocabulary(id: 128, vocabularySize: 128))
    }

    @Test func invalidParameters() throws {
        let (_, generator, _) = try load("gqa-tied-f32")
        for parameters in [GenerationParameters(topP: 0), GenerationParameters(temperature: -1), GenerationParameters(maxNewTokens: 0)] {
            #expect(throws: GenerationError.self) { try generator.complete(prompt: [1], parameters: parameters) }
        }
    }

    /// Both config.json layouts on the Hub: transformers 5 (rope_parameters) and 4 (rope_theta).
    @Test func configLayouts() throws {
        let five = try LlamaConfig.load(from: ModelDirectory(Fixtures.url("llama/gqa-tied-f32")))
        #expect(five.ropeTheta == 10000 && five.numKeyValueHeads == 2 && five.tieWordEmbeddings && five.headDim == 16)
        let four = try LlamaConfig.load(from: ModelDirectory(Fixtures.url("llama/mha-untied-bf16")))
        #expect(four.ropeTheta == 500 && four.numKeyValueHeads == 4 && !four.tieWordEmbeddings)
    }

    /// A size no real model has is refused when read, before products of sizes can overflow.
    @Test func implausibleSizesAreRefused() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("huge-config-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("llama/gqa-tied-f32/config.json"))) as! [String: Any]
        config["num_attention_heads"] = 1 << 32
        try JSONSerialization.data(withJSONObject: config).write(to: url.appendingPathComponent("config.json"))
        let error = try #require(throws: ConfigError.self) { try LlamaConfig.load(from: ModelDirectory(url)) }
        #expect(error.description.contains("num_attention_heads") && error.description.contains("implausibly large"), "\(error)")
    }
}

/// 8-bit weights and a half-precision KV cache are approximate: how far they move the fixtures'
/// logits and greedy tokens from transformers' float32 ones (BENCHMARKS.md reports the same
/// figures on real-size shapes). `logitTolerance` is a fraction of each case's logit range.
@Suite struct ApproximateFormatTests {
    @Test(arguments: [
        ("gqa-tied-f32", WeightFormat.int8, KVCacheFormat.float32, 0.02), ("mha-untied-bf16", .int8, .float32, 0.02),
        ("gqa-tied-f32", .float32, .float16, 0.002), ("mha-untied-bf16", .float32, .float16, 0.002),
        ("gqa-tied-f32", .int8, .float16, 0.02),
    ])
    func staysCloseToFloat32(_ name: String, weights: WeightFormat, cache: KVCacheFormat, logitTolerance: Float) throws {
        let folder = Fixtures.url("llama/\(name)")
        let model = try LlamaForCausalLM(folder: folder, weightFormat: weights, cacheFormat: cache)
        // The same weights with a float32 cache: what the half-precision cache alone changes.
        let exactCache = try LlamaForCausalLM(folder: folder, weightFormat: weights)
        let generator = Generator(model: model, tokenizer: try Tokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json")),
                                  endOfSequence: [])
        var agreeing = 0, total = 0
        for c in try Fixtures.json(LlamaExpectations.self, "llama/\(name)/expected.json").cases {
            var past = model.makeCache()
            #expect(past.format == cache)
            let logits = model.logits(after: c.prompt, cache: &past)
            let spread = c.last_logits.max()! - c.last_logits.min()!
            let worst = zip(logits, c.last_logits).map { abs($0 - $1) }.max()!
            #expect(worst <= logitTolerance * spread, "max |Δlogit| \(worst) of a \(spread) range")
            if cache == .float16 {
                var exactPast = exactCache.makeCache()
                #expect(exactCache.logits(after: c.prompt, cache: &exactPast) != logits, "the half-precision cache rounded nothing")
            }
            let run = try generator.complete(prompt: c.prompt, parameters: GenerationParameters(maxNewTokens: 20))
            // Compare up to the first difference: after it the two runs see different text.
            let prefix = zip(run.tokens.map(\.id), c.greedy).prefix { $0 == $1 }.count
            agreeing += prefix
            total += c.greedy.count
        }
        #expect(Double(agreeing) / Double(total) >= (weights == .int8 ? 0.5 : 0.9), "\(agreeing) of \(total) greedy tokens before the first difference")
    }
}
