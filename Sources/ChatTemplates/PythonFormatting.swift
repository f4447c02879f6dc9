import Foundation

// Python's two string-formatting mini-languages: `format % values` (the `%` operator and jinja2's
// `format` filter) and `format.format(...)`.

/// One conversion's options, shared by both mini-languages.
private struct ConversionSpec {
    var leftAlign = false
    var sign: Character?
    var alternate = false
    var zeroPad = false
    var width: Int?
    var precision: Int?
}

private func pad(_ text: String, _ spec: ConversionSpec, defaultRightAlign: Bool) -> String {
    let count = text.unicodeScalars.count
    guard let width = spec.width, width > count else { return text }
    let padding = String(repeating: " ", count: width - count)
    return spec.leftAlign || !defaultRightAlign ? text + padding : padding + text
}

private func numberArgument(_ value: TemplateValue) throws -> Double {
    switch value {
    case .int(let number): return Double(number)
    case .bool(let flag): return flag ? 1 : 0
    case .double(let number): return number
    default:
        throw ChatTemplateError(
            .runtime, "must be real number, not \(pythonTypeName(value))")
    }
}

private func integerArgument(_ value: TemplateValue, _ conversion: Character) throws -> Int {
    switch value {
    case .int(let number): return number
    case .bool(let flag): return flag ? 1 : 0
    case .double(let number) where "diu".contains(conversion):
        guard let integer = Int(exactly: number.rounded(.towardZero)) else {
            throw ChatTemplateError(.runtime, "cannot convert \(pythonFloatRepr(number)) to a 64-bit integer")
        }
        return integer
    default:
        let kind = "diu".contains(conversion) ? "a real number" : "an integer"
        throw ChatTemplateError(
            .runtime, "%\(conversion) format: \(kind) is required, not \(pythonTypeName(value))")
    }
}

/// Formats one value for a printf-style conversion character.
private func convert(_ value: TemplateValue, _ conversion: Character, _ spec: ConversionSpec) throws -> String {
    var flags = spec.leftAlign ? "-" : ""
    if let sign = spec.sign { flags.append(sign) }
    if spec.alternate { flags += "#" }
    if spec.zeroPad && !spec.leftAlign { flags += "0" }
    let width = spec.width.map(String.init) ?? ""
    let precision = spec.precision.map { ".\($0)" } ?? ""
    switch conversion {
    case "s", "r", "a":
        var text = conversion == "s" ? pythonString(value) : pythonRepr(value)
        if let precision = spec.precision { text = String(scalars: text.unicodeScalars.prefix(precision)) }
        return pad(text, spec, defaultRightAlign: true)
    case "d", "i", "u":
        return String(format: "%\(flags)\(width)\(precision)ld", try integerArgument(value, conversion))
    case "x", "X", "o":
        return String(format: "%\(flags)\(width)\(precision)l\(conversion)", try integerArgument(value, conversion))
    case "e", "E", "f", "F", "g", "G":
        let number = try numberArgument(value)
        if !number.isFinite {
            let text = number.isNaN ? "nan" : (number < 0 ? "-inf" : (spec.sign.map(String.init) ?? "") + "inf")
            return pad("FEG".contains(conversion) ? text.uppercased() : text, spec, defaultRightAlign: true)
        }
        return String(format: "%\(flags)\(width)\(precision)\(conversion)", number)
    case "c":
        if case .string(let text) = value, text.unicodeScalars.count == 1 { return pad(text, spec, defaultRightAlign: true) }
        guard let code = pythonInteger(value), let scalar = Unicode.Scalar(UInt32(clamping: code)) else {
            throw ChatTemplateError(.runtime, "%c requires an int or a unicode character")
        }
        return pad(String(scalar), spec, defaultRightAlign: true)
    default:
        throw ChatTemplateError(.runtime, "unsupported format character \(pythonRepr(String(conversion)))")
    }
}

