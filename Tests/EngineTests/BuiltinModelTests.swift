import Checksums
import Foundation
import ImageCodec
import ModelRegistry
import Runtime
import Testing
import TestSupport

/// Tests/Fixtures/builtin/expected.json, written by `tools/train/evaluate.py --write-fixture`:
/// evaluation examples (images and questions from the data generator, seed 77) and transformers'
/// float32 greedy answers with the built-in model.
struct BuiltinExpectations: Decodable {
    struct Example: Decodable {
        let image: String
        let question: String
        let max_tokens: Int
        let token_ids: [Int]
        let text: String
        let want: String
    }

    let model_safetensors_sha256: String
    let examples: [Example]
}

@Suite struct BuiltinModelTests {
    let expected = try! Fixtures.json(BuiltinExpectations.self, "builtin/expected.json")

    /// The folder `vqa` finds (the resource bundle next to the test executable, else the source
    /// tree) holds the weights the fixture was made from.
    @Test func fixtureMatchesShippedWeights() throws {
        let weights = try Data(contentsOf: try BuiltinModel.folder().appendingPathComponent("model.safetensors"))
        #expect(SHA256.hexDigest(of: weights) == expected.model_safetensors_sha256,
                "Models/builtin changed: rerun tools/train/evaluate.py --write-fixture Tests/Fixtures/builtin")
    }

    /// Decode → preprocess → encode → interleave → generate → detokenize gives transformers'
    /// greedy tokens on every example, whether the answer is right or not.
    @Test func greedyTokensEqualTransformers() throws {
        let model = try VisionLanguageModel(folder: try BuiltinModel.folder())
        let endOfUtterance = try #require(model.tokenizer.id(for: "<end_of_utterance>"))
        #expect(expected.examples.count == 20)
        for example in expected.examples {
            let image = try ImageDecoder.decode(contentsOf: Fixtures.url("builtin/" + example.image))
            let prompt = try model.prepare(messages: [.user([.image, .text(example.question)])], images: [image])
            var ids: [Int] = [], text = ""
            try model.generate(prompt, parameters: GenerationParameters(maxNewTokens: example.max_tokens)) { event in
                if case .token(let token) = event, token.id != endOfUtterance { ids.append(token.id) }
                if case .text(let piece) = event { text += piece }
            }
            #expect(ids == example.token_ids, "\(example.image): \(example.question) → \(text) (transformers: \(example.text))")
        }
    }
}
