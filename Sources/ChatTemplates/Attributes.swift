// Attribute and item access as jinja2's ImmutableSandboxedEnvironment does it, with the Python
// methods of str, dict, list and tuple that templates call.

/// `obj.name`: the Python attribute first (so `message.items` is the dict method even when the dict
/// has an "items" key), then the item `obj["name"]`, else undefined.
func templateAttribute(_ object: TemplateValue, _ name: String) throws -> TemplateValue {
    if case .undefined(let undefined) = object { throw undefined.failure }
    if let attribute = try pythonAttribute(object, name) { return attribute }
    return pythonSubscript(object, .string(name)) ?? .undefined(.missingAttribute(name, of: object))
}

/// `getattr(obj, name)` alone, without the fallback to the item (the `attr` filter).
func templateAttributeWithoutItem(_ object: TemplateValue, _ name: String) throws -> TemplateValue {
    if case .undefined(let undefined) = object { throw undefined.failure }
    return try pythonAttribute(object, name) ?? .undefined(.missingAttribute(name, of: object))
}

/// `obj[key]`: the item first, then for string keys the Python attribute, else undefined.
func templateItem(_ object: TemplateValue, _ key: TemplateValue) throws -> TemplateValue {
    if case .undefined(let undefined) = object { throw undefined.failure }
    if let item = pythonSubscript(object, key) { return item }
    guard case .string(let name) = key else { return .undefined(.missingElement(key, of: object)) }
    return try pythonAttribute(object, name) ?? .undefined(.missingAttribute(name, of: object))
}

/// `obj[start:stop:step]` on a list, tuple or string. jinja2 slices with plain Python, not through the
/// sandbox's item lookup, so slicing anything else is an error rather than undefined.
func templateSlice(_ object: TemplateValue, start: TemplateValue, stop: TemplateValue, step: TemplateValue) throws
    -> TemplateValue
{
    switch object {
    case .undefined(let undefined): throw undefined.failure
    case .list, .tuple, .string: break
    case .dict: throw ChatTemplateError(.runtime, "unhashable type: 'slice'")
    default: throw ChatTemplateError(.runtime, "\(pythonRepr(pythonTypeName(object))) object is not subscriptable")
    }
    func bound(_ value: TemplateValue) throws -> Int? {
        if case .none = value { return nil }
        guard let index = pythonInteger(value) else {
            throw ChatTemplateError(.runtime, "slice indices must be integers or None or have an __index__ method")
        }
        return index
    }
    let (start, stop, step) = (try bound(start), try bound(stop), try bound(step))
    func sliced<T>(_ elements: [T]) throws -> [T] {
        let step = step ?? 1
        guard step != 0 else { throw ChatTemplateError(.runtime, "slice step cannot be zero") }
        let count = elements.count
        func clamp(_ value: Int?, default defaultValue: Int) -> Int {
            guard var index = value else { return defaultValue }
            if index < 0 { index += count }
            if step > 0 { return min(max(index, 0), count) }
            return min(max(index, -1), count - 1)
        }
        var index = clamp(start, default: step > 0 ? 0 : count - 1)
        let end = clamp(stop, default: step > 0 ? count : -1)
        var result: [T] = []
        while step > 0 ? index < end : index > end {
            result.append(elements[index])
            index += step
        }
        return result
    }
    switch object {
    case .list(let items): return .list(try sliced(items))
    case .tuple(let items): return .tuple(try sliced(items))
    case .string(let text): return .string(String(scalars: try sliced(text.scalars)))
    default: return object
    }
}

/// Python's `obj[key]`, or nil where Python raises a KeyError, IndexError or TypeError.
private func pythonSubscript(_ object: TemplateValue, _ key: TemplateValue) -> TemplateValue? {
    switch object {
    case .dict(let dict):
        return (try? requireHashable(key)) == nil ? nil : dict[key]
    case .list(let items), .tuple(let items):
        guard let index = pythonInteger(key) else { return nil }
        let position = index < 0 ? index + items.count : index
        return items.indices.contains(position) ? items[position] : nil
    case .string(let text):
        guard let index = pythonInteger(key) else { return nil }
        let scalars = text.scalars
        let position = index < 0 ? index + scalars.count : index
        return scalars.indices.contains(position) ? .string(String(scalars[position])) : nil
    default:
        return nil
    }
}

