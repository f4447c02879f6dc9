import ChatTemplates
import Foundation
import Testing

/// `ChatTemplate.load(fromModelFolder:)` against folders laid out as models on the Hub are.
@Suite struct LoaderTests {
    /// A fresh temporary folder holding `files` (relative path → contents), removed afterwards.
    func withModelFolder(_ files: [String: String], _ body: (URL) throws -> Void) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("chat-templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (path, contents) in files {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(contents.utf8).write(to: url)
        }
        try body(folder)
    }

    /// Renders the folder's template with no messages, which shows which file it came from.
    func loadedSource(_ folder: URL) throws -> String? {
        try ChatTemplate.load(fromModelFolder: folder)?.render(messages: [ChatMessage]())
    }

    func loadError(_ folder: URL) -> ChatTemplateError? {
        do {
            _ = try ChatTemplate.load(fromModelFolder: folder)
            return nil
        } catch {
            return error as? ChatTemplateError
        }
    }

    static let allSources = [
        "processor_config.json": #"{"image_seq_len": 64, "chat_template": "from processor_config"}"#,
        "chat_template.json": #"{"chat_template": "from chat_template.json"}"#,
        "chat_template.jinja": "from chat_template.jinja\n",
        "tokenizer_config.json": #"{"bos_token": "<s>", "chat_template": "from tokenizer_config"}"#,
    ]

    @Test func followsTransformersPrecedence() throws {
        var files = LoaderTests.allSources
        for expected in ["from processor_config", "from chat_template.json", "from chat_template.jinja", "from tokenizer_config"] {
            try withModelFolder(files) { folder throws in #expect(try loadedSource(folder) == expected) }
            // Remove the winning file: the next one in line takes over.
            let winner = files.first { $0.value.contains(expected) }!.key
            files[winner] = nil
        }
        try withModelFolder(files) { folder throws in #expect(try ChatTemplate.load(fromModelFolder: folder) == nil) }
    }

    @Test func readsTheDefaultOfNamedTemplates() throws {
        let config = #"{"chat_template": [{"name": "tool_use", "template": "tools"}, {"name": "default", "template": "plain"}]}"#
        try withModelFolder(["tokenizer_config.json": config]) { folder throws in #expect(try loadedSource(folder) == "plain") }
        try withModelFolder(["chat_templates/default.jinja": "dir default", "chat_templates/tool_use.jinja": "tools"]) { folder throws in
            #expect(try loadedSource(folder) == "dir default")
        }
    }

    @Test func skipsConfigsWithoutATemplate() throws {
        try withModelFolder(["processor_config.json": #"{"image_seq_len": 64}"#, "tokenizer_config.json": #"{"chat_template": null}"#]) { folder throws in
            #expect(try ChatTemplate.load(fromModelFolder: folder) == nil)
        }
    }

    @Test func keepsTheJinjaFileVerbatim() throws {
        let source = "{%- for m in messages %}{{ m.content }}{% endfor -%}\r\n"
        try withModelFolder(["chat_template.jinja": source]) { folder throws in
            #expect(try ChatTemplate.load(fromModelFolder: folder)?.source == source)
        }
    }

    @Test func namesTheMalformedFile() throws {
        let broken: [(files: [String: String], file: String)] = [
            (["tokenizer_config.json": #"{"chat_template": "x",}"#], "tokenizer_config.json"),
            (["chat_template.json": #"{"template": "x"}"#], "chat_template.json"),
            (["chat_template.json": "[1, 2]"], "chat_template.json"),
            (["processor_config.json": "{not json"], "processor_config.json"),
            (["tokenizer_config.json": #"{"chat_template": 42}"#], "tokenizer_config.json"),
            (["tokenizer_config.json": #"{"chat_template": [{"name": "tool_use", "template": "t"}]}"#], "tokenizer_config.json"),
            (["chat_template.jinja": "{% if %}"], "chat_template.jinja"),
            (["chat_templates/tool_use.jinja": "t"], "chat_templates"),
            (["chat_template.json": #"{"chat_template": "x"}"#, "chat_templates/extra.jinja": "t"], "chat_template.json"),
        ]
        for (files, file) in broken {
            try withModelFolder(files) { folder in
                let error = try #require(loadError(folder), "\(files)")
                #expect(error.file == file, "\(files)")
                #expect(error.description.contains(file))
            }
        }
    }

    @Test func reportsTheLineOfATemplateSyntaxError() throws {
        try withModelFolder(["chat_template.jinja": "ok\n{{ x | nope }}"]) { folder in
            let error = try #require(loadError(folder))
            #expect(error.kind == .syntax)
            #expect(error.line == 2)
            #expect(error.file == "chat_template.jinja")
        }
    }

    @Test func refusesAMissingFolder() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-model-\(UUID().uuidString)")
        #expect(loadError(missing)?.kind == .invalidFile)
    }
}
