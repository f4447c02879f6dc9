import Foundation
import Testing
import TestSupport
import Tokenizers

@Suite struct TokenizerLoadingTests {
    let smolvlm = Fixtures.url("tokenizers/smolvlm")

    @Test func smolVLMLayout() throws {
        let tokenizer = try Tokenizer(contentsOf: smolvlm.appendingPathComponent("tokenizer.json"))
        #expect(tokenizer.vocabularySize == 49280)
        #expect(tokenizer.id(for: "<image>") == 49190)
        #expect(tokenizer.id(for: "<end_of_utterance>") == 49279)
        #expect(tokenizer.id(for: "<global-img>") == 49152)
        #expect(tokenizer.id(for: "<row_2_col_3>") == 49153 + 6 + 2)
        #expect(tokenizer.token(for: 49189) == "<fake_token_around_image>")
        #expect(tokenizer.isSpecial(49190) && !tokenizer.isSpecial(300))
    }

    /// tokenizer_config.json names the tokens; generation_config.json's ids win for generation.
    @Test func specialTokens() throws {
        let tokenizer = try Tokenizer(contentsOf: smolvlm.appendingPathComponent("tokenizer.json"))
        let special = try SpecialTokens.load(from: smolvlm, tokenizer: tokenizer)
        #expect(special.bos == 1 && special.pad == 2 && special.unk == 0)
        #expect(special.eos == [49279, 2])
        #expect(special.strings["eos_token"] == "<end_of_utterance>" && special.strings["bos_token"] == "<|im_start|>")
    }

    @Test func specialTokensAsAddedTokenObjects() throws {
        let folder = try temporaryFolder(["tokenizer_config.json": #"{"bos_token": {"__type": "AddedToken", "content": "<s>"}, "eos_token": "</s>"}"#])
        let tokenizer = try Tokenizer(contentsOf: Fixtures.url("tokenizers/llama2/tokenizer.json"))
        let special = try SpecialTokens.load(from: folder, tokenizer: tokenizer)
        #expect(special.bos == 1 && special.eos == [2] && special.pad == nil)
    }

    @Test func specialTokenMissingFromTokenizer() throws {
        let folder = try temporaryFolder(["tokenizer_config.json": #"{"eos_token": "<|nope|>"}"#])
        let tokenizer = try Tokenizer(contentsOf: Fixtures.url("tokenizers/llama2/tokenizer.json"))
        let error = try #require(throws: TokenizerError.self) { try SpecialTokens.load(from: folder, tokenizer: tokenizer) }
        #expect(error.description.contains("eos_token") && error.description.contains("<|nope|>"))
    }

    /// An unsupported component is refused by name, never silently skipped.
    @Test(arguments: [
        ("normalizer", #"{"type": "BertNormalizer"}"#, "BertNormalizer"),
        ("pre_tokenizer", #"{"type": "Whitespace"}"#, "Whitespace"),
        ("post_processor", #"{"type": "RobertaProcessing"}"#, "RobertaProcessing"),
        ("decoder", #"{"type": "WordPiece"}"#, "WordPiece"),
        ("model", #"{"type": "Unigram", "vocab": []}"#, "Unigram"),
    ])
    func unsupportedComponent(_ field: String, _ replacement: String, _ name: String) throws {
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("tokenizers/llama2/tokenizer.json"))) as! [String: Any]
        object[field] = try JSONSerialization.jsonObject(with: Data(replacement.utf8))
        let data = try JSONSerialization.data(withJSONObject: object)
        let error = try #require(throws: TokenizerError.self) { try Tokenizer(json: data) }
        #expect(error.description.contains(name) && error.description.contains(field))
    }

    @Test func notJSON() throws {
        let error = try #require(throws: TokenizerError.self) { try Tokenizer(json: Data("{".utf8), name: "bad/tokenizer.json") }
        #expect(error.description == "bad/tokenizer.json: is not valid JSON")
    }

    @Test func mergeWithUnknownToken() throws {
        let json = #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}"#
        let error = try #require(throws: TokenizerError.self) { try Tokenizer(json: Data(json.utf8)) }
        #expect(error.description.contains("merges[0]"))
    }

    @Test(arguments: [-1000, Int(Int32.max) + 1])
    func addedTokenIDOutOfRange(_ id: Int) throws {
        let json = #"{"added_tokens": [{"id": \#(id), "content": "<x>"}], "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#
        let error = try #require(throws: TokenizerError.self) { try Tokenizer(json: Data(json.utf8)) }
        #expect(error.description.contains("added_tokens[0].id") && error.description.contains("out of range"), "\(error)")
    }

    /// Streaming never releases half a character: a 4-byte emoji in byte-fallback tokens comes
    /// out whole, on its last byte.
    @Test func streamingHoldsPartialCharacters() throws {
        let tokenizer = try Tokenizer(contentsOf: Fixtures.url("tokenizers/llama2/tokenizer.json"))
        let ids = try tokenizer.encode("ok 😀", addSpecialTokens: false)
        var stream = DecodeStream(tokenizer: tokenizer)
        let chunks = ids.map { stream.step($0) }
        #expect(chunks.suffix(4) == [nil, nil, nil, "😀"])
        #expect(chunks.compactMap { $0 }.joined() == tokenizer.decode(ids))
    }

    private func temporaryFolder(_ files: [String: String]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return url
    }
}

/// An added token marked `normalized` is found as the normalizer spells it (tokenizers'
/// behaviour, checked with tokenizers 0.23.3): with Lowercase, "Hello" matches "HeLLo".
@Suite struct NormalizedAddedTokenTests {
    @Test func matchesNormalizedSpelling() throws {
        let json = #"""
        {"added_tokens": [{"id": 7, "content": "Hello", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": false}],
         "normalizer": {"type": "Lowercase"}, "pre_tokenizer": null, "post_processor": null, "decoder": null,
         "model": {"type": "BPE", "vocab": {"h": 0, "e": 1, "l": 2, "o": 3, "H": 4, "x": 5, " ": 6}, "merges": []}}
        """#
        let tokenizer = try Tokenizer(json: Data(json.utf8))
        #expect(try tokenizer.encode("Hello") == [7])
        #expect(try tokenizer.encode("hello x") == [7, 6, 5])
        #expect(try tokenizer.encode("HeLLo") == [7])
        #expect(try tokenizer.encode("xHello") == [5, 7])
    }
}