/// Python's `getattr(obj, name)` through the sandbox, or nil where Python raises an AttributeError.
/// Private attributes and methods that would mutate a list or dict give the sandbox's unsafe undefined.
private func pythonAttribute(_ object: TemplateValue, _ name: String) throws -> TemplateValue? {
    switch object {
    case .namespace(let namespace):
        return namespace.attributes[name]
    case .loop(let loop):
        return loopAttribute(loop, name)
    default:
        if name.hasPrefix("__") && name.hasSuffix("__") { return .undefined(.unsafeAttribute(name, of: object)) }
        return try method(of: object, name)
    }
}

private func loopAttribute(_ loop: LoopContext, _ name: String) -> TemplateValue? {
    let length = loop.items.count, index0 = loop.index0
    switch name {
    case "index": return .int(index0 + 1)
    case "index0": return .int(index0)
    case "revindex": return .int(length - index0)
    case "revindex0": return .int(length - index0 - 1)
    case "first": return .bool(index0 == 0)
    case "last": return .bool(index0 == length - 1)
    case "length": return .int(length)
    case "depth": return .int(1)
    case "depth0": return .int(0)
    case "previtem":
        return index0 > 0 ? loop.items[index0 - 1] : .undefined(Undefined(message: "there is no previous item"))
    case "nextitem":
        return index0 + 1 < length ? loop.items[index0 + 1] : .undefined(Undefined(message: "there is no next item"))
    case "cycle":
        return .function(Function("cycle", kind: .method) { arguments in
            guard !arguments.positional.isEmpty else { throw ChatTemplateError(.runtime, "no items for cycling given") }
            return arguments.positional[loop.index0 % arguments.positional.count]
        })
    case "changed":
        return .function(Function("changed", kind: .method) { arguments in
            let value = TemplateValue.tuple(arguments.positional)
            if let last = loop.lastChangedValue, pythonEquals(last, value) { return .bool(false) }
            loop.lastChangedValue = value
            return .bool(true)
        })
    default:
        return nil
    }
}

private func method(_ name: String, _ body: @escaping (Arguments) throws -> TemplateValue) -> TemplateValue {
    .function(Function(name, kind: .method, body))
}

/// The methods of str, dict, list and tuple that templates use, bound to `object`.
private func method(of object: TemplateValue, _ name: String) throws -> TemplateValue? {
    switch object {
    case .string(let text): return stringMethod(text, name)
    case .dict(let dict):
        switch name {
        case "get":
            return method(name) { arguments in
                let bound = try arguments.bind("get", ["key", "default"], required: 1)
                try requireHashable(bound[0]!)
                return dict[bound[0]!] ?? bound[1] ?? .none
            }
        case "items", "keys", "values":
            let view: DictView = name == "items" ? .items : name == "keys" ? .keys : .values
            return method(name) { arguments in
                _ = try arguments.bind(name, [])
                return .dictView(view, dict)
            }
        case "copy":
            return method(name) { _ in .dict(dict) }
        case "clear", "pop", "popitem", "setdefault", "update":
            return .undefined(.unsafeAttribute(name, of: object))
        default:
            return nil
        }
    case .list(let items), .tuple(let items):
        switch name {
        case "count":
            return method(name) { arguments in
                let value = try arguments.bind("count", ["value"], required: 1)[0]!
                return .int(items.filter { pythonEquals($0, value) }.count)
            }
        case "index":
            return method(name) { arguments in
                let value = try arguments.bind("index", ["value"], required: 1)[0]!
                guard let index = items.firstIndex(where: { pythonEquals($0, value) }) else {
                    throw ChatTemplateError(.runtime, "\(pythonRepr(value)) is not in \(pythonTypeName(object))")
                }
                return .int(index)
            }
        case "copy", "append", "clear", "pop", "reverse", "insert", "sort", "extend", "remove":
            // Tuples have none of these; of the list methods only `copy` leaves the list alone.
            guard case .list = object else { return nil }
            return name == "copy" ? method(name) { _ in .list(items) } : .undefined(.unsafeAttribute(name, of: object))
        default:
            return nil
        }
    default:
        return nil
    }
}

private func stringArgument(_ value: TemplateValue?, _ function: String) throws -> String? {
    switch value {
    case nil, .none?: return nil
    case .string(let text)?: return text
    case let other?:
        throw ChatTemplateError(.runtime, "\(function) arg must be None or str, not \(pythonTypeName(other))")
    }
}

private func requiredString(_ value: TemplateValue?, _ function: String) throws -> String {
    guard case .string(let text)? = value else {
        throw ChatTemplateError(
            .runtime, "\(function)() argument must be str, not \(value.map(pythonTypeName) ?? "nothing")")
    }
    return text
}

