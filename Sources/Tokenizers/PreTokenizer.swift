/// A piece of text between added tokens, on its way to becoming words.
struct Piece {
    var text: Substring
    /// Whether it begins at the start of the original input (Metaspace's `prepend_scheme: first`).
    var isFirst: Bool
}

/// How `Split` treats the delimiters it finds (tokenizers' `SplitDelimiterBehavior`).
enum SplitBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// Cuts `text` at `matches` (sorted, non-overlapping).
    func split(_ text: Substring, matches: [Range<String.Index>], invert: Bool) -> [Substring] {
        // (range, isDelimiter) covering all of text.
        var parts: [(Range<String.Index>, Bool)] = []
        var position = text.startIndex
        for match in matches {
            if position < match.lowerBound { parts.append((position..<match.lowerBound, invert)) }
            parts.append((match, !invert))
            position = match.upperBound
        }
        if position < text.endIndex { parts.append((position..<text.endIndex, invert)) }

        var pieces: [Range<String.Index>] = []
        var pendingNext: String.Index?  // start of a delimiter waiting to merge with what follows
        var previousWasDelimiter = false
        for (range, isDelimiter) in parts {
            switch self {
            case .removed:
                if !isDelimiter { pieces.append(range) }
            case .isolated:
                pieces.append(range)
            case .mergedWithPrevious:
                if isDelimiter, let last = pieces.last, !previousWasDelimiter {
                    pieces[pieces.count - 1] = last.lowerBound..<range.upperBound
                } else {
                    pieces.append(range)
                }
            case .mergedWithNext:
                if isDelimiter {
                    if pendingNext == nil { pendingNext = range.lowerBound } else { pieces.append(pendingNext!..<range.lowerBound); pendingNext = range.lowerBound }
                } else {
                    pieces.append((pendingNext ?? range.lowerBound)..<range.upperBound)
                    pendingNext = nil
                }
            case .contiguous:
                // Neighbours of the same kind merge: runs of delimiters, and (with invert) runs of
                // what the pattern matched.
                if isDelimiter == previousWasDelimiter, let last = pieces.last {
                    pieces[pieces.count - 1] = last.lowerBound..<range.upperBound
                } else {
                    pieces.append(range)
                }
            }
            previousWasDelimiter = isDelimiter
        }
        if let pendingNext { pieces.append(pendingNext..<text.endIndex) }
        return pieces.filter { !$0.isEmpty }.map { text.scalarSlice($0) }
    }
}

