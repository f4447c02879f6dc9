import ChatTemplates
import Foundation
import Testing

/// A fixture of Tests/Fixtures/chat-templates, written by tools/fixtures/make_chat_template_fixtures.py:
/// a published template and conversations with what transformers rendered for them.
struct TemplateFixture {
    struct Case {
        let name: String
        let messages: [Value]
        let addGenerationPrompt: Bool
        let bosToken: String?
        let eosToken: String?
        let tools: [Value]?
        let extra: [String: Value]
        let expected: String
    }

    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/chat-templates")

    static let names = [
        "smolvlm-instruct", "smolvlm-video-default", "idefics3", "llava-1.5", "qwen2-vl", "llama-3-instruct", "qwen3",
    ]

    let template: String
    let cases: [Case]

    init(named name: String) throws {
        // Read with the package's own JSON reader: Foundation's would lose the key order tojson prints.
        let fixture = try Value(json: Data(contentsOf: TemplateFixture.folder.appendingPathComponent("\(name).json")))
        template = try #require(fixture["template"]?.stringValue)
        cases = try #require(fixture["cases"]?.arrayValue).map { item in
            Case(
                name: try #require(item["name"]?.stringValue),
                messages: try #require(item["messages"]?.arrayValue),
                addGenerationPrompt: try #require(item["add_generation_prompt"]?.boolValue as Bool?),
                bosToken: item["bos_token"]?.stringValue,
                eosToken: item["eos_token"]?.stringValue,
                tools: item["tools"]?.arrayValue,
                extra: Dictionary(uniqueKeysWithValues: Array(try #require(item["extra"]?.objectValue))),
                expected: try #require(item["expected"]?.stringValue))
        }
    }
}

@Suite struct PublishedTemplateTests {
    @Test(arguments: TemplateFixture.names)
    func rendersLikeTransformers(_ name: String) throws {
        let fixture = try TemplateFixture(named: name)
        #expect(fixture.cases.count >= 10)
        let template = try ChatTemplate(source: fixture.template)
        for c in fixture.cases {
            let rendered = try template.render(
                messages: c.messages, addGenerationPrompt: c.addGenerationPrompt, bosToken: c.bosToken,
                eosToken: c.eosToken, tools: c.tools, extra: c.extra)
            expectIdentical(rendered, c.expected, "\(name): \(c.name)")
        }
    }

    /// The fixture conversations that `ChatMessage` can express render the same through it.
    @Test(arguments: TemplateFixture.names)
    func chatMessagesRenderLikeTheirJSON(_ name: String) throws {
        let fixture = try TemplateFixture(named: name)
        let template = try ChatTemplate(source: fixture.template)
        var compared = 0
        for c in fixture.cases {
            guard let messages = try? c.messages.map(ChatMessage.init),
                messages.map(\.value) == c.messages
            else { continue }
            let rendered = try template.render(
                messages: messages, addGenerationPrompt: c.addGenerationPrompt, bosToken: c.bosToken,
                eosToken: c.eosToken, tools: c.tools, extra: c.extra)
            expectIdentical(rendered, c.expected, "\(name): \(c.name)")
            compared += 1
        }
        #expect(compared >= 5)
    }
}
