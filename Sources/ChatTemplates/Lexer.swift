/// A token of jinja2's lexer, with its place in the (newline-normalised) template source.
struct Token: Sendable {
    enum Kind: Sendable, Equatable {
        case data(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        case op(String)
        case eof
    }

    let kind: Kind
    let line: Int
    let column: Int

    /// How jinja2 names the token in error messages (`describe_token`).
    var description: String {
        switch kind {
        case .data: return "template data / text"
        case .variableBegin: return "begin of print statement"
        case .variableEnd: return "end of print statement"
        case .blockBegin: return "begin of statement block"
        case .blockEnd: return "end of statement block"
        case .name(let name): return name
        case .string: return "string"
        case .integer: return "integer"
        case .float: return "float"
        case .op(let op): return op
        case .eof: return "end of template"
        }
    }
}

/// jinja2's lexer as transformers configures it: default delimiters, `trim_blocks=True`,
/// `lstrip_blocks=True`, `keep_trailing_newline=False`.
///
/// It follows jinja2/lexer.py rule by rule (the `root`, block, variable, comment and raw states),
/// because whitespace control is where chat templates most often differ between implementations.
struct Lexer {
    private let source: [Unicode.Scalar]
    private var lineStarts: [Int] = [0]
    private var position = 0
    private var tokens: [Token] = []
    /// Whether the last match ended with a newline, which lets `lstrip_blocks` strip at the very start of a line.
    private var lineStarting = true

    static func tokenize(_ text: String) throws -> [Token] {
        var lexer = Lexer(source: Lexer.normalizedSource(text))
        try lexer.run()
        return lexer.tokens
    }

