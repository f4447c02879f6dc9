/// `decoder` of tokenizer.json: turns token strings back into text. Each step maps the list of
/// token strings to a new list, as tokenizers' `decode_chain` does; the result is joined.
enum Decoder: Sendable {
    case byteLevel
    case replace(Pattern, String)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case metaspace(replacement: Unicode.Scalar, prependScheme: PreTokenizer.PrependScheme)
    case sequence([Decoder])

    init(_ json: JSONObject) throws(TokenizerError) {
        switch json.type {
        case "ByteLevel": self = .byteLevel
        case "Replace": self = .replace(try Pattern(json.object("pattern")), try json.string("content"))
        case "ByteFallback": self = .byteFallback
        case "Fuse": self = .fuse
        case "Strip":
            let content = try json.string("content")
            guard content.unicodeScalars.count == 1, let scalar = content.unicodeScalars.first else {
                throw TokenizerError("\(json.path).content", "must be one character")
            }
            self = .strip(content: scalar, start: try json.int("start"), stop: try json.int("stop"))
        case "Metaspace":
            let settings = try PreTokenizer.metaspaceSettings(json)
            self = .metaspace(replacement: settings.replacement, prependScheme: settings.prependScheme)
        case "Sequence":
            var list: [Decoder] = []
            for (index, item) in try json.array("decoders").enumerated() {
                list.append(try Decoder(JSONObject(item, path: "\(json.path).decoders[\(index)]")))
            }
            self = .sequence(list)
        default:
            throw TokenizerError(json.path, "decoder '\(json.type)' is not supported (supported: ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence)")
        }
    }

    func decode(_ tokens: [String]) -> [String] {
        switch self {
        case .sequence(let list):
            return list.reduce(tokens) { $1.decode($0) }
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens {
                // A token with a character outside the byte table (an added token, say) keeps its UTF-8.
                let mapped = token.unicodeScalars.map { ByteLevelTable.bytes[$0] }
                if mapped.contains(nil) { bytes += token.utf8 } else { bytes += mapped.map { $0! } }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case .replace(let pattern, let content):
            return tokens.map { pattern.replaceAll(in: $0, with: content) }
        case .byteFallback:
            var result: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let text = String(validating: pending, as: UTF8.self) {
                    result.append(text)
                } else {
                    result += Array(repeating: "\u{FFFD}", count: pending.count)
                }
                pending.removeAll()
            }
            for token in tokens {
                if let byte = Self.byteToken(token) {
                    pending.append(byte)
                } else {
                    flush()
                    result.append(token)
                }
            }
            flush()
            return result
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                var scalars = Substring(token).unicodeScalars
                var removed = 0
                while removed < start, scalars.first == content { scalars.removeFirst(); removed += 1 }
                removed = 0
                while removed < stop, scalars.last == content { scalars.removeLast(); removed += 1 }
                return String(scalars)
            }
        case .metaspace(let replacement, let scheme):
            return tokens.enumerated().map { index, token in
                var out = String.UnicodeScalarView()
                for scalar in token.unicodeScalars {
                    if scalar == replacement {
                        // The first token's replacement characters are the prepended ones: dropped.
                        if !(index == 0 && scheme != .never) { out.append(" ") }
                    } else {
                        out.append(scalar)
                    }
                }
                return String(out)
            }
        }
    }

    /// The byte of a `<0xNN>` token.
    static func byteToken(_ token: String) -> UInt8? {
        let utf8 = Array(token.utf8)
        guard utf8.count == 6, token.hasPrefix("<0x"), utf8[5] == UInt8(ascii: ">") else { return nil }
        return UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
    }
}
