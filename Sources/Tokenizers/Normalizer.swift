import Foundation

/// `normalizer` of tokenizer.json: rewrites text before it is split into words.
enum Normalizer: Sendable {
    case nfc, nfd, nfkc, nfkd, lowercase
    case replace(Pattern, String)
    case prepend(String)
    case strip(left: Bool, right: Bool)
    case sequence([Normalizer])

    init(_ json: JSONObject) throws(TokenizerError) {
        switch json.type {
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Lowercase": self = .lowercase
        case "Replace": self = .replace(try Pattern(json.object("pattern")), try json.string("content"))
        case "Prepend": self = .prepend(try json.string("prepend"))
        case "Strip": self = .strip(left: try json.bool("strip_left", default: true), right: try json.bool("strip_right", default: true))
        case "Sequence":
            let items = try json.array("normalizers")
            var normalizers: [Normalizer] = []
            for (index, item) in items.enumerated() {
                normalizers.append(try Normalizer(JSONObject(item, path: "\(json.path).normalizers[\(index)]")))
            }
            self = .sequence(normalizers)
        default:
            throw TokenizerError(json.path, "normalizer '\(json.type)' is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, Replace, Prepend, Strip, Sequence)")
        }
    }

    func normalize(_ text: String) -> String {
        switch self {
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        case .lowercase: return text.lowercased()
        case .replace(let pattern, let content): return pattern.replaceAll(in: text, with: content)
        case .prepend(let prefix): return text.isEmpty ? text : prefix + text
        case .strip(let left, let right):
            var scalars = Substring(text).unicodeScalars
            while left, let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
            while right, let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
            return String(scalars)
        case .sequence(let normalizers): return normalizers.reduce(text) { $1.normalize($0) }
        }
    }
}

/// A `pattern` of Replace and Split: `{"String": "..."}` (literal) or `{"Regex": "..."}`.
struct Pattern: @unchecked Sendable {  // NSRegularExpression is immutable and thread-safe
    enum Kind {
        case literal(String)
        case regex(NSRegularExpression)
    }

    let kind: Kind

    init(_ json: JSONObject) throws(TokenizerError) {
        if let literal = json.values["String"] as? String {
            kind = .literal(literal)
        } else if let source = json.values["Regex"] as? String {
            do { kind = .regex(try NSRegularExpression(pattern: source)) } catch {
                throw TokenizerError(json.path, "regex \(source) does not compile")
            }
        } else {
            throw TokenizerError(json.path, "expected {\"String\": ...} or {\"Regex\": ...}")
        }
    }

    /// The non-overlapping matches in `text`, left to right.
    func matches(in text: Substring) -> [Range<String.Index>] {
        switch kind {
        case .literal(let literal):
            // Scalar by scalar, as Rust's str matching: no Character (grapheme) semantics.
            let needle = Array(literal.unicodeScalars)
            guard let head = needle.first else { return [] }
            let view = text.unicodeScalars
            var ranges: [Range<String.Index>] = []
            var index = view.startIndex
            while index < view.endIndex {
                if view[index] == head, view[index...].starts(with: needle) {
                    let end = view.index(index, offsetBy: needle.count)
                    ranges.append(index..<end)
                    index = end
                } else {
                    index = view.index(after: index)
                }
            }
            return ranges
        case .regex(let regex):
            let string = String(text)
            let ns = NSRange(string.startIndex..<string.endIndex, in: string)
            return regex.matches(in: string, range: ns).compactMap { match in
                guard match.range.length > 0, let range = Range(match.range, in: string) else { return nil }
                // Map back onto `text`'s indices (same characters, offset start).
                let start = text.utf8.index(text.startIndex, offsetBy: string.utf8.distance(from: string.startIndex, to: range.lowerBound))
                let end = text.utf8.index(start, offsetBy: string.utf8.distance(from: range.lowerBound, to: range.upperBound))
                return start..<end
            }
        }
    }

    func replaceAll(in text: String, with content: String) -> String {
        // Built as UTF-8 bytes: appending scalar slices to a String is quadratic on long texts.
        var result: [UInt8] = []
        result.reserveCapacity(text.utf8.count)
        var last = text.startIndex
        for range in matches(in: Substring(text)) {
            result += text.utf8[last..<range.lowerBound]
            result += content.utf8
            last = range.upperBound
        }
        result += text.utf8[last...]
        return String(decoding: result, as: UTF8.self)
    }
}
