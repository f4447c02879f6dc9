/// Turns ids into text one at a time, for streaming: a piece of text is released only once it
/// is complete, never half a UTF-8 character or a lone byte-fallback fragment. Same rule as
/// tokenizers' `DecodeStream`: decode a short window of ids, and emit what grew beyond the
/// previous window's text unless it ends in U+FFFD.
public struct DecodeStream: Sendable {
    private let tokenizer: Tokenizer
    private let skipSpecialTokens: Bool
    private var ids: [Int] = []
    private var prefix = ""
    private var prefixIndex = 0

    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one id; returns the text it completes, or nil if none yet.
    public mutating func step(_ id: Int) -> String? {
        if prefix.isEmpty && !ids.isEmpty {
            let newPrefix = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
            if !newPrefix.hasSuffix("\u{FFFD}") {
                prefix = newPrefix
                prefixIndex = ids.count
            }
        }
        ids.append(id)
        let text = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
        guard text.utf8.count > prefix.utf8.count, !text.hasSuffix("\u{FFFD}"),
              text.utf8.starts(with: prefix.utf8) else { return nil }
        let newText = String(decoding: text.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
        let newPrefixIndex = ids.count - prefixIndex
        ids.removeFirst(prefixIndex)
        prefix = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
        prefixIndex = newPrefixIndex
        return newText
    }
}
