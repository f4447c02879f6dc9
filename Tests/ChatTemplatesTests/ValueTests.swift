import ChatTemplates
import Foundation
import Testing

@Suite struct ValueTests {
    @Test func parsesJSONLikePython() throws {
        let value = try Value(jsonString: #"{"z": 1, "a": 1.0, "m": [true, null, "\u00e9\ud83d\ude00\n"], "e": 1e2, "big": 1.5E-7}"#)
        #expect(value.objectValue?.keys == ["z", "a", "m", "e", "big"])
        #expect(value["z"] == .int(1))
        #expect(value["a"] == .double(1))
        #expect(value["m"] == [true, nil, "é😀\n"])
        #expect(value["e"] == .double(100))
        #expect(value["big"] == .double(1.5e-7))
    }

    @Test func keepsTheFirstPositionOfARepeatedKey() throws {
        let value = try Value(jsonString: #"{"a": 1, "b": 2, "a": 3}"#)
        #expect(value.objectValue?.keys == ["a", "b"])
        #expect(value["a"] == .int(3))
    }

    @Test func reportsWhereJSONIsMalformed() throws {
        for text in ["{\n  \"a\": 1,\n  }", "[1, 2", "\"unterminated", "01", "{\"a\" 1}", "nul", "[1] 2"] {
            let error = #expect(throws: ChatTemplateError.self, "\(text.debugDescription)") { try Value(jsonString: text) }
            #expect(error?.kind == .invalidInput)
            #expect(error?.line != nil)
        }
    }

    @Test func objectsKeepInsertionOrderAndCompareLikeDicts() {
        var object: ValueObject = ["b": 1, "a": 2]
        object["c"] = 3
        object["b"] = 4
        #expect(object.keys == ["b", "a", "c"])
        object["a"] = nil
        #expect(object.keys == ["b", "c"])
        #expect(object == ["c": 3, "b": 4])
    }

    @Test func chatMessagesBecomeOpenAIObjects() throws {
        let message = ChatMessage.user([.image, .text("What is this?"), .video])
        #expect(message.value == ["role": "user", "content": [["type": "image"], ["type": "text", "text": "What is this?"], ["type": "video"]]])
        #expect(ChatMessage.system("Be brief.").value == ["role": "system", "content": "Be brief."])
        #expect(try ChatMessage(message.value) == message)
    }

    @Test func readsChatMessagesFromJSON() throws {
        let json = #"""
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "Hi"}]},
             {"role": "assistant", "content": "Hello"}]
            """#
        let messages = try ChatMessage.messages(fromJSON: Data(json.utf8))
        #expect(messages == [.user([.image, .text("Hi")]), .assistant("Hello")])
        #expect(throws: ChatTemplateError.self) { try ChatMessage.messages(fromJSON: Data(#"[{"role": "user"}]"#.utf8)) }
        #expect(throws: ChatTemplateError.self) {
            try ChatMessage.messages(fromJSON: Data(#"[{"role": "user", "content": [{"type": "audio"}]}]"#.utf8))
        }
    }

    /// What transformers' processor hands the template: null keys dropped, `image_url` parts turned into
    /// `image` parts, and reasoning aliased (expected text from transformers 5.24).
    @Test func preparesMessagesAsTransformersDoes() throws {
        let messages: [Value] = [
            ["role": "assistant", "content": "x", "reasoning": "r", "name": nil, "thinking": nil],
            ["role": "user", "content": [
                ["type": "image_url", "image_url": ["url": "u"]], ["type": "image_url", "image_url": "raw"], ["type": "image_url"],
            ]],
            ["role": "assistant", "thinking": "t", "content": "y", "reasoning_content": "rc"],
        ]
        let rendered = try ChatTemplate(source: "{{ messages|tojson }}").render(messages: messages)
        expectIdentical(
            rendered,
            #"[{"thinking": "r", "role": "assistant", "content": "x", "reasoning": "r", "reasoning_content": "r"}, {"role": "user", "content": [{"type": "image", "url": "u"}, {"type": "image", "url": "raw"}, {"type": "image_url"}]}, {"thinking": "t", "role": "assistant", "content": "y", "reasoning_content": "rc"}]"#)
    }

    @Test func templatesAreSendable() async throws {
        let template = try ChatTemplate(source: "{{ messages[0].content }}")
        let rendered = try await Task.detached { try template.render(messages: [.user("shared")]) }.value
        #expect(rendered == "shared")
    }
}
