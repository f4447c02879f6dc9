import ChatTemplates
import Foundation
import ImageCodec
import Runtime
import Testing
import TestSupport

/// The library API the CLI is a thin layer over.
@Suite struct VisionLanguageModelTests {
    @Test func streamingAnswerWithImages() async throws {
        let model = try VisionLanguageModel(folder: Fixtures.url("smolvlm/smolvlm-bf16"))
        let images = try ["portrait.jpg", "tiny-20x20.png"].map { try ImageDecoder.decode(contentsOf: Fixtures.url("processor/images/" + $0)) }
        let messages: [ChatMessage] = [.user([.image, .image, .text("Compare them.")])]
        var ids: [Int] = [], finish: FinishReason?
        for try await event in model.stream(messages: messages, images: images, parameters: GenerationParameters(maxNewTokens: 20)) {
            switch event {
            case .token(let token): ids.append(token.id)
            case .text: break
            case .finished(let reason): finish = reason
            }
        }
        struct Expected: Decodable { struct Case: Decodable { let name: String; let greedy: [Int] }; let cases: [Case] }
        let expected = try Fixtures.json(Expected.self, "smolvlm/smolvlm-bf16/expected.json").cases.first { $0.name == "two images" }
        #expect(ids == expected?.greedy && finish == .length)
    }

    @Test func imageCountMustMatchPlaceholders() throws {
        let model = try VisionLanguageModel(folder: Fixtures.url("smolvlm/idefics3-f32"))
        let error = try #require(throws: RuntimeError.self) {
            try model.prepare(messages: [.user([.image, .text("?")])], images: [])
        }
        #expect(error.description.contains("1 image placeholder(s) but 0 image(s)"))
    }
}
