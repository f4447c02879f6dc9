import ArgumentParser
import Foundation
import Tokenizers

/// `vqa tokenize`: the ids and pieces a model's tokenizer makes of a text, or the reverse.
struct Tokenize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the token ids and pieces of a text, or decode ids back to text.",
        discussion: """
            Needs only the model folder's tokenizer.json (and tokenizer_config.json / \
            generation_config.json when present). Examples:
              vqa tokenize --model DIR "What is in this chart?"
              vqa tokenize --model DIR --json --file prompt.txt
              vqa tokenize --model DIR --count --file book.txt
              vqa tokenize --model DIR --decode 1 4093 28
            """)

    @OptionGroup var model: ModelOption

    @Flag(name: .long, help: "Print one JSON object {\"ids\": [...], \"tokens\": [...]}.")
    var json = false

    @Flag(name: .long, help: "Print only the number of tokens.")
    var count = false

    @Flag(name: .long, help: "Do not add the special tokens the post-processor adds (BOS, ...).")
    var noSpecial = false

    @Option(name: .long, help: "Read the text from this file instead of the argument.", completion: .file())
    var file: String?

    @Flag(name: .long, help: "Decode the arguments, which are token ids.")
    var decode = false

    @Flag(name: .long, help: "With --decode: leave out special tokens.")
    var skipSpecial = false

    @Argument(help: "The text, or with --decode the ids.")
    var input: [String] = []

    func validate() throws {
        if decode {
            if input.isEmpty { throw ValidationError("--decode needs token ids") }
            if file != nil { throw ValidationError("--decode takes ids as arguments, not --file") }
        } else if (file == nil) == (input.count != 1) {
            throw ValidationError("give the text as one argument (quote it) or with --file")
        }
    }

    func run() async throws {
        let folder = try await model.folder()
        let tokenizerFile = folder.appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: tokenizerFile.path) else {
            throw CommandError("\(folder.path): no tokenizer.json in this folder")
        }
        let tokenizer = try Tokenizer(contentsOf: tokenizerFile)
        if decode {
            let ids = try input.map { text -> Int in
                guard let id = Int(text), id >= 0 else { throw CommandError("'\(text)' is not a token id") }
                guard tokenizer.token(for: id) != nil else {
                    throw CommandError("id \(id) is not in \(tokenizerFile.path) (\(tokenizer.vocabularySize) ids)")
                }
                return id
            }
            print(tokenizer.decode(ids, skipSpecialTokens: skipSpecial))
            return
        }
        let text = try file.map(readTextFile) ?? input[0]
        let ids = try tokenizer.encode(text, addSpecialTokens: !noSpecial)
        if count {
            print(ids.count)
            return
        }
        let tokens = ids.map { tokenizer.token(for: $0) ?? "" }
        if json {
            let object: [String: Any] = ["ids": ids, "tokens": tokens]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(ids.count) tokens")
            let width = String(ids.max() ?? 0).count
            for (id, token) in zip(ids, tokens) {
                let padded = String(repeating: " ", count: width - String(id).count) + String(id)
                print("\(padded)  \(token.debugDescription)\(tokenizer.isSpecial(id) ? "  (special)" : "")")
            }
        }
    }
}