/// `pre_tokenizer` of tokenizer.json: splits normalized text into words.
enum PreTokenizer: Sendable {
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(Pattern, SplitBehavior, invert: Bool)
    case digits(individual: Bool)
    case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme, split: Bool)
    case sequence([PreTokenizer])

    enum PrependScheme: String, Sendable {
        case always, first, never
    }

    init(_ json: JSONObject) throws(TokenizerError) {
        switch json.type {
        case "ByteLevel":
            self = .byteLevel(addPrefixSpace: try json.bool("add_prefix_space", default: true),
                              useRegex: try json.bool("use_regex", default: true))
        case "Split":
            let name = try json.string("behavior")
            guard let behavior = SplitBehavior(rawValue: name) else {
                throw TokenizerError("\(json.path).behavior", "unknown split behaviour '\(name)'")
            }
            self = .split(try Pattern(json.object("pattern")), behavior, invert: try json.bool("invert", default: false))
        case "Digits":
            self = .digits(individual: try json.bool("individual_digits", default: false))
        case "Metaspace":
            let settings = try Self.metaspaceSettings(json)
            self = .metaspace(replacement: settings.replacement, prependScheme: settings.prependScheme, split: settings.split)
        case "Sequence":
            let items = try json.array("pretokenizers")
            var list: [PreTokenizer] = []
            for (index, item) in items.enumerated() {
                list.append(try PreTokenizer(JSONObject(item, path: "\(json.path).pretokenizers[\(index)]")))
            }
            self = .sequence(list)
        default:
            throw TokenizerError(json.path, "pre-tokenizer '\(json.type)' is not supported (supported: ByteLevel, Split, Digits, Metaspace, Sequence)")
        }
    }

    /// Metaspace's settings, shared by the pre-tokenizer and the decoder.
    static func metaspaceSettings(_ json: JSONObject) throws(TokenizerError) -> (replacement: Unicode.Scalar, prependScheme: PrependScheme, split: Bool) {
        let replacement = try json.string("replacement")
        guard replacement.unicodeScalars.count == 1, let character = replacement.unicodeScalars.first else {
            throw TokenizerError("\(json.path).replacement", "must be one character")
        }
        var scheme = PrependScheme.always
        if let name = try json.optionalString("prepend_scheme") {
            guard let parsed = PrependScheme(rawValue: name) else {
                throw TokenizerError("\(json.path).prepend_scheme", "unknown value '\(name)'")
            }
            scheme = parsed
        } else if !(try json.bool("add_prefix_space", default: true)) {
            scheme = .never  // the pre-0.19 spelling
        }
        return (character, scheme, try json.bool("split", default: true))
    }

    func preTokenize(_ pieces: [Piece]) -> [Piece] {
        switch self {
        case .sequence(let list):
            return list.reduce(pieces) { $1.preTokenize($0) }
        case .byteLevel(let addPrefixSpace, let useRegex):
            return pieces.flatMap { piece -> [Piece] in
                var text = piece.text
                if addPrefixSpace && text.unicodeScalars.first != " " { text = Substring(" " + text) }
                let words = useRegex ? GPT2Splitter.split(text) : [text]
                return words.map { Piece(text: Substring(ByteLevelTable.encode($0)), isFirst: false) }
            }
        case .split(let pattern, let behavior, let invert):
            return pieces.flatMap { piece in
                behavior.split(piece.text, matches: pattern.matches(in: piece.text), invert: invert)
                    .enumerated().map { Piece(text: $1, isFirst: piece.isFirst && $0 == 0) }
            }
        case .digits(let individual):
            return pieces.flatMap { piece in
                let matches = Self.digitRuns(piece.text, individual: individual)
                return SplitBehavior.isolated.split(piece.text, matches: matches, invert: false)
                    .enumerated().map { Piece(text: $1, isFirst: piece.isFirst && $0 == 0) }
            }
        case .metaspace(let replacement, let scheme, let split):
            // Scalar by scalar: a space followed by a combining mark is still a space here.
            return pieces.flatMap { piece -> [Piece] in
                var scalars = String.UnicodeScalarView(piece.text.unicodeScalars.map { $0 == " " ? replacement : $0 })
                let prepend = scheme == .always || (scheme == .first && piece.isFirst)
                if prepend && scalars.first != replacement { scalars.insert(replacement, at: scalars.startIndex) }
                let whole = Substring(String(scalars))
                guard split else { return [Piece(text: whole, isFirst: piece.isFirst)] }
                let view = whole.unicodeScalars
                let marks = view.indices.filter { view[$0] == replacement }.map { $0..<view.index(after: $0) }
                return SplitBehavior.mergedWithNext.split(whole, matches: marks, invert: false)
                    .enumerated().map { Piece(text: $1, isFirst: piece.isFirst && $0 == 0) }
            }
        }
    }

    /// Ranges of numeric characters (Rust's `char::is_numeric`): each alone, or in runs.
    private static func digitRuns(_ text: Substring, individual: Bool) -> [Range<String.Index>] {
        var ranges: [Range<String.Index>] = []
        var index = text.startIndex
        let scalars = text.unicodeScalars
        while index < text.endIndex {
            let next = scalars.index(after: index)
            if isNumeric(scalars[index]) {
                if !individual, let last = ranges.last, last.upperBound == index {
                    ranges[ranges.count - 1] = last.lowerBound..<next
                } else {
                    ranges.append(index..<next)
                }
            }
            index = next
        }
        return ranges
    }

    private static func isNumeric(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }
}

extension Substring {
    /// The part of this substring in `range`, cut between Unicode scalars. (Plain subscripting
    /// rounds to Character boundaries, which would glue a space to a following combining mark;
    /// tokenizers works on scalars.)
    func scalarSlice(_ range: Range<String.Index>) -> Substring {
        Substring(unicodeScalars[range])
    }
}
