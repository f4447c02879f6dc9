/// GPT-2's reversible byte ↔ printable-character table (`bytes_to_unicode`): printable Latin-1
/// bytes stand for themselves, the other 68 bytes map to U+0100 and up.
enum ByteLevelTable {
    static let scalars: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte) {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    static let bytes: [Unicode.Scalar: UInt8] = {
        var map: [Unicode.Scalar: UInt8] = [:]
        for (byte, scalar) in scalars.enumerated() { map[scalar] = UInt8(byte) }
        return map
    }()

    /// The UTF-8 of each byte's character.
    private static let utf8: [[UInt8]] = scalars.map { Array(String($0).utf8) }

    /// The byte-level spelling of `text`: one character per UTF-8 byte.
    static func encode(_ text: Substring) -> String {
        var result: [UInt8] = []
        result.reserveCapacity(text.utf8.count * 2)
        for byte in text.utf8 { result += utf8[Int(byte)] }
        return String(decoding: result, as: UTF8.self)
    }
}

/// Splits text the way GPT-2's pre-tokenizer regex does,
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
/// written out by hand: it is on every byte-level tokenizer's hot path.
enum GPT2Splitter {
    private enum Class { case letter, number, space, other }

    @inline(__always)
    private static func classify(_ scalar: Unicode.Scalar) -> Class {
        if scalar.isASCII {
            let v = scalar.value
            if (0x61...0x7A).contains(v) || (0x41...0x5A).contains(v) { return .letter }
            if (0x30...0x39).contains(v) { return .number }
            if v == 0x20 || (0x09...0x0D).contains(v) { return .space }
            return .other
        }
        let properties = scalar.properties
        if properties.isWhitespace { return .space }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// The pieces of `text`, in order; together they are exactly `text`.
    static func split(_ text: Substring) -> [Substring] {
        let scalars = Array(text.unicodeScalars)
        let classes = scalars.map(classify)
        var indices: [String.Index] = []
        indices.reserveCapacity(scalars.count + 1)
        var index = text.startIndex
        for _ in scalars {
            indices.append(index)
            index = text.unicodeScalars.index(after: index)
        }
        indices.append(text.endIndex)

        var pieces: [Substring] = []
        var i = 0
        let n = scalars.count
        func run(from start: Int, of kind: Class) -> Int {
            var end = start
            while end < n && classes[end] == kind { end += 1 }
            return end
        }
        while i < n {
            var end = i + 1
            if scalars[i] == "'" && i + 1 < n, let length = contraction(scalars, at: i + 1) {
                end = i + 1 + length
            } else if scalars[i] == " " && i + 1 < n && classes[i + 1] != .space {
                end = run(from: i + 1, of: classes[i + 1])
            } else if classes[i] != .space {
                end = run(from: i, of: classes[i])
            } else {
                let spaceEnd = run(from: i, of: .space)
                // \s+(?!\S): leave the last space to the word that follows, if any.
                end = spaceEnd == n || spaceEnd - i == 1 ? spaceEnd : spaceEnd - 1
            }
            pieces.append(text.scalarSlice(indices[i]..<indices[end]))
            i = end
        }
        return pieces
    }

    /// Length after the apostrophe of `'s 't 're 've 'm 'll 'd` at `index`, if one is there.
    private static func contraction(_ s: [Unicode.Scalar], at index: Int) -> Int? {
        switch s[index] {
        case "s", "t", "m", "d": return 1
        case "r" where index + 1 < s.count && s[index + 1] == "e": return 2
        case "v" where index + 1 < s.count && s[index + 1] == "e": return 2
        case "l" where index + 1 < s.count && s[index + 1] == "l": return 2
        default: return nil
        }
    }
}
