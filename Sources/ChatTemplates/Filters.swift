import Foundation

/// jinja2's built-in filters (jinja2/filters.py) with transformers' `tojson`, for an environment
/// without autoescaping: `safe` and `escape` return plain strings.
enum Filters {
    static let names: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first",
        "float", "forceescape", "format", "indent", "int", "items", "join", "last", "length", "list", "lower", "map",
        "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort",
        "string", "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "wordcount",
    ]

    static func apply(_ name: String, to value: TemplateValue, _ arguments: Arguments) throws -> TemplateValue {
        func bind(_ parameters: [String], required: Int = 0) throws -> [TemplateValue?] {
            try arguments.bind(name, parameters, required: required)
        }
        switch name {
        case "abs":
            _ = try bind([])
            switch value {
            case .int(let number) where number != .min: return .int(abs(number))
            case .bool(let flag): return .int(flag ? 1 : 0)
            case .double(let number): return .double(abs(number))
            default: throw ChatTemplateError(.runtime, "bad operand type for abs(): \(pythonRepr(pythonTypeName(value)))")
            }
        case "attr":
            let attribute = try bind(["name"], required: 1)[0]!
            guard case .string(let attributeName) = attribute else { return .undefined(.missingElement(attribute, of: value)) }
            return try templateAttributeWithoutItem(value, attributeName)
        case "batch":
            let bound = try bind(["linecount", "fill_with"], required: 1)
            guard let size = pythonInteger(bound[0]!), size > 0 else {
                throw ChatTemplateError(.runtime, "batch() linecount must be a positive integer")
            }
            let elements = try pythonElements(value)
            var batches: [TemplateValue] = stride(from: 0, to: elements.count, by: size).map {
                .list(Array(elements[$0..<min($0 + size, elements.count)]))
            }
            if let fill = bound[1], !fill.isNone, case .list(let last)? = batches.last, last.count < size {
                _ = try allowedSize(size, "batch()")
                batches[batches.count - 1] = .list(last + Array(repeating: fill, count: size - last.count))
            }
            return .generator(Generator(batches))
        case "capitalize":
            _ = try bind([])
            return .string(pythonCapitalize(pythonString(value)))
        case "center":
            let width = try bind(["width"])[0].flatMap(pythonInteger) ?? 80
            return .string(pythonCenter(pythonString(value), width: width))
        case "count", "length":
            _ = try bind([])
            return .int(try pythonLength(value))
        case "d", "default":
            let bound = try bind(["default_value", "boolean"])
            let useDefault = value.isUndefined || (bound[1].map(isTruthy) == true && !isTruthy(value))
            return useDefault ? bound[0] ?? .string("") : value
        case "dictsort":
            let bound = try bind(["case_sensitive", "by", "reverse"])
            guard case .dict(let dict) = value else {
                if case .undefined(let undefined) = value { throw undefined.failure }
                throw ChatTemplateError(.runtime, "\(pythonRepr(pythonTypeName(value))) object has no attribute 'items'")
            }
            let caseSensitive = bound[0].map(isTruthy) ?? false
            let position: Int
            switch bound[1] ?? .string("key") {
            case .string("key"): position = 0
            case .string("value"): position = 1
            default: throw ChatTemplateError(.runtime, "You can only sort by either \"key\" or \"value\"")
            }
            let sorted = try pythonSorted(dict.entries, reverse: bound[2].map(isTruthy) ?? false) { entry in
                let key = position == 0 ? entry.key : entry.value
                return caseSensitive ? key : ignoringCase(key)
            }
            return .list(sorted.map { .tuple([$0.key, $0.value]) })
        case "e", "escape", "forceescape":
            _ = try bind([])
            return .string(htmlEscaped(pythonString(value)))
        case "first":
            _ = try bind([])
            return try pythonElements(value).first ?? .undefined(Undefined(message: "No first item, sequence was empty."))
        case "float":
            let fallback = try bind(["default"])[0] ?? .double(0)
            switch value {
            case .undefined(let undefined): throw undefined.failure
            case .int(let number): return .double(Double(number))
            case .bool(let flag): return .double(flag ? 1 : 0)
            case .double: return value
            case .string(let text): return pythonParseDouble(text).map(TemplateValue.double) ?? fallback
            default: return fallback
            }
        case "format":
            if !arguments.positional.isEmpty && !arguments.keywords.isEmpty {
                throw ChatTemplateError(.runtime, "can't handle positional and keyword arguments at the same time")
            }
            var keywords = TemplateDict()
            for (key, keywordValue) in arguments.keywords { try keywords.set(.string(key), keywordValue) }
            let values: TemplateValue = arguments.keywords.isEmpty ? .tuple(arguments.positional) : .dict(keywords)
            return .string(try percentFormat(pythonString(value), values))
        case "indent":
            let bound = try bind(["width", "first", "blank"])
            return .string(indented(try textOperand(value, of: "indent"), width: bound[0] ?? .int(4),
                                    first: bound[1].map(isTruthy) ?? false, blank: bound[2].map(isTruthy) ?? false))
        case "int":
            let bound = try bind(["default", "base"])
            return try integerFilter(value, fallback: bound[0] ?? .int(0), base: bound[1].flatMap(pythonInteger) ?? 10)
        case "items":
            _ = try bind([])
            switch value {
            case .undefined: return .generator(Generator([]))
            case .dict(let dict): return .generator(Generator(dict.entries.map { .tuple([$0.key, $0.value]) }))
            default: throw ChatTemplateError(.runtime, "Can only get item pairs from a mapping.")
            }
        case "join":
            let bound = try bind(["d", "attribute"])
            var elements = try pythonElements(value)
            if let attribute = bound[1], !attribute.isNone {
                let getter = try attributeGetter(attribute)
                elements = try elements.map { try getter($0) }
            }
            return .string(elements.map(pythonString).joined(separator: pythonString(bound[0] ?? .string(""))))
        case "last":
            _ = try bind([])
            if case .generator = value { throw ChatTemplateError(.runtime, "'generator' object is not reversible") }
            return try pythonElements(value).last ?? .undefined(Undefined(message: "No last item, sequence was empty."))
        case "list":
            _ = try bind([])
            return .list(try pythonElements(value))
        case "lower":
            _ = try bind([])
            return .string(pythonLower(pythonString(value)))
        case "upper":
            _ = try bind([])
            return .string(pythonUpper(pythonString(value)))
        case "map":
            return .generator(Generator(try mapped(value, arguments)))
        case "max", "min":
            let bound = try bind(["case_sensitive", "attribute"])
            let elements = try pythonElements(value)
            guard var best = elements.first else {
                return .undefined(Undefined(message: "No aggregated item, sequence was empty."))
            }
            let caseSensitive = bound[0].map(isTruthy) ?? false
            let getter = try attributeGetter(bound[1] ?? .none)
            let key = { (element: TemplateValue) in caseSensitive ? try getter(element) : ignoringCase(try getter(element)) }
            var bestKey = try key(best)
            for element in elements.dropFirst() {
                let elementKey = try key(element)
                if name == "max" ? try pythonLess(bestKey, elementKey) : try pythonLess(elementKey, bestKey) {
                    best = element
                    bestKey = elementKey
                }
            }
            return best
        case "reject", "select", "rejectattr", "selectattr":
            return .generator(Generator(try selected(value, arguments, keep: name.hasPrefix("select"),
                                                     byAttribute: name.hasSuffix("attr"))))
        case "replace":
            let bound = try bind(["old", "new", "count"], required: 2)
            let count = bound[2].flatMap { $0.isNone ? nil : pythonInteger($0) } ?? -1
            return .string(pythonReplace(pythonString(value), pythonString(bound[0]!), pythonString(bound[1]!), count: count))
        case "reverse":
            _ = try bind([])
            switch value {
            case .string(let text): return .string(String(scalars: text.unicodeScalars.reversed()))
            case .generator: return .list(try pythonElements(value).reversed())
            default: return .generator(Generator(try pythonElements(value).reversed()))
            }
        case "round":
            let bound = try bind(["precision", "method"])
            return try rounded(value, precision: bound[0].flatMap(pythonInteger) ?? 0, method: bound[1] ?? .string("common"))
        case "safe", "string":
            _ = try bind([])
            return .string(pythonString(value))
        case "sort":
            let bound = try bind(["reverse", "case_sensitive", "attribute"])
            let caseSensitive = bound[1].map(isTruthy) ?? false
            // `attribute` may list several attributes separated by commas, compared in turn.
            let getters: [(TemplateValue) throws -> TemplateValue]
            if case .string(let attributes)? = bound[2] {
                getters = try attributes.split(separator: ",", omittingEmptySubsequences: false)
                    .map { try attributeGetter(.string(String($0))) }
            } else {
                getters = [try attributeGetter(bound[2] ?? .none)]
            }
            let sorted = try pythonSorted(try pythonElements(value), reverse: bound[0].map(isTruthy) ?? false) { element in
                .list(try getters.map { caseSensitive ? try $0(element) : ignoringCase(try $0(element)) })
            }
            return .list(sorted)
        case "sum":
            let bound = try bind(["attribute", "start"])
            var elements = try pythonElements(value)
            if let attribute = bound[0], !attribute.isNone {
                let getter = try attributeGetter(attribute)
                elements = try elements.map { try getter($0) }
            }
            return try elements.reduce(bound[1] ?? .int(0)) { try pythonArithmetic(.add, $0, $1) }
        case "title":
            _ = try bind([])
            return .string(jinjaTitle(pythonString(value)))
        case "tojson":
            let bound = try bind(["ensure_ascii", "indent", "separators", "sort_keys"])
            return .string(try jsonEncoder(bound).encode(value))
        case "trim":
            let characters = try bind(["chars"])[0]
            return .string(pythonStrip(pythonString(value), characters: characters.flatMap { $0.isNone ? nil : pythonString($0) }))
        case "truncate":
            let bound = try bind(["length", "killwords", "end", "leeway"])
            let length = bound[0].flatMap(pythonInteger) ?? 255, leeway = bound[3].flatMap(pythonInteger) ?? 5
            // jinja2 measures the value as it is: short lists and dicts come back unchanged.
            if !value.isString, try pythonLength(value) <= length + leeway { return value }
            return .string(try truncated(try textOperand(value, of: "truncate"), length: length,
                                         killWords: bound[1].map(isTruthy) ?? false,
                                         end: bound[2].map(pythonString) ?? "...", leeway: leeway))
        case "unique":
            let bound = try bind(["case_sensitive", "attribute"])
            let caseSensitive = bound[0].map(isTruthy) ?? false
            let getter = try attributeGetter(bound[1] ?? .none)
            var seen: [TemplateValue] = []
            var unique: [TemplateValue] = []
            for element in try pythonElements(value) {
                var key = try getter(element)
                if !caseSensitive { key = ignoringCase(key) }
                try requireHashable(key)
                if !seen.contains(where: { pythonEquals($0, key) }) {
                    seen.append(key)
                    unique.append(element)
                }
            }
            return .generator(Generator(unique))
        case "wordcount":
            _ = try bind([])
            return .int(wordCount(pythonString(value)))
        default:
            // Reached only for a filter the parser let through inside a conditional, as jinja2 does.
            throw ChatTemplateError(.runtime, "No filter named \(pythonRepr(name)) found.")
        }
    }

    // MARK: helpers shared by several filters

    /// The string that `indent` and `truncate` work on: unlike most filters, jinja2 does not convert
    /// their value with `str()`, so anything else fails.
    private static func textOperand(_ value: TemplateValue, of filter: String) throws -> String {
        switch value {
        case .string(let text): return text
        case .undefined(let undefined): throw undefined.failure
        default: throw ChatTemplateError(.runtime, "the \(filter) filter needs a string, not \(pythonRepr(pythonTypeName(value)))")
        }
    }

    /// jinja2's `make_attrgetter`: `"a.b.0"` looks up `item["a"]["b"][0]`, falling back to `default`
    /// when the lookup is undefined; `none` returns the item itself.
    private static func attributeGetter(_ attribute: TemplateValue, default fallback: TemplateValue = .none) throws
        -> (TemplateValue) throws -> TemplateValue
    {
        let parts: [TemplateValue]
        switch attribute {
        case .none: parts = []
        case .string(let path):
            // Python's `int(x) if x.isdigit() else x` for each dotted part.
            parts = path.split(separator: ".", omittingEmptySubsequences: false).map { part in
                let isDigits = !part.isEmpty && part.allSatisfy { $0.isASCII && $0.isNumber }
                return isDigits ? Int(part).map(TemplateValue.int) ?? .string(String(part)) : .string(String(part))
            }
        default: parts = [attribute]
        }
        return { item in
            var current = item
            for part in parts {
                current = try templateItem(current, part)
                if !fallback.isNone, current.isUndefined { current = fallback }
            }
            return current
        }
    }

    /// jinja2's `ignore_case`: strings compare lower-cased unless a filter is told `case_sensitive`.
    private static func ignoringCase(_ value: TemplateValue) -> TemplateValue {
        if case .string(let text) = value { return .string(pythonLower(text)) }
        return value
    }

    private static func mapped(_ value: TemplateValue, _ arguments: Arguments) throws -> [TemplateValue] {
        guard isTruthy(value) else { return [] }
        if arguments.positional.isEmpty, let attribute = arguments.keywords.first(where: { $0.name == "attribute" }) {
            let others = arguments.keywords.filter { $0.name != "attribute" && $0.name != "default" }
            if let unexpected = others.first {
                throw ChatTemplateError(.runtime, "Unexpected keyword argument \(pythonRepr(unexpected.name))")
            }
            let fallback = arguments.keywords.first { $0.name == "default" }?.value ?? .none
            let getter = try attributeGetter(attribute.value, default: fallback)
            return try pythonElements(value).map(getter)
        }
        guard case .string(let filter)? = arguments.positional.first else {
            throw ChatTemplateError(.runtime, "map requires a filter argument")
        }
        guard names.contains(filter) else { throw ChatTemplateError(.runtime, "No filter named \(pythonRepr(filter)).") }
        let rest = Arguments(positional: Array(arguments.positional.dropFirst()), keywords: arguments.keywords)
        return try pythonElements(value).map { try apply(filter, to: $0, rest) }
    }

    private static func selected(_ value: TemplateValue, _ arguments: Arguments, keep: Bool, byAttribute: Bool) throws
        -> [TemplateValue]
    {
        guard isTruthy(value) else { return [] }
        var positional = arguments.positional[...]
        var getter: (TemplateValue) throws -> TemplateValue = { $0 }
        if byAttribute {
            guard let attribute = positional.popFirst() else {
                throw ChatTemplateError(.runtime, "Missing parameter for attribute name")
            }
            getter = try attributeGetter(attribute)
        }
        let test: (TemplateValue) throws -> Bool
        if let testName = positional.popFirst() {
            guard case .string(let name) = testName, TestFunctions.names.contains(name) else {
                throw ChatTemplateError(.runtime, "No test named \(pythonRepr(testName)).")
            }
            let rest = Arguments(positional: Array(positional), keywords: arguments.keywords)
            test = { try TestFunctions.apply(name, to: $0, rest) }
        } else {
            test = isTruthy
        }
        return try pythonElements(value).filter { try test(try getter($0)) == keep }
    }

    private static func jsonEncoder(_ bound: [TemplateValue?]) throws -> PythonJSONEncoder {
        var encoder = PythonJSONEncoder()
        encoder.ensureASCII = bound[0].map(isTruthy) ?? false
        switch bound[1] {
        case nil, .none?: break
        case .string(let text)?: encoder.indent = text
        case let width?:
            guard let spaces = pythonInteger(width) else {
                throw ChatTemplateError(.runtime, "can't multiply sequence by non-int of type \(pythonRepr(pythonTypeName(width)))")
            }
            encoder.indent = String(repeating: " ", count: max(spaces, 0))
        }
        if encoder.indent != nil { encoder.itemSeparator = "," }
        if let separators = bound[2], !separators.isNone {
            let pair = try pythonElements(separators)
            guard pair.count == 2, case .string(let item) = pair[0], case .string(let key) = pair[1] else {
                throw ChatTemplateError(.runtime, "separators must be a pair of strings")
            }
            encoder.itemSeparator = item
            encoder.keySeparator = key
        }
        encoder.sortKeys = bound[3].map(isTruthy) ?? false
        return encoder
    }

    /// `do_indent`: indents every line but the first (unless `first`), and blank lines only with `blank`.
    private static func indented(_ text: String, width: TemplateValue, first: Bool, blank: Bool) -> String {
        let indentation: String
        if case .string(let custom) = width {
            indentation = custom
        } else {
            indentation = String(repeating: " ", count: max(pythonInteger(width) ?? 4, 0))
        }
        // jinja2 appends a newline first so that splitlines keeps a trailing empty line.
        var lines = pythonSplitLines(text + "\n")
        var result: String
        if blank {
            result = lines.joined(separator: "\n" + indentation)
        } else {
            result = lines.isEmpty ? "" : lines.removeFirst()
            if !lines.isEmpty {
                result += "\n" + lines.map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n")
            }
        }
        return first ? indentation + result : result
    }

    /// `do_int`: `int(value)`, else `int(float(value))` (so "42.23" gives 42), else the default.
    private static func integerFilter(_ value: TemplateValue, fallback: TemplateValue, base: Int) throws -> TemplateValue {
        switch value {
        case .undefined(let undefined): throw undefined.failure
        case .int: return value
        case .bool(let flag): return .int(flag ? 1 : 0)
        case .double(let number):
            if number.isNaN { return fallback }
            guard let integer = Int(exactly: number.rounded(.towardZero)) else {
                throw ChatTemplateError(.runtime, "cannot convert \(pythonFloatRepr(number)) to a 64-bit integer")
            }
            return .int(integer)
        case .string(let text):
            if base == 0 || (2...36).contains(base), let number = pythonParseInt(text, radix: base) { return .int(number) }
            if let number = pythonParseDouble(text), number.isFinite, number.magnitude < 9.2e18 {
                return .int(Int(number))
            }
            return fallback
        default:
            return fallback
        }
    }

    /// `do_round`: Python's `round(value, precision)`, or ceil/floor at that precision.
    private static func rounded(_ value: TemplateValue, precision: Int, method: TemplateValue) throws -> TemplateValue {
        guard case .string(let methodName) = method, ["common", "ceil", "floor"].contains(methodName) else {
            throw ChatTemplateError(.runtime, "method must be common, ceil or floor")
        }
        if case .undefined(let undefined) = value { throw undefined.failure }
        guard let number: Double = {
            switch value {
            case .int(let integer): return Double(integer)
            case .bool(let flag): return flag ? 1 : 0
            case .double(let double): return double
            default: return nil
            }
        }() else {
            throw ChatTemplateError(.runtime, "type \(pythonTypeName(value)) doesn't define __round__ method")
        }
        let scale = Foundation.pow(10, Double(precision))
        switch methodName {
        case "ceil": return .double((number * scale).rounded(.up) / scale)
        case "floor": return .double((number * scale).rounded(.down) / scale)
        default:
            if case .double = value { return .double(pythonRound(number, digits: precision)) }
            // round() of an int stays an int; only a negative precision changes it.
            guard let integer = pythonInteger(value) else { return value }
            guard precision < 0 else { return .int(integer) }
            guard let rounded = Int(exactly: pythonRound(Double(integer), digits: precision)) else {
                throw ChatTemplateError(.runtime, "integer overflow: the result does not fit in 64 bits")
            }
            return .int(rounded)
        }
    }

    /// Python's correctly rounded `round(float, digits)`: ties go to even on the exact binary value,
    /// which C's `printf` also does.
    private static func pythonRound(_ number: Double, digits: Int) -> Double {
        guard number.isFinite else { return number }
        if digits >= 0 {
            return Double(String(format: "%.\(min(digits, 340))f", number)) ?? number
        }
        let scale = Foundation.pow(10, Double(-digits))
        let quotient = number / scale
        return quotient.rounded(.toNearestOrEven) * scale
    }

    /// jinja2's `title` filter: upper-cases the first character after `-`, whitespace or an opening bracket.
    private static func jinjaTitle(_ text: String) -> String {
        var result = ""
        var atWordStart = true
        for scalar in text.unicodeScalars {
            let separates = scalar.isPythonWhitespace || "-({[<".unicodeScalars.contains(scalar)
            if separates {
                result.unicodeScalars.append(scalar)
                atWordStart = true
            } else {
                result += atWordStart ? scalar.properties.uppercaseMapping : scalar.properties.lowercaseMapping
                atWordStart = false
            }
        }
        return result
    }

    private static func truncated(_ text: String, length: Int, killWords: Bool, end: String, leeway: Int) throws -> String {
        let scalars = text.scalars, endLength = end.unicodeScalars.count
        guard length >= endLength else { throw ChatTemplateError(.runtime, "expected length >= \(endLength), got \(length)") }
        guard leeway >= 0 else { throw ChatTemplateError(.runtime, "expected leeway >= 0, got \(leeway)") }
        if scalars.count <= length + leeway { return text }
        let kept = String(scalars: scalars.prefix(length - endLength))
        if killWords { return kept + end }
        return (try pythonSplit(kept, separator: " ", maxSplit: 1, fromEnd: true)).first! + end
    }

    /// `\w+` runs: letters, digits and underscores.
    private static func wordCount(_ text: String) -> Int {
        var count = 0
        var inWord = false
        for scalar in text.unicodeScalars {
            let isWord = scalar.isPythonAlphanumeric || scalar == "_"
            if isWord && !inWord { count += 1 }
            inWord = isWord
        }
        return count
    }
}

/// markupsafe's `escape`, the five characters HTML needs escaped.
func htmlEscaped(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&#34;"
        case "'": result += "&#39;"
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result
}
