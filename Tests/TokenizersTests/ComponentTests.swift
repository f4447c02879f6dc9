import Foundation
import Testing
import TestSupport
@testable import Tokenizers

/// Tests/Fixtures/tokenizers/components.json: each normalizer and pre-tokenizer configuration
/// applied alone by HuggingFace `tokenizers` (every Split behaviour, with and without invert).
struct ComponentExpectations: Decodable {
    struct Normalized: Decodable {
        let outputs: [String]
    }

    struct PreTokenized: Decodable {
        let outputs: [[String]]
    }

    let texts: [String]
    let normalizers: [String: Normalized]
    let pre_tokenizers: [String: PreTokenized]
}

@Suite struct ComponentTests {
    static let expected = try! Fixtures.json(ComponentExpectations.self, "tokenizers/components.json")
    /// The component's tokenizer.json configuration, as JSONSerialization reads it.
    static func config(_ kind: String, _ name: String) throws -> Any {
        let raw = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("tokenizers/components.json"))) as! [String: Any]
        return ((raw[kind] as! [String: Any])[name] as! [String: Any])["config"]!
    }

    @Test(arguments: expected.normalizers.keys.sorted())
    func normalizer(_ name: String) throws {
        let normalizer = try Normalizer(JSONObject(try Self.config("normalizers", name), path: name))
        let outputs = Self.expected.normalizers[name]!.outputs
        let failures = zip(Self.expected.texts, outputs).filter { normalizer.normalize($0) != $1 }
        #expect(failures.isEmpty, "\(name): \(failures.count) differ, e.g. \(failures.first.map { "\($0.0.debugDescription) → \(normalizer.normalize($0.0).debugDescription) ≠ \($0.1.debugDescription)" } ?? "")")
    }

    @Test(arguments: expected.pre_tokenizers.keys.sorted())
    func preTokenizer(_ name: String) throws {
        let preTokenizer = try PreTokenizer(JSONObject(try Self.config("pre_tokenizers", name), path: name))
        let outputs = Self.expected.pre_tokenizers[name]!.outputs
        var failures: [String] = []
        // Empty text never reaches a pre-tokenizer in `encode` (tokenizers drops it first).
        for (text, expected) in zip(Self.expected.texts, outputs) where !text.isEmpty {
            let pieces = preTokenizer.preTokenize([Piece(text: Substring(text), isFirst: true)]).map { String($0.text) }
            if pieces != expected { failures.append("\(text.debugDescription): \(pieces) ≠ \(expected)") }
        }
        #expect(failures.isEmpty, "\(name): \(failures.count) differ, e.g. \(failures.prefix(2))")
    }
}
