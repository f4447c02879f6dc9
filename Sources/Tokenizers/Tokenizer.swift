import Foundation

/// A HuggingFace `tokenizer.json`, encoding and decoding as the `tokenizers` library does.
///
/// Supported: the BPE model (byte-level as in GPT-2/SmolLM2/Llama-3/Qwen2, and SentencePiece
/// style with byte fallback as in Llama-2/Mistral/Gemma) with the normalizers, pre-tokenizers,
/// post-processors and decoders those use. Anything else in the file is refused by name.
public struct Tokenizer: Sendable {
    private let model: BPEModel
    private let normalizer: Normalizer?
    private let preTokenizer: PreTokenizer?
    private let postProcessor: PostProcessor?
    private let decoder: Decoder?
    private let addedByID: [Int: AddedToken]
    private let addedByContent: [String: AddedToken]
    /// Added tokens matched on the raw text, and those matched after normalization.
    private let rawMatcher: AddedTokenMatcher
    private let normalizedMatcher: AddedTokenMatcher

    /// Loads `tokenizer.json`.
    public init(contentsOf url: URL) throws(TokenizerError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError(url.path, "cannot be read (\(error.localizedDescription))")
        }
        try self.init(json: data, name: url.path)
    }

    /// Parses the contents of a `tokenizer.json`; `name` is used in errors.
    public init(json data: Data, name: String = "tokenizer.json") throws(TokenizerError) {
        let root: JSONObject
        do {
            root = try JSONObject(try JSONSerialization.jsonObject(with: data), path: name)
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw TokenizerError(name, "is not valid JSON")
        }
        model = try BPEModel(root.object("model"))
        normalizer = root.isNull("normalizer") ? nil : try Normalizer(root.object("normalizer"))
        preTokenizer = root.isNull("pre_tokenizer") ? nil : try PreTokenizer(root.object("pre_tokenizer"))
        postProcessor = root.isNull("post_processor") ? nil : try PostProcessor(root.object("post_processor"))
        decoder = root.isNull("decoder") ? nil : try Decoder(root.object("decoder"))
        var added: [AddedToken] = []
        if !root.isNull("added_tokens") {
            for (index, item) in try root.array("added_tokens").enumerated() {
                added.append(try AddedToken(JSONObject(item, path: "\(name).added_tokens[\(index)]")))
            }
        }
        addedByID = Dictionary(added.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        addedByContent = Dictionary(added.map { ($0.content, $0) }, uniquingKeysWith: { $1 })
        rawMatcher = AddedTokenMatcher(added.filter { !$0.normalized })
        // Like tokenizers, a `normalized` token is looked for as the normalizer spells it.
        let normalizer = self.normalizer
        normalizedMatcher = AddedTokenMatcher(added.filter { $0.normalized }) { normalizer?.normalize($0.content) ?? $0.content }
    }

    // MARK: Vocabulary

    /// The number of ids: the model's vocabulary and the added tokens.
    public var vocabularySize: Int {
        max((model.tokens.keys.max() ?? -1), (addedByID.keys.max() ?? -1)) + 1
    }

    /// The id of a token string (added tokens first, as tokenizers does).
    public func id(for token: String) -> Int? {
        addedByContent[token]?.id ?? model.vocabulary[token]
    }

    /// The token string of an id.
    public func token(for id: Int) -> String? {
        addedByID[id]?.content ?? model.tokens[id]
    }

    /// Whether `id` is an added token marked special (skipped by `decode(skipSpecialTokens:)`).
    public func isSpecial(_ id: Int) -> Bool {
        addedByID[id]?.special ?? false
    }

    // MARK: Encoding

    /// The ids of `text`. With `addSpecialTokens`, the post-processor adds BOS/EOS as configured.
    public func encode(_ text: String, addSpecialTokens: Bool = true) throws(TokenizerError) -> [Int] {
        var ids: [Int] = []
        for segment in rawMatcher.split(Substring(text)) {
            switch segment {
            case .token(let token):
                ids.append(token.id)
            case .text(let raw):
                let normalized = normalizer.map { Substring($0.normalize(String(raw))) } ?? raw
                for inner in normalizedMatcher.split(normalized) {
                    switch inner {
                    case .token(let token): ids.append(token.id)
                    case .text(let piece):
                        let isFirst = raw.startIndex == text.startIndex && piece.startIndex == normalized.startIndex
                        try encodeWords(Piece(text: piece, isFirst: isFirst), into: &ids)
                    }
                }
            }
        }
        if addSpecialTokens, let postProcessor { ids = postProcessor.process(ids) }
        return ids
    }

    private func encodeWords(_ piece: Piece, into ids: inout [Int]) throws(TokenizerError) {
        guard !piece.text.isEmpty else { return }
        let words = preTokenizer?.preTokenize([piece]) ?? [piece]
        for word in words where !word.text.isEmpty {
            ids += try model.tokenize(word.text)
        }
    }

    // MARK: Decoding

    /// The text of `ids`. Ids with no token are ignored, as tokenizers does.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        let tokens = ids.compactMap { id -> String? in
            if skipSpecialTokens && isSpecial(id) { return nil }
            return token(for: id)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decode(tokens).joined()
    }
}
