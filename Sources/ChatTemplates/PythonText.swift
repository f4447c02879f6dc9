import Foundation

// Python's `str` operations, on Unicode scalars (code points) as Python counts them: Swift's
// `Character` is a grapheme cluster and its `==` applies canonical equivalence, Python's do neither.

extension String {
    var scalars: [Unicode.Scalar] { Array(unicodeScalars) }

    init(scalars: some Sequence<Unicode.Scalar>) {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        self = String(view)
    }

    /// Python `==` on strings: equal code points.
    func isIdentical(to other: String) -> Bool {
        unicodeScalars.elementsEqual(other.unicodeScalars)
    }
}

/// Python's `repr(str)`: single quotes unless the text has a `'` and no `"`; non-printable
/// characters escaped.
func pythonRepr(_ text: String) -> String {
    let quote: Unicode.Scalar = text.unicodeScalars.contains("'") && !text.unicodeScalars.contains("\"") ? "\"" : "'"
    var result = String.UnicodeScalarView([quote])
    for scalar in text.unicodeScalars {
        switch scalar {
        case quote, "\\": result.append("\\"); result.append(scalar)
        case "\n": result.append(contentsOf: "\\n".unicodeScalars)
        case "\r": result.append(contentsOf: "\\r".unicodeScalars)
        case "\t": result.append(contentsOf: "\\t".unicodeScalars)
        default:
            if scalar.isPythonPrintable {
                result.append(scalar)
            } else {
                let hex = String(scalar.value, radix: 16)
                let (prefix, width) = scalar.value < 0x100 ? ("\\x", 2) : scalar.value < 0x10000 ? ("\\u", 4) : ("\\U", 8)
                result.append(contentsOf: (prefix + String(repeating: "0", count: width - hex.count) + hex).unicodeScalars)
            }
        }
    }
    result.append(quote)
    return String(result)
}

extension Unicode.Scalar {
    /// Python's `str.isprintable()` for one character: not a control, format, surrogate, private-use,
    /// unassigned or separator character, except the ASCII space.
    var isPythonPrintable: Bool {
        if self == " " { return true }
        switch properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
            .spaceSeparator:
            return false
        default:
            return true
        }
    }

    /// Python's `str.isalnum()` for one character, which with `_` is what `\w` matches.
    var isPythonAlphanumeric: Bool {
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    var isPythonCased: Bool {
        properties.isLowercase || properties.isUppercase || properties.generalCategory == .titlecaseLetter
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, in fixed notation when the decimal
/// exponent is in -4..<16 and in scientific notation (`1e-05`, `1e+16`) otherwise.
func pythonFloatRepr(_ value: Double) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value < 0 ? "-inf" : "inf" }
    // Swift's description also prints the shortest round-trip digits; only the layout differs.
    var text = Substring(value.magnitude.description)
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        exponent = Int(text[text.index(after: e)...])!
        text = text[..<e]
    }
    var digits = Array(text.filter { $0 != "." })
    var pointPosition = text.firstIndex(of: ".").map { text.distance(from: text.startIndex, to: $0) } ?? text.count
    while digits.first == "0" && digits.count > 1 {
        digits.removeFirst()
        pointPosition -= 1
    }
    while digits.last == "0" && digits.count > 1 { digits.removeLast() }
    let sign = value.sign == .minus ? "-" : ""
    if digits == ["0"] { return sign + "0.0" }
    let decimalPoint = pointPosition + exponent
    let digitText = String(digits)
    if decimalPoint > -4 && decimalPoint <= 16 {
        if decimalPoint <= 0 { return sign + "0." + String(repeating: "0", count: -decimalPoint) + digitText }
        if decimalPoint >= digits.count {
            return sign + digitText + String(repeating: "0", count: decimalPoint - digits.count) + ".0"
        }
        return sign + String(digits[..<decimalPoint]) + "." + String(digits[decimalPoint...])
    }
    let scientificExponent = decimalPoint - 1
    let mantissa = digits.count > 1 ? "\(digits[0])." + String(digits[1...]) : String(digits[0])
    let exponentDigits = String(abs(scientificExponent))
    return sign + mantissa + (scientificExponent < 0 ? "e-" : "e+")
        + (exponentDigits.count < 2 ? "0" + exponentDigits : exponentDigits)
}

// MARK: case mapping

func pythonUpper(_ text: String) -> String {
    String(scalars: text.unicodeScalars.flatMap { $0.properties.uppercaseMapping.unicodeScalars })
}

func pythonLower(_ text: String) -> String {
    let scalars = text.scalars
    return String(scalars: scalars.indices.flatMap { lowercaseMapping(at: $0, in: scalars).unicodeScalars })
}

