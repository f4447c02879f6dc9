/// One entry of tokenizer.json's `added_tokens`.
public struct AddedToken: Sendable, Equatable {
    public let id: Int
    public let content: String
    public let special: Bool
    let singleWord: Bool
    let leftStrip: Bool
    let rightStrip: Bool
    /// Matched against normalized text (true) or the raw input (false).
    let normalized: Bool

    init(_ json: JSONObject) throws(TokenizerError) {
        id = try json.int("id")
        // The range of the model's own vocabulary (BPEModel), so that ids can be counted and stored as Int32.
        guard (0...Int(Int32.max)).contains(id) else { throw TokenizerError("\(json.path).id", "id \(id) is out of range") }
        content = try json.string("content")
        guard !content.isEmpty else { throw TokenizerError("\(json.path).content", "an added token cannot be empty") }
        special = try json.bool("special", default: false)
        singleWord = try json.bool("single_word", default: false)
        leftStrip = try json.bool("lstrip", default: false)
        rightStrip = try json.bool("rstrip", default: false)
        normalized = try json.bool("normalized", default: !special)
    }
}

/// Finds added tokens in text before the model sees it, as tokenizers' `AddedVocabulary` does:
/// leftmost-longest matches, `single_word` / `lstrip` / `rstrip` applied around each.
struct AddedTokenMatcher: Sendable {
    /// Tokens by their first Unicode scalar, longest first.
    private let byFirstScalar: [Unicode.Scalar: [(scalars: [Unicode.Scalar], token: AddedToken)]]

    /// `spelling` gives the text each token is found as (its content, or its normalized content).
    init(_ tokens: [AddedToken], spelling: (AddedToken) -> String = \.content) {
        var table: [Unicode.Scalar: [(scalars: [Unicode.Scalar], token: AddedToken)]] = [:]
        for token in tokens {
            let scalars = Array(spelling(token).unicodeScalars)
            guard !scalars.isEmpty else { continue }
            table[scalars[0], default: []].append((scalars, token))
        }
        for key in table.keys { table[key]!.sort { $0.scalars.count > $1.scalars.count } }
        byFirstScalar = table
    }

    enum Segment {
        case text(Substring)
        case token(AddedToken)
    }

    /// `text` cut into plain text and added tokens, in order.
    func split(_ text: Substring) -> [Segment] {
        if byFirstScalar.isEmpty { return [.text(text)] }
        let view = text.unicodeScalars
        var segments: [Segment] = []
        var consumed = view.startIndex  // end of the last token (with its stripped spaces)
        var index = view.startIndex
        while index < view.endIndex {
            // The longest token starting here (leftmost-longest, like the Aho-Corasick automaton
            // tokenizers uses). A `single_word` one touching a word is skipped over, not retried shorter.
            guard let (length, token) = byFirstScalar[view[index]]?.lazy
                .filter({ view[index...].starts(with: $0.scalars) }).map({ ($0.scalars.count, $0.token) }).first
            else {
                index = view.index(after: index)
                continue
            }
            guard isAcceptable(token, in: view, from: index, length: length) else {
                index = view.index(index, offsetBy: length)
                continue
            }
            var start = index
            var end = view.index(index, offsetBy: length)
            if token.leftStrip {
                while start > consumed, view[view.index(before: start)].properties.isWhitespace { start = view.index(before: start) }
            }
            if token.rightStrip {
                while end < view.endIndex, view[end].properties.isWhitespace { end = view.index(after: end) }
            }
            if consumed < start { segments.append(.text(Substring(view[consumed..<start]))) }
            segments.append(.token(token))
            consumed = end
            index = end
        }
        if consumed < view.endIndex { segments.append(.text(Substring(view[consumed...]))) }
        return segments
    }

    /// `single_word` tokens must not touch word characters on either side.
    private func isAcceptable(_ token: AddedToken, in view: Substring.UnicodeScalarView, from index: String.Index, length: Int) -> Bool {
        guard token.singleWord else { return true }
        let end = view.index(index, offsetBy: length)
        let before = index > view.startIndex ? view[view.index(before: index)] : nil
        let after = end < view.endIndex ? view[end] : nil
        return !(before.map(Self.isWordCharacter) ?? false) && !(after.map(Self.isWordCharacter) ?? false)
    }

    /// Rust regex's `\w`: alphabetic, marks, decimal digits, connector punctuation, join controls.
    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        if properties.isAlphabetic || properties.isJoinControl { return true }
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }
}
