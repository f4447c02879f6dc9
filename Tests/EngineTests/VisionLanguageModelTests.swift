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

/// A chat keeps its KV cache across turns and answers as a fresh run of the whole conversation would.
@Suite struct ChatSessionTests {
    @Test func secondTurnReusesTheCacheAndMatchesAFreshRun() throws {
        let model = try VisionLanguageModel(folder: Fixtures.url("smolvlm/idefics3-f32"))
        let wide = try ImageDecoder.decode(contentsOf: Fixtures.url("processor/images/wide-513x77.png"))
        let chart = try ImageDecoder.decode(contentsOf: Fixtures.url("processor/images/landscape-chart.png"))
        let parameters = GenerationParameters(maxNewTokens: 6)
        let session = ChatSession(model: model)
        try session.send("What is it?", images: [wide], parameters: parameters) { _ in }
        var second: [Int] = []
        let report = try session.send("And this one?", images: [chart], parameters: parameters) { event in
            if case .token(let token) = event { second.append(token.id) }
        }
        // The same conversation from scratch.
        let prompt = try model.prepare(messages: Array(session.messages.dropLast()), images: [wide, chart])
        var fresh: [Int] = []
        try model.generate(prompt, parameters: parameters) { event in
            if case .token(let token) = event { fresh.append(token.id) }
        }
        #expect(second == fresh)
        #expect(report.promptTokens == prompt.ids.count)
        session.clear()
        #expect(session.messages.isEmpty)
    }
}