/// The lower case of one character in context: Python lower-cases a capital sigma to the final
/// form `ς` when a cased letter precedes it and none follows (ignoring case-ignorable characters).
private func lowercaseMapping(at index: Int, in scalars: [Unicode.Scalar]) -> String {
    let scalar = scalars[index]
    guard scalar == "\u{3A3}" else { return scalar.properties.lowercaseMapping }
    func casedNeighbour(_ range: some Sequence<Int>) -> Bool {
        for position in range where !scalars[position].properties.isCaseIgnorable {
            return scalars[position].properties.isCased
        }
        return false
    }
    let isFinal = casedNeighbour((0..<index).reversed()) && !casedNeighbour((index + 1)..<scalars.count)
    return isFinal ? "\u{3C2}" : "\u{3C3}"
}

/// `str.capitalize()`: the first character in title case, the rest in lower case.
func pythonCapitalize(_ text: String) -> String {
    let scalars = text.scalars
    guard let first = scalars.first else { return "" }
    return first.properties.titlecaseMapping + scalars.indices.dropFirst().map { lowercaseMapping(at: $0, in: scalars) }.joined()
}

/// `str.title()`: title case after each uncased character, lower case elsewhere.
func pythonTitle(_ text: String) -> String {
    let scalars = text.scalars
    var result = ""
    var previousIsCased = false
    for index in scalars.indices {
        result += previousIsCased ? lowercaseMapping(at: index, in: scalars) : scalars[index].properties.titlecaseMapping
        previousIsCased = scalars[index].isPythonCased
    }
    return result
}

func pythonSwapcase(_ text: String) -> String {
    String(scalars: text.unicodeScalars.flatMap { scalar -> [Unicode.Scalar] in
        if scalar.properties.isUppercase { return Array(scalar.properties.lowercaseMapping.unicodeScalars) }
        if scalar.properties.isLowercase { return Array(scalar.properties.uppercaseMapping.unicodeScalars) }
        return [scalar]
    })
}

// MARK: searching and splitting

/// The offsets where `needle` occurs in `haystack`, without overlaps, as `str.find` walks them.
func occurrences(of needle: [Unicode.Scalar], in haystack: [Unicode.Scalar], limit: Int = .max) -> [Int] {
    guard !needle.isEmpty else { return Array((0...haystack.count).prefix(limit)) }
    var found: [Int] = []
    var index = 0
    while index + needle.count <= haystack.count, found.count < limit {
        if haystack[index..<index + needle.count].elementsEqual(needle) {
            found.append(index)
            index += needle.count
        } else {
            index += 1
        }
    }
    return found
}

/// Where `needle` last occurs in `haystack`, as `str.rfind` finds it.
func lastOccurrence(of needle: [Unicode.Scalar], in haystack: [Unicode.Scalar]) -> Int? {
    guard needle.count <= haystack.count else { return nil }
    return (0...(haystack.count - needle.count)).reversed().first {
        haystack[$0..<$0 + needle.count].elementsEqual(needle)
    }
}

func pythonReplace(_ text: String, _ old: String, _ new: String, count: Int = -1) -> String {
    let haystack = text.scalars, needle = old.scalars, replacement = new.scalars
    let limit = count < 0 ? Int.max : count
    if needle.isEmpty {
        // Python inserts the replacement before every character and at the end.
        var result: [Unicode.Scalar] = []
        var inserted = 0
        for scalar in haystack {
            if inserted < limit { result += replacement; inserted += 1 }
            result.append(scalar)
        }
        if inserted < limit { result += replacement }
        return String(scalars: result)
    }
    var result: [Unicode.Scalar] = []
    var last = 0
    for start in occurrences(of: needle, in: haystack, limit: limit) {
        result += haystack[last..<start]
        result += replacement
        last = start + needle.count
    }
    result += haystack[last...]
    return String(scalars: result)
}

/// `str.strip/lstrip/rstrip(chars)`: whitespace when `characters` is nil.
func pythonStrip(_ text: String, characters: String?, leading: Bool = true, trailing: Bool = true) -> String {
    let set = characters.map { Set($0.unicodeScalars) }
    let strips: (Unicode.Scalar) -> Bool = { set?.contains($0) ?? $0.isPythonWhitespace }
    var scalars = text.scalars[...]
    if leading { scalars = scalars.drop(while: strips) }
    if trailing {
        while let last = scalars.last, strips(last) { scalars = scalars.dropLast() }
    }
    return String(scalars: scalars)
}