private func integerArgument(_ value: TemplateValue?, default defaultValue: Int, _ function: String) throws -> Int {
    guard let value, !(value.isNone) else { return defaultValue }
    guard let number = pythonInteger(value) else {
        throw ChatTemplateError(.runtime, "\(function)() argument must be an integer, not \(pythonTypeName(value))")
    }
    return number
}

/// `text[start:end]` for the optional start/end arguments of `find`, `count`, `startswith`...
private func window(_ text: String, _ start: TemplateValue?, _ end: TemplateValue?, _ function: String) throws
    -> (scalars: [Unicode.Scalar], offset: Int)
{
    let scalars = text.scalars
    func clamp(_ index: Int) -> Int { min(max(index < 0 ? index + scalars.count : index, 0), scalars.count) }
    let from = clamp(try integerArgument(start, default: 0, function))
    let to = clamp(try integerArgument(end, default: scalars.count, function))
    return (from < to ? Array(scalars[from..<to]) : [], from)
}

private func stringMethod(_ text: String, _ name: String) -> TemplateValue? {
    func unary(_ transform: @escaping (String) -> TemplateValue) -> TemplateValue {
        method(name) { arguments in
            _ = try arguments.bind(name, [])
            return transform(text)
        }
    }
    /// `isdigit`, `isalpha`...: false for the empty string, else every character passes.
    func predicate(_ test: @escaping (Unicode.Scalar) -> Bool) -> TemplateValue {
        unary { .bool(!$0.isEmpty && $0.unicodeScalars.allSatisfy(test)) }
    }
    func casePredicate(upper: Bool) -> TemplateValue {
        unary { text in
            let cased = text.unicodeScalars.filter(\.isPythonCased)
            return .bool(!cased.isEmpty && cased.allSatisfy { upper ? !$0.properties.isLowercase : !$0.properties.isUppercase })
        }
    }
    switch name {
    case "upper": return unary { .string(pythonUpper($0)) }
    case "lower", "casefold": return unary { .string(pythonLower($0)) }
    case "title": return unary { .string(pythonTitle($0)) }
    case "capitalize": return unary { .string(pythonCapitalize($0)) }
    case "swapcase": return unary { .string(pythonSwapcase($0)) }
    case "isdigit", "isdecimal": return predicate { $0.properties.generalCategory == .decimalNumber }
    case "isnumeric": return predicate { $0.properties.numericType != nil }
    case "isalpha":
        return predicate { $0.isPythonAlphanumeric && !$0.properties.generalCategory.isNumber }
    case "isalnum": return predicate(\.isPythonAlphanumeric)
    case "isspace": return predicate(\.isPythonWhitespace)
    case "isupper": return casePredicate(upper: true)
    case "islower": return casePredicate(upper: false)
    case "strip", "lstrip", "rstrip":
        return method(name) { arguments in
            let characters = try stringArgument(try arguments.bind(name, ["chars"])[0], name)
            return .string(pythonStrip(text, characters: characters, leading: name != "rstrip", trailing: name != "lstrip"))
        }
    case "split", "rsplit":
        return method(name) { arguments in
            let bound = try arguments.bind(name, ["sep", "maxsplit"])
            let separator = try stringArgument(bound[0], name)
            let maxSplit = try integerArgument(bound[1], default: -1, name)
            return .list(try pythonSplit(text, separator: separator, maxSplit: maxSplit, fromEnd: name == "rsplit")
                .map(TemplateValue.string))
        }
    case "splitlines":
        return method(name) { arguments in
            let keepEnds = try arguments.bind(name, ["keepends"])[0].map(isTruthy) ?? false
            return .list(pythonSplitLines(text, keepEnds: keepEnds).map(TemplateValue.string))
        }
    case "startswith", "endswith":
        return method(name) { arguments in
            let bound = try arguments.bind(name, ["prefix", "start", "end"], required: 1)
            let candidates: [TemplateValue]
            if case .tuple(let items) = bound[0]! { candidates = items } else { candidates = [bound[0]!] }
            let (scalars, _) = try window(text, bound[1], bound[2], name)
            for candidate in candidates {
                guard case .string(let affix) = candidate else {
                    throw ChatTemplateError(
                        .runtime, "\(name) first arg must be str or a tuple of str, not \(pythonTypeName(candidate))")
                }
                let affixScalars = affix.scalars
                let matches = name == "startswith"
                    ? scalars.starts(with: affixScalars) : scalars.reversed().starts(with: affixScalars.reversed())
                if matches { return .bool(true) }
            }
            return .bool(false)
        }
    case "replace":
        return method(name) { arguments in
            let bound = try arguments.bind(name, ["old", "new", "count"], required: 2)
            return .string(pythonReplace(
                text, try requiredString(bound[0], name), try requiredString(bound[1], name),
                count: try integerArgument(bound[2], default: -1, name)))
        }
    case "find", "rfind", "index", "rindex", "count":
        return method(name) { arguments in
            let bound = try arguments.bind(name, ["sub", "start", "end"], required: 1)
            let needle = try requiredString(bound[0], name).scalars
            let (scalars, offset) = try window(text, bound[1], bound[2], name)
            if name == "count" { return .int(occurrences(of: needle, in: scalars).count) }
            let found = name.hasPrefix("r")
                ? lastOccurrence(of: needle, in: scalars) : occurrences(of: needle, in: scalars, limit: 1).first
            guard let position = found else {
                if name.hasSuffix("index") { throw ChatTemplateError(.runtime, "substring not found") }
                return .int(-1)
            }
            return .int(position + offset)
        }
    case "join":
        return method(name) { arguments in
            let iterable = try arguments.bind(name, ["iterable"], required: 1)[0]!
            let parts = try pythonElements(iterable).enumerated().map { index, element -> String in
                guard case .string(let part) = element else {
                    throw ChatTemplateError(
                        .runtime, "sequence item \(index): expected str instance, \(pythonTypeName(element)) found")
                }
                return part
            }
            return .string(parts.joined(separator: text))
        }
    case "center", "ljust", "rjust":
        return method(name) { arguments in
            let bound = try arguments.bind(name, ["width", "fillchar"], required: 1)
            let width = try allowedSize(try integerArgument(bound[0], default: 0, name), "\(name)()")
            let fill = try stringArgument(bound[1], name) ?? " "
            guard fill.unicodeScalars.count == 1, let fillScalar = fill.unicodeScalars.first else {
                throw ChatTemplateError(.runtime, "The fill character must be exactly one character long")
            }
            let padding = max(width - text.unicodeScalars.count, 0)
            let filler = { (count: Int) in String(repeating: fill, count: count) }
            switch name {
            case "ljust": return .string(text + filler(padding))
            case "rjust": return .string(filler(padding) + text)
            default: return .string(pythonCenter(text, width: width, fill: fillScalar))
            }
        }
    case "zfill":
        return method(name) { arguments in
            let width = try allowedSize(try integerArgument(try arguments.bind(name, ["width"], required: 1)[0], default: 0, name), "zfill()")
            let padding = max(width - text.unicodeScalars.count, 0)
            let signLength = text.hasPrefix("-") || text.hasPrefix("+") ? 1 : 0
            return .string(String(text.prefix(signLength)) + String(repeating: "0", count: padding) + String(text.dropFirst(signLength)))
        }
    case "partition", "rpartition":
        return method(name) { arguments in
            let separator = try requiredString(try arguments.bind(name, ["sep"], required: 1)[0], name)
            guard !separator.isEmpty else { throw ChatTemplateError(.runtime, "empty separator") }
            let parts = try pythonSplit(text, separator: separator, maxSplit: 1, fromEnd: name == "rpartition")
            if parts.count == 2 { return .tuple([.string(parts[0]), .string(separator), .string(parts[1])]) }
            return name == "partition"
                ? .tuple([.string(text), .string(""), .string("")]) : .tuple([.string(""), .string(""), .string(text)])
        }
    case "removeprefix", "removesuffix":
        return method(name) { arguments in
            let affix = try requiredString(try arguments.bind(name, ["affix"], required: 1)[0], name).scalars
            let scalars = text.scalars
            if name == "removeprefix", scalars.starts(with: affix) { return .string(String(scalars: scalars.dropFirst(affix.count))) }
            if name == "removesuffix", !affix.isEmpty, scalars.reversed().starts(with: affix.reversed()) {
                return .string(String(scalars: scalars.dropLast(affix.count)))
            }
            return .string(text)
        }
    case "format":
        return method(name) { arguments in
            .string(try braceFormat(text, arguments) { value, key, isAttribute in
                isAttribute
                    ? try templateAttribute(value, key) : try templateItem(value, Int(key).map(TemplateValue.int) ?? .string(key))
            })
        }
    default:
        return nil
    }
}

extension Unicode.GeneralCategory {
    var isNumber: Bool { self == .decimalNumber || self == .letterNumber || self == .otherNumber }
}