/// Python's `format % values`: a tuple supplies positional values, a dict supplies `%(name)s` values,
/// anything else is the single value. Values Python deems mappings (dicts, and lists, which also have
/// item access) may go unused without the "not all arguments converted" error.
func percentFormat(_ format: String, _ values: TemplateValue) throws -> String {
    var positional: [TemplateValue]
    var mapping: TemplateDict?
    var isMappingLike = false
    switch values {
    case .tuple(let items): positional = items
    case .dict(let dict): positional = [values]; mapping = dict; isMappingLike = true
    case .list: positional = [values]; isMappingLike = true
    default: positional = [values]
    }
    var nextValue = 0
    func take() throws -> TemplateValue {
        guard nextValue < positional.count else {
            throw ChatTemplateError(.runtime, "not enough arguments for format string")
        }
        defer { nextValue += 1 }
        return positional[nextValue]
    }
    var usedMapping = false
    let characters = Array(format)
    var result = ""
    var index = 0
    func next() throws -> Character {
        guard index < characters.count else { throw ChatTemplateError(.runtime, "incomplete format") }
        defer { index += 1 }
        return characters[index]
    }
    while index < characters.count {
        let character = characters[index]
        index += 1
        guard character == "%" else { result.append(character); continue }
        var current = try next()
        var keyed: TemplateValue?
        if current == "(" {
            var key = ""
            while true {
                let c = try next()
                if c == ")" { break }
                key.append(c)
            }
            guard let mapping else { throw ChatTemplateError(.runtime, "format requires a mapping") }
            guard let value = mapping[key] else { throw ChatTemplateError(.runtime, "KeyError: \(pythonRepr(key))") }
            keyed = value
            usedMapping = true
            current = try next()
        }
        var spec = ConversionSpec()
        while "-+ #0".contains(current) {
            switch current {
            case "-": spec.leftAlign = true
            case "+": spec.sign = "+"
            case " ": if spec.sign == nil { spec.sign = " " }
            case "#": spec.alternate = true
            default: spec.zeroPad = true
            }
            current = try next()
        }
        if current == "*" {
            guard let width = pythonInteger(try take()) else { throw ChatTemplateError(.runtime, "* wants int") }
            // A negative width left-aligns, as in Python.
            if width < 0 { spec.leftAlign = true }
            spec.width = try allowedSize(Int(clamping: width.magnitude), "a '%' format's width")
            current = try next()
        } else {
            var digits = ""
            while current.isASCII, current.isNumber { digits.append(current); current = try next() }
            if let width = Int(digits) { spec.width = try allowedSize(width, "a '%' format's width") }
        }
        if current == "." {
            current = try next()
            if current == "*" {
                guard let precision = pythonInteger(try take()) else { throw ChatTemplateError(.runtime, "* wants int") }
                // A negative precision counts as 0, as in Python ("%.*s" % (-1, "abc") is "").
                spec.precision = try allowedSize(max(precision, 0), "a '%' format's precision")
                current = try next()
            } else {
                var digits = ""
                while current.isASCII, current.isNumber { digits.append(current); current = try next() }
                spec.precision = try allowedSize(Int(digits) ?? 0, "a '%' format's precision")
            }
        }
        while "hlL".contains(current) { current = try next() }
        if current == "%" { result.append("%"); continue }
        result += try convert(try keyed ?? take(), current, spec)
    }
    if !usedMapping && nextValue < positional.count && !isMappingLike {
        throw ChatTemplateError(.runtime, "not all arguments converted during string formatting")
    }
    return result
}

/// Python's `str.format(*args, **kwargs)` for the field syntax templates use: `{}`, `{0}`, `{name}`,
/// `{name.attribute}`, `{name[key]}`, `!r`/`!s` conversions, and format specs of the form
/// `[[fill]align][sign][0][width][.precision][type]`.
/// `resolve(value, name, isAttribute)` looks up `.name` or `[name]` parts of a field.
func braceFormat(_ format: String, _ arguments: Arguments, resolve: (TemplateValue, String, Bool) throws -> TemplateValue)
    throws -> String
{
    let characters = Array(format)
    var result = ""
    var index = 0
    var automaticIndex = 0
    while index < characters.count {
        let character = characters[index]
        if character == "}" {
            guard index + 1 < characters.count, characters[index + 1] == "}" else {
                throw ChatTemplateError(.runtime, "Single '}' encountered in format string")
            }
            result.append("}")
            index += 2
            continue
        }
        guard character == "{" else { result.append(character); index += 1; continue }
        if index + 1 < characters.count, characters[index + 1] == "{" {
            result.append("{")
            index += 2
            continue
        }
        guard let close = characters[(index + 1)...].firstIndex(of: "}") else {
            throw ChatTemplateError(.runtime, "Single '{' encountered in format string")
        }
        var field = String(characters[(index + 1)..<close])
        index = close + 1
        var formatSpec = ""
        if let colon = field.firstIndex(of: ":") {
            formatSpec = String(field[field.index(after: colon)...])
            field = String(field[..<colon])
        }
        var conversion: Character?
        if let bang = field.firstIndex(of: "!") {
            conversion = field[field.index(after: bang)...].first
            field = String(field[..<bang])
        }
        // The first name or number, then `.attribute` and `[key]` parts.
        let head = field.prefix { $0 != "." && $0 != "[" }
        var value: TemplateValue
        if head.isEmpty {
            guard automaticIndex < arguments.positional.count else {
                throw ChatTemplateError(.runtime, "Replacement index \(automaticIndex) out of range for positional args tuple")
            }
            value = arguments.positional[automaticIndex]
            automaticIndex += 1
        } else if let number = Int(head) {
            guard number < arguments.positional.count else {
                throw ChatTemplateError(.runtime, "Replacement index \(number) out of range for positional args tuple")
            }
            value = arguments.positional[number]
        } else {
            guard let keyword = arguments.keywords.first(where: { $0.name == String(head) }) else {
                throw ChatTemplateError(.runtime, "KeyError: \(pythonRepr(String(head)))")
            }
            value = keyword.value
        }
        var rest = field.dropFirst(head.count)
        while let first = rest.first {
            if first == "." {
                let name = rest.dropFirst().prefix { $0 != "." && $0 != "[" }
                value = try resolve(value, String(name), true)
                rest = rest.dropFirst(name.count + 1)
            } else {
                guard let end = rest.firstIndex(of: "]") else {
                    throw ChatTemplateError(.runtime, "Missing ']' in format string")
                }
                let key = String(rest[rest.index(after: rest.startIndex)..<end])
                value = try resolve(value, key, false)
                rest = rest[rest.index(after: end)...]
            }
        }
        if conversion == "r" || conversion == "a" { value = .string(pythonRepr(value)) }
        if conversion == "s" { value = .string(pythonString(value)) }
        result += try formatSpecApplied(value, formatSpec)
    }
    return result
}