/// `str.split(separator, maxsplit)` and, with `fromEnd`, `str.rsplit`.
func pythonSplit(_ text: String, separator: String?, maxSplit: Int, fromEnd: Bool = false) throws -> [String] {
    var scalars = text.scalars
    if fromEnd { scalars.reverse() }
    var parts: [[Unicode.Scalar]] = []
    let limit = maxSplit < 0 ? Int.max : maxSplit
    if let separator {
        var needle = separator.scalars
        guard !needle.isEmpty else { throw ChatTemplateError(.runtime, "empty separator") }
        if fromEnd { needle.reverse() }
        var last = 0
        for start in occurrences(of: needle, in: scalars, limit: limit) {
            parts.append(Array(scalars[last..<start]))
            last = start + needle.count
        }
        parts.append(Array(scalars[last...]))
    } else {
        // Runs of whitespace separate, and leading or trailing whitespace makes no empty parts; once
        // `maxSplit` parts are split off, the rest is kept whole, trailing whitespace included.
        var index = 0
        while index < scalars.count {
            while index < scalars.count, scalars[index].isPythonWhitespace { index += 1 }
            guard index < scalars.count else { break }
            if parts.count == limit {
                parts.append(Array(scalars[index...]))
                break
            }
            let start = index
            while index < scalars.count, !scalars[index].isPythonWhitespace { index += 1 }
            parts.append(Array(scalars[start..<index]))
        }
    }
    if fromEnd { parts = parts.reversed().map { $0.reversed() } }
    return parts.map { String(scalars: $0) }
}

/// `str.splitlines(keepends)`, which breaks at every Unicode line boundary Python knows.
func pythonSplitLines(_ text: String, keepEnds: Bool = false) -> [String] {
    let scalars = text.scalars
    var lines: [String] = []
    var start = 0, index = 0
    while index < scalars.count {
        let scalar = scalars[index]
        let isBreak = ["\n", "\r", "\u{B}", "\u{C}", "\u{1C}", "\u{1D}", "\u{1E}", "\u{85}", "\u{2028}", "\u{2029}"]
            .contains(scalar)
        guard isBreak else { index += 1; continue }
        var end = index + 1
        if scalar == "\r", end < scalars.count, scalars[end] == "\n" { end += 1 }
        lines.append(String(scalars: scalars[start..<(keepEnds ? end : index)]))
        start = end
        index = end
    }
    if start < scalars.count { lines.append(String(scalars: scalars[start...])) }
    return lines
}

/// `str.center(width, fill)`, which puts the odd padding character on the left when `width` is odd.
func pythonCenter(_ text: String, width: Int, fill: Unicode.Scalar = " ") -> String {
    let count = text.unicodeScalars.count
    guard width > count else { return text }
    let padding = width - count
    let left = padding / 2 + (padding & width & 1)
    return String(repeating: String(fill), count: left) + text + String(repeating: String(fill), count: padding - left)
}

/// Python's `int(text, radix)`: surrounding whitespace, a sign, single underscores between digits,
/// and for radix 2, 8 and 16 the matching `0b`, `0o` or `0x` prefix; radix 0 reads the prefix to
/// choose the radix.
func pythonParseInt(_ text: String, radix: Int = 10) -> Int? {
    var body = pythonStrip(text, characters: nil).lowercased()[...]
    var negative = false
    if let first = body.first, first == "+" || first == "-" {
        negative = first == "-"
        body = body.dropFirst()
    }
    let prefixes = [2: "0b", 8: "0o", 16: "0x"]
    var radix = radix
    if radix == 0 {
        radix = prefixes.first { body.hasPrefix($0.value) }?.key ?? 10
        // Without a prefix, radix 0 refuses leading zeros ("010"), as Python literals do.
        if radix == 10, body.count > 1, body.hasPrefix("0"), body.contains(where: { $0 != "0" && $0 != "_" }) {
            return nil
        }
    }
    if let prefix = prefixes[radix], body.hasPrefix(prefix) {
        body = body.dropFirst(2)
        if body.hasPrefix("_") { body = body.dropFirst() }
    }
    guard let first = body.first, first != "_", body.last != "_", !body.contains("__") else { return nil }
    let digits = body.filter { $0 != "_" }
    guard digits.allSatisfy(\.isASCII), let magnitude = Int(digits, radix: radix) else { return nil }
    return negative ? -magnitude : magnitude
}

/// Python's `float(text)`: decimal or scientific notation, `inf`, `infinity` and `nan` in any case.
func pythonParseDouble(_ text: String) -> Double? {
    let body = pythonStrip(text, characters: nil)
    let lowered = body.lowercased()
    let unsigned = lowered.hasPrefix("-") || lowered.hasPrefix("+") ? String(lowered.dropFirst()) : lowered
    if ["inf", "infinity", "nan"].contains(unsigned) {
        let magnitude = unsigned == "nan" ? Double.nan : Double.infinity
        return lowered.hasPrefix("-") ? -magnitude : magnitude
    }
    // Swift also reads hexadecimal floats, which Python's float() refuses.
    guard !unsigned.isEmpty, unsigned.unicodeScalars.allSatisfy({ "0123456789.e+-_".unicodeScalars.contains($0) }),
        !unsigned.hasPrefix("_"), !unsigned.hasSuffix("_"), !unsigned.contains("__")
    else { return nil }
    return Double(body.replacingOccurrences(of: "_", with: ""))
}