    /// `\r\n` and `\r` become `\n`, and one trailing newline is dropped (`keep_trailing_newline=False`).
    private static func normalizedSource(_ text: String) -> [Unicode.Scalar] {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.unicodeScalars.count)
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\r" {
                scalars.append("\n")
                previousWasCR = true
            } else {
                if !(scalar == "\n" && previousWasCR) { scalars.append(scalar) }
                previousWasCR = false
            }
        }
        if scalars.last == "\n" { scalars.removeLast() }
        return scalars
    }

    private init(source: [Unicode.Scalar]) {
        self.source = source
        for (index, scalar) in source.enumerated() where scalar == "\n" { lineStarts.append(index + 1) }
    }

    private func place(_ offset: Int) -> (line: Int, column: Int) {
        var low = 0, high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return (low + 1, offset - lineStarts[low] + 1)
    }

    private mutating func emit(_ kind: Token.Kind, at offset: Int) {
        let (line, column) = place(offset)
        tokens.append(Token(kind: kind, line: line, column: column))
    }

    private func failure(_ message: String, at offset: Int) -> ChatTemplateError {
        let (line, column) = place(offset)
        return ChatTemplateError(.syntax, message, line: line, column: column)
    }

    private func matches(_ text: String, at offset: Int) -> Bool {
        var index = offset
        for scalar in text.unicodeScalars {
            guard index < source.count, source[index] == scalar else { return false }
            index += 1
        }
        return true
    }

    private func skippingWhitespace(from offset: Int) -> Int {
        var index = offset
        while index < source.count, source[index].isPythonWhitespace { index += 1 }
        return index
    }

    private enum TagKind { case block, variable, comment }

    private mutating func run() throws {
        while position < source.count {
            guard let (tagStart, kind) = nextTag(from: position) else {
                emit(.data(String(String.UnicodeScalarView(source[position...]))), at: position)
                position = source.count
                break
            }
            let signOffset = tagStart + 2
            let sign: Unicode.Scalar? =
                signOffset < source.count && (source[signOffset] == "-" || source[signOffset] == "+")
                ? source[signOffset] : nil
            var text = Array(source[position..<tagStart])
            if sign == "-" {
                while let last = text.last, last.isPythonWhitespace { text.removeLast() }
            } else if sign != "+" && kind != .variable {
                // lstrip_blocks: drop the spaces between the start of the line and a block or comment tag.
                let lineStart = (text.lastIndex(of: "\n").map { $0 + 1 }) ?? 0
                if (lineStart > 0 || lineStarting) && lineStart < text.count
                    && text[lineStart...].allSatisfy(\.isPythonWhitespace)
                {
                    text.removeSubrange(lineStart...)
                }
            }
            if !text.isEmpty { emit(.data(String(String.UnicodeScalarView(text))), at: position) }
            lineStarting = false
            if kind == .block, let rawEnd = rawBlockStart(at: tagStart) {
                lineStarting = source[rawEnd - 1] == "\n"
                try readRaw(contentStart: rawEnd)
                continue
            }
            position = signOffset + (sign == nil ? 0 : 1)
            switch kind {
            case .comment: try readComment(openedAt: tagStart)
            case .block:
                emit(.blockBegin, at: tagStart)
                try readTag(closing: .block)
            case .variable:
                emit(.variableBegin, at: tagStart)
                try readTag(closing: .variable)
            }
        }
        emit(.eof, at: source.count)
    }

    private func nextTag(from offset: Int) -> (Int, TagKind)? {
        var index = offset
        while index + 1 < source.count {
            if source[index] == "{" {
                switch source[index + 1] {
                case "%": return (index, .block)
                case "{": return (index, .variable)
                case "#": return (index, .comment)
                default: break
                }
            }
            index += 1
        }
        return nil
    }

    /// `{% raw %}`: returns where the raw content starts, or nil when the block tag is not `raw`.
    private func rawBlockStart(at tagStart: Int) -> Int? {
        var index = tagStart + 2
        if index < source.count, source[index] == "-" || source[index] == "+" { index += 1 }
        index = skippingWhitespace(from: index)
        guard matches("raw", at: index) else { return nil }
        index = skippingWhitespace(from: index + 3)
        if matches("-%}", at: index) { return skippingWhitespace(from: index + 3) }
        if matches("%}", at: index) { return index + 2 }
        return nil
    }

    private mutating func readRaw(contentStart: Int) throws {
        var index = contentStart
        while index + 1 < source.count {
            if source[index] == "{" && source[index + 1] == "%" {
                var cursor = index + 2
                let sign: Unicode.Scalar? =
                    cursor < source.count && (source[cursor] == "-" || source[cursor] == "+") ? source[cursor] : nil
                if sign != nil { cursor += 1 }
                cursor = skippingWhitespace(from: cursor)
                if matches("endraw", at: cursor) {
                    cursor = skippingWhitespace(from: cursor + 6)
                    if let end = blockEnd(at: cursor) {
                        var text = Array(source[contentStart..<index])
                        if sign == "-" {
                            while let last = text.last, last.isPythonWhitespace { text.removeLast() }
                        } else if sign != "+" {
                            let lineStart = (text.lastIndex(of: "\n").map { $0 + 1 }) ?? 0
                            if lineStart > 0 || lineStarting, lineStart < text.count,
                                text[lineStart...].allSatisfy(\.isPythonWhitespace)
                            {
                                text.removeSubrange(lineStart...)
                            }
                        }
                        if !text.isEmpty { emit(.data(String(String.UnicodeScalarView(text))), at: contentStart) }
                        position = end
                        lineStarting = source[end - 1] == "\n"
                        return
                    }
                }
            }
            index += 1
        }
        throw failure("Missing end of raw directive", at: contentStart)
    }

    /// Where a block tag closed at `offset` ends: `+%}`, `-%}` plus following whitespace, or `%}` plus
    /// one newline (`trim_blocks`).
    private func blockEnd(at offset: Int) -> Int? {
        if matches("+%}", at: offset) { return offset + 3 }
        if matches("-%}", at: offset) { return skippingWhitespace(from: offset + 3) }
        if matches("%}", at: offset) {
            return offset + 2 < source.count && source[offset + 2] == "\n" ? offset + 3 : offset + 2
        }
        return nil
    }

    private mutating func readComment(openedAt start: Int) throws {
        var index = position
        while index < source.count {
            if matches("+#}", at: index) {
                position = index + 3
                lineStarting = false
                return
            }
            if matches("-#}", at: index) {
                position = skippingWhitespace(from: index + 3)
                lineStarting = source[position - 1] == "\n"
                return
            }
            if matches("#}", at: index) {
                position = index + 2 < source.count && source[index + 2] == "\n" ? index + 3 : index + 2
                lineStarting = source[position - 1] == "\n"
                return
            }
            index += 1
        }
        throw failure("Missing end of comment tag", at: start)
    }

    private mutating func readTag(closing kind: TagKind) throws {
        var brackets: [Unicode.Scalar] = []
        while position < source.count {
            if brackets.isEmpty {
                if kind == .block, let end = blockEnd(at: position) {
                    emit(.blockEnd, at: position)
                    position = end
                    lineStarting = source[end - 1] == "\n"
                    return
                }
                if kind == .variable {
                    if matches("-}}", at: position) {
                        emit(.variableEnd, at: position)
                        position = skippingWhitespace(from: position + 3)
                        lineStarting = source[position - 1] == "\n"
                        return
                    }
                    if matches("}}", at: position) {
                        emit(.variableEnd, at: position)
                        position += 2
                        lineStarting = false
                        return
                    }
                }
            }
            let start = position
            let scalar = source[position]
            if scalar.isPythonWhitespace {
                position = skippingWhitespace(from: position)
            } else if let (end, value) = floatLiteral(at: position) {
                emit(.float(value), at: start)
                position = end
            } else if let (end, value) = try integerLiteral(at: position) {
                emit(.integer(value), at: start)
                position = end
            } else if scalar.isIdentifierStart {
                var end = position + 1
                while end < source.count, source[end].isIdentifierContinuation { end += 1 }
                emit(.name(String(String.UnicodeScalarView(source[position..<end]))), at: start)
                position = end
            } else if scalar == "'" || scalar == "\"", let end = stringLiteralEnd(at: position) {
                emit(.string(try unescapedString(from: position + 1, to: end - 1)), at: start)
                position = end
            } else if let op = operatorText(at: position) {
                switch op {
                case "(": brackets.append(")")
                case "[": brackets.append("]")
                case "{": brackets.append("}")
                case ")", "]", "}":
                    guard let expected = brackets.popLast() else { throw failure("unexpected '\(op)'", at: start) }
                    guard String(expected) == op else {
                        throw failure("unexpected '\(op)', expected '\(expected)'", at: start)
                    }
                default: break
                }
                emit(.op(op), at: start)
                position += op.unicodeScalars.count
            } else {
                throw failure("unexpected char \(pythonRepr(String(scalar))) at \(position)", at: start)
            }
        }
    }

    private static let operators = [
        "//", "**", "==", "!=", ">=", "<=",
        "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";",
    ]

    private func operatorText(at offset: Int) -> String? {
        Lexer.operators.first { matches($0, at: offset) }
    }

    private func isDigit(_ offset: Int) -> Bool {
        offset < source.count && ("0"..."9").contains(source[offset])
    }

    /// `(\d+_)*\d+`: digits, with single underscores between them. Returns the end, or nil.
    private func digitRun(at offset: Int) -> Int? {
        guard isDigit(offset) else { return nil }
        var end = offset
        while true {
            while isDigit(end) { end += 1 }
            guard end < source.count, source[end] == "_", isDigit(end + 1) else { return end }
            end += 1
        }
    }

    /// jinja2's `float_re`: a fraction, an exponent or both, not directly after a `.`.
    private func floatLiteral(at offset: Int) -> (Int, Double)? {
        guard offset == 0 || source[offset - 1] != ".", let integerEnd = digitRun(at: offset) else { return nil }
        func exponentEnd(_ at: Int) -> Int? {
            guard at < source.count, source[at] == "e" || source[at] == "E" else { return nil }
            var cursor = at + 1
            if cursor < source.count, source[cursor] == "+" || source[cursor] == "-" { cursor += 1 }
            return digitRun(at: cursor)
        }
        var end: Int?
        if integerEnd < source.count, source[integerEnd] == ".", let fractionEnd = digitRun(at: integerEnd + 1) {
            end = exponentEnd(fractionEnd) ?? fractionEnd
        } else {
            end = exponentEnd(integerEnd)
        }
        guard let end else { return nil }
        let text = String(String.UnicodeScalarView(source[offset..<end].filter { $0 != "_" }))
        return Double(text).map { (end, $0) }
    }

    /// jinja2's `integer_re`: `0b`, `0o`, `0x` literals, decimals, and zeros.
    private func integerLiteral(at offset: Int) throws -> (Int, Int)? {
        func run(from start: Int, radix: Int) -> Int? {
            var end = start
            while true {
                var cursor = end
                if cursor < source.count, source[cursor] == "_" { cursor += 1 }
                guard cursor < source.count, source[cursor].isASCII,
                    let digit = hexDigitValue(UInt8(source[cursor].value)), digit < radix
                else { break }
                end = cursor + 1
            }
            return end > start ? end : nil
        }
        func value(_ start: Int, _ end: Int, radix: Int) throws -> Int {
            let digits = String(String.UnicodeScalarView(source[start..<end].filter { $0 != "_" }))
            guard let value = Int(digits, radix: radix) else {
                throw failure("integer literal \(digits) is too large", at: offset)
            }
            return value
        }
        guard isDigit(offset) else { return nil }
        if source[offset] == "0", offset + 1 < source.count {
            let radixes: [Unicode.Scalar: Int] = ["b": 2, "B": 2, "o": 8, "O": 8, "x": 16, "X": 16]
            if let radix = radixes[source[offset + 1]], let end = run(from: offset + 2, radix: radix) {
                return (end, try value(offset + 2, end, radix: radix))
            }
        }
        if source[offset] != "0" {
            let end = run(from: offset, radix: 10)!
            return (end, try value(offset, end, radix: 10))
        }
        // `0(_?0)*`: further zeros only.
        var end = offset + 1
        while true {
            var cursor = end
            if cursor < source.count, source[cursor] == "_" { cursor += 1 }
            guard cursor < source.count, source[cursor] == "0" else { break }
            end = cursor + 1
        }
        return (end, 0)
    }

    /// The offset just past the closing quote of the string literal starting at `offset`.
    private func stringLiteralEnd(at offset: Int) -> Int? {
        let quote = source[offset]
        var index = offset + 1
        while index < source.count {
            if source[index] == "\\" {
                index += 2
            } else if source[index] == quote {
                return index + 1
            } else {
                index += 1
            }
        }
        return nil
    }

    /// Decodes escapes as jinja2 does: `str.encode("ascii", "backslashreplace").decode("unicode-escape")`.
    private func unescapedString(from start: Int, to end: Int) throws -> String {
        var result = String.UnicodeScalarView()
        var index = start
        func hexScalar(_ count: Int, _ escape: String) throws -> Unicode.Scalar {
            guard end - (index + 1) >= count else { throw failure("truncated \\\(escape) escape", at: index) }
            var value: UInt32 = 0
            for offset in 1...count {
                let scalar = source[index + offset]
                guard scalar.isASCII, let digit = hexDigitValue(UInt8(scalar.value)) else {
                    throw failure("truncated \\\(escape) escape", at: index)
                }
                value = value << 4 | UInt32(digit)
            }
            index += count
            // Python keeps lone surrogates; a Swift string cannot hold them.
            return Unicode.Scalar(value) ?? "\u{FFFD}"
        }
        while index < end {
            let scalar = source[index]
            guard scalar == "\\", index + 1 < end else {
                result.append(scalar)
                index += 1
                continue
            }
            index += 1
            let escape = source[index]
            switch escape {
            case "\n": break
            case "\\", "'", "\"": result.append(escape)
            case "a": result.append("\u{7}")
            case "b": result.append("\u{8}")
            case "f": result.append("\u{C}")
            case "n": result.append("\n")
            case "r": result.append("\r")
            case "t": result.append("\t")
            case "v": result.append("\u{B}")
            case "x": result.append(try hexScalar(2, "xXX"))
            case "u": result.append(try hexScalar(4, "uXXXX"))
            case "U": result.append(try hexScalar(8, "UXXXXXXXX"))
            case "0"..."7":
                var value = escape.value - 48
                var digits = 1
                while digits < 3, index + 1 < end, ("0"..."7").contains(source[index + 1]) {
                    index += 1
                    value = value * 8 + source[index].value - 48
                    digits += 1
                }
                result.append(Unicode.Scalar(value)!)
            case "N":
                throw failure("\\N{...} escapes are not supported", at: index - 1)
            default:
                // Unknown escapes keep their backslash. A non-ASCII character was first turned into its
                // own \x, \u or \U escape by `backslashreplace`, which this backslash now escapes.
                result.append("\\")
                if escape.isASCII {
                    result.append(escape)
                } else {
                    let hex = String(escape.value, radix: 16)
                    let (letter, width) = escape.value < 0x100 ? ("x", 2) : escape.value < 0x10000 ? ("u", 4) : ("U", 8)
                    result.append(contentsOf: (letter + String(repeating: "0", count: width - hex.count) + hex).unicodeScalars)
                }
            }
            index += 1
        }
        return String(result)
    }
}

extension Unicode.Scalar {
    /// Python's `str.isspace()`, which is also what `\s` matches in jinja2's regular expressions.
    var isPythonWhitespace: Bool {
        properties.isWhitespace || (0x1C...0x1F).contains(value)
    }

    var isIdentifierStart: Bool { self == "_" || properties.isXIDStart }
    var isIdentifierContinuation: Bool { self == "_" || properties.isXIDContinue }
}