/// `format(value, spec)` for the common part of Python's format-spec mini-language.
private func formatSpecApplied(_ value: TemplateValue, _ specText: String) throws -> String {
    guard !specText.isEmpty else { return pythonString(value) }
    var characters = Array(specText)[...]
    var fill: Character = " "
    var align: Character?
    if characters.count >= 2, "<>^=".contains(characters[characters.startIndex + 1]) {
        fill = characters.removeFirst()
        align = characters.removeFirst()
    } else if let first = characters.first, "<>^=".contains(first) {
        align = characters.removeFirst()
    }
    var spec = ConversionSpec()
    if let first = characters.first, "+- ".contains(first) {
        if first != "-" { spec.sign = first }
        characters.removeFirst()
    }
    if characters.first == "0" {
        spec.zeroPad = true
        characters.removeFirst()
    }
    let width = characters.prefix { $0.isASCII && $0.isNumber }
    characters = characters.dropFirst(width.count)
    if characters.first == "." {
        characters.removeFirst()
        let precision = characters.prefix { $0.isASCII && $0.isNumber }
        if let value = Int(String(precision)) { spec.precision = try allowedSize(value, "a format spec's precision") }
        characters = characters.dropFirst(precision.count)
    }
    var type = characters.first
    characters = characters.dropFirst()
    guard characters.isEmpty else { throw ChatTemplateError(.runtime, "Invalid format specifier \(pythonRepr(specText))") }
    let isNumber: Bool
    switch value {
    case .int, .bool, .double: isNumber = true
    default: isNumber = false
    }
    if type == nil { type = isNumber ? (value.isDouble ? "g" : "d") : "s" }
    var body: String
    if type == "%" {
        spec.precision = spec.precision ?? 6
        body = try convert(.double(try numberArgument(value) * 100), "f", spec) + "%"
    } else if type == "g" && spec.precision == nil && value.isDouble {
        body = pythonString(value)
        if let sign = spec.sign, !body.hasPrefix("-") { body = String(sign) + body }
    } else {
        body = try convert(value, type!, spec)
    }
    guard let widthValue = try Int(String(width)).map({ try allowedSize($0, "a format spec's width") }),
          widthValue > body.unicodeScalars.count else { return body }
    let padding = widthValue - body.unicodeScalars.count
    if spec.zeroPad && align == nil && isNumber {
        let signLength = body.hasPrefix("-") || body.hasPrefix("+") || body.hasPrefix(" ") ? 1 : 0
        return String(body.prefix(signLength)) + String(repeating: "0", count: padding) + String(body.dropFirst(signLength))
    }
    let fillText = { (count: Int) in String(repeating: String(fill), count: count) }
    switch align ?? (isNumber ? ">" : "<") {
    case "<": return body + fillText(padding)
    case "^": return fillText(padding / 2) + body + fillText(padding - padding / 2)
    default: return fillText(padding) + body
    }
}
