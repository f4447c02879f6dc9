import Foundation
import Testing
import TestSupport

/// `vqa IMAGE... QUESTION` and `vqa prompt` end to end on the random-weight SmolVLM fixtures.
@Suite struct AskCommandTests {
    let model = Fixtures.url("smolvlm/idefics3-f32").path

    struct Expected: Decodable {
        struct Case: Decodable {
            let name: String
            let input_ids: [Int]
            let greedy: [Int]
        }
        let cases: [Case]
    }

    func expected(_ name: String, folder: String = "idefics3-f32") throws -> Expected.Case {
        try #require(try Fixtures.json(Expected.self, "smolvlm/\(folder)/expected.json").cases.first { $0.name == name })
    }

    /// `--json --logprobs 5`: the greedy tokens equal transformers', each with 5 alternatives.
    @Test func jsonWithLogprobs() throws {
        let result = try VQAProcess.run(["--model", model, "--json", "--logprobs", "5", "--max-tokens", "20",
                                         "Tests/Fixtures/processor/images/landscape-chart.png", "What is in this chart?"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let tokens = try #require(object["tokens"] as? [[String: Any]])
        #expect(tokens.compactMap { $0["id"] as? Int } == (try expected("one image").greedy))
        #expect(tokens.allSatisfy { ($0["top_logprobs"] as? [[String: Any]])?.count == 5 })
        let usage = try #require(object["usage"] as? [String: Int])
        #expect(usage["prompt_tokens"] == (try expected("one image").input_ids.count) && usage["completion_tokens"] == 20)
        #expect(object["text"] is String && (object["timings"] as? [String: Double])?["vision_seconds"] != nil)
    }

    /// `--kv-cache f16` keeps past keys and values in half precision: on this fixture the greedy
    /// tokens stay transformers' float32 ones; a format it does not know is refused by name.
    @Test func halfPrecisionCache() throws {
        let result = try VQAProcess.run(["--model", model, "--kv-cache", "f16", "--json", "--max-tokens", "20", "--verbose",
                                         "Tests/Fixtures/processor/images/landscape-chart.png", "What is in this chart?"])
        #expect(result.status == 0 && result.stderr.contains("weights f32, KV cache f16;"), "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let tokens = try #require(object["tokens"] as? [[String: Any]])
        #expect(tokens.compactMap { $0["id"] as? Int } == (try expected("one image").greedy))
        let refused = try VQAProcess.run(["--model", model, "--kv-cache", "f8", "Tests/Fixtures/processor/images/landscape-chart.png", "?"])
        #expect(refused.status != 0 && refused.stderr.contains("--kv-cache") && refused.stderr.contains("f8"))
    }

    /// The streamed answer is the decoded greedy continuation.
    @Test func streamsTheAnswer() throws {
        let result = try VQAProcess.run(["--model", model, "--max-tokens", "20", "--no-image-splitting",
                                         "Tests/Fixtures/processor/images/landscape-chart.png", "Caption?", "--verbose"])
        #expect(result.status == 0, "\(result.stderr)")
        let decoded = try VQAProcess.run(["tokenize", "--model", model, "--decode", "--skip-special"]
                                         + (try expected("splitting off").greedy).map(String.init))
        #expect(result.stdout == decoded.stdout)
        #expect(result.stderr.contains("weights f32, KV cache f32;") && result.stderr.contains("prefill 18 tokens"))
    }

    /// `--messages`: two turns, an image given by a path relative to the file; `prompt --ids`
    /// prints transformers' input_ids.
    @Test func messagesFileAndPromptIDs() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("messages-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Fixtures.url("processor/images/wide-513x77.png"), to: folder.appendingPathComponent("wide.png"))
        let messages = """
            [{"role": "user", "content": [{"type": "image", "path": "wide.png"}, {"type": "text", "text": "What is it?"}]},
             {"role": "assistant", "content": [{"type": "text", "text": "A strip."}]},
             {"role": "user", "content": [{"type": "text", "text": "Which colours?"}]}]
            """
        let file = folder.appendingPathComponent("conversation.json")
        try messages.write(to: file, atomically: true, encoding: .utf8)
        let result = try VQAProcess.run(["prompt", "--model", model, "--messages", file.path, "--ids"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "<|im_start|>User:<image>What is it?<end_of_utterance>")
        #expect(lines.dropLast().last.map { $0.split(separator: " ").compactMap { Int($0) } } == (try expected("wide image, two turns").input_ids))
    }

    @Test func errorsAPersonCanActOn() throws {
        let chart = "Tests/Fixtures/processor/images/landscape-chart.png"
        let cases: [([String], String)] = [
            (["--model", "/nonexistent/model", chart, "q"], "/nonexistent/model: no such model folder"),
            (["--model", Fixtures.url("llama/gqa-tied-f32").path, chart, "q"], "model_type 'llama' is not supported (supported: idefics3, smolvlm)"),
            (["--model", model, "missing.png", "q"], "missing.png: cannot read the file (no such file)"),
            (["--model", model, "Tests/Fixtures/jpeg/LICENSE.md", "q"], "not a PNG or JPEG image"),
            (["--model", model, "--temperature=-1", chart, "q"], "temperature must be ≥ 0"),
            // Checked before the model is looked for: a caption run would otherwise fail each image.
            (["--model", "/nonexistent/model", "--max-tokens", "0", chart, "q"], "max_new_tokens must be at least 1"),
            (["caption", "--model", "/nonexistent/model", "--top-p", "2", "--output", "/nonexistent/out.jsonl", "Assets"], "top_p must be in (0, 1]"),
            (["--model", model], "give the images and a question"),
            (["--model", model, chart], "the last argument must be the question"),
        ]
        for (arguments, message) in cases {
            let result = try VQAProcess.run(arguments)
            #expect(result.status != 0 && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }
}

@Suite struct ChatCommandTests {
    @Test func interactiveSession() throws {
        let input = "/image Assets/chart.png\nWhat is this?\n/image missing.png\n/bogus\n/clear\nHi\n/quit\n"
        let result = try VQAProcess.run(["chat", "--model", Fixtures.url("smolvlm/idefics3-f32").path, "--max-tokens", "3"], input: input)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("(image 1 attached: Assets/chart.png)"))
        #expect(result.stdout.contains("missing.png: cannot read the file (no such file)"))
        #expect(result.stdout.contains("unknown command /bogus"))
        #expect(result.stdout.contains("(conversation cleared)"))
        #expect(result.stdout.components(separatedBy: "> ").count == 8)
    }
}
