import Foundation
import Testing
import TestSupport
import Tokenizers

/// Tests/Fixtures/tokenizers/NAME/expected.json: what HuggingFace `tokenizers` makes of the corpus.
struct TokenizerExpectations: Decodable {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let ids_no_special: [Int]
        let decoded: String
        let decoded_skip: String
        let stream: [String?]
    }

    let tokenizers: String
    let cases: [Case]
}

@Suite struct TokenizerFixtureTests {
    static let names = ["smolvlm", "llama3", "qwen2", "llama2", "metaspace"]

    func load(_ name: String) throws -> (Tokenizer, [TokenizerExpectations.Case]) {
        let tokenizer = try Tokenizer(contentsOf: Fixtures.url("tokenizers/\(name)/tokenizer.json"))
        let expected = try Fixtures.json(TokenizerExpectations.self, "tokenizers/\(name)/expected.json")
        return (tokenizer, expected.cases)
    }

    /// Lists up to five disagreements, so one bug does not print two thousand failures.
    func report(_ failures: [String], _ what: String, of total: Int) {
        #expect(failures.isEmpty, "\(what): \(failures.count) of \(total) differ, e.g.\n\(failures.prefix(5).joined(separator: "\n"))")
    }

    @Test(arguments: names)
    func encodesLikeTokenizers(_ name: String) throws {
        let (tokenizer, cases) = try load(name)
        #expect(cases.count >= 2000)
        var withSpecial: [String] = [], withoutSpecial: [String] = []
        for c in cases {
            let ids = try tokenizer.encode(c.text, addSpecialTokens: true)
            if ids != c.ids { withSpecial.append("\(c.text.debugDescription): \(ids) ≠ \(c.ids)") }
            let plain = try tokenizer.encode(c.text, addSpecialTokens: false)
            if plain != c.ids_no_special { withoutSpecial.append("\(c.text.debugDescription): \(plain) ≠ \(c.ids_no_special)") }
        }
        report(withSpecial, "\(name) ids", of: cases.count)
        report(withoutSpecial, "\(name) ids without special tokens", of: cases.count)
    }

    @Test(arguments: names)
    func decodesLikeTokenizers(_ name: String) throws {
        let (tokenizer, cases) = try load(name)
        var keep: [String] = [], skip: [String] = [], stream: [String] = []
        for c in cases {
            let text = tokenizer.decode(c.ids)
            if text != c.decoded { keep.append("\(c.ids): \(text.debugDescription) ≠ \(c.decoded.debugDescription)") }
            let skipped = tokenizer.decode(c.ids, skipSpecialTokens: true)
            if skipped != c.decoded_skip { skip.append("\(c.ids): \(skipped.debugDescription) ≠ \(c.decoded_skip.debugDescription)") }
            var decoder = DecodeStream(tokenizer: tokenizer)
            let chunks = c.ids.map { decoder.step($0) }
            if chunks != c.stream { stream.append("\(c.ids): \(chunks) ≠ \(c.stream)") }
        }
        report(keep, "\(name) decode", of: cases.count)
        report(skip, "\(name) decode skipping special tokens", of: cases.count)
        report(stream, "\(name) streaming decode", of: cases.count)
    }
}
