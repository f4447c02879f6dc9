import Foundation

// Python's behaviour for the values templates see: type names, truthiness, str() and repr(),
// equality, ordering, arithmetic, membership, iteration and len().

func pythonTypeName(_ value: TemplateValue) -> String {
    switch value {
    case .undefined: return "Undefined"
    case .none: return "NoneType"
    case .bool: return "bool"
    case .int: return "int"
    case .double: return "float"
    case .string: return "str"
    case .list: return "list"
    case .tuple: return "tuple"
    case .dict: return "dict"
    case .dictView(.keys, _): return "dict_keys"
    case .dictView(.values, _): return "dict_values"
    case .dictView(.items, _): return "dict_items"
    case .generator: return "generator"
    case .namespace: return "TemplateNamespace"
    case .loop: return "LoopContext"
    case .function(let function): return function.kind == .macro ? "Macro" : "builtin_function_or_method"
    }
}

/// jinja2's `object_type_repr`, used in undefined messages: `dict object`, `None`, ...
func objectTypeDescription(_ value: TemplateValue) -> String {
    switch value {
    case .none: return "None"
    case .undefined: return "jinja2.runtime.Undefined object"
    case .namespace: return "transformers.utils.chat_template_utils.TemplateNamespace object"
    case .loop: return "jinja2.runtime.LoopContext object"
    case .function(let function) where function.kind == .macro: return "jinja2.runtime.Macro object"
    default: return "\(pythonTypeName(value)) object"
    }
}

func isTruthy(_ value: TemplateValue) -> Bool {
    switch value {
    case .undefined, .none: return false
    case .bool(let flag): return flag
    case .int(let number): return number != 0
    case .double(let number): return number != 0
    case .string(let text): return !text.isEmpty
    case .list(let items), .tuple(let items): return !items.isEmpty
    case .dict(let dict), .dictView(_, let dict): return dict.count > 0
    case .loop(let loop): return !loop.items.isEmpty
    case .generator, .namespace, .function: return true
    }
}

/// Python's `str(value)`, which is what `{{ value }}` prints; undefined prints as nothing.
func pythonString(_ value: TemplateValue) -> String {
    switch value {
    case .undefined: return ""
    case .none: return "None"
    case .bool(let flag): return flag ? "True" : "False"
    case .int(let number): return String(number)
    case .double(let number): return pythonFloatRepr(number)
    case .string(let text): return text
    default: return pythonRepr(value)
    }
}

/// Python's `repr(value)`, which is how containers print their elements.
func pythonRepr(_ value: TemplateValue) -> String {
    repr(value, inside: [])
}

/// `inside` lists the namespaces being printed: one that contains itself prints as `<Namespace {...}>`
/// where Python would recurse until its recursion limit.
private func repr(_ value: TemplateValue, inside namespaces: [ObjectIdentifier]) -> String {
    let elementRepr = { (element: TemplateValue) in repr(element, inside: namespaces) }
    switch value {
    case .undefined: return "Undefined"
    case .string(let text): return pythonRepr(text)
    case .none, .bool, .int, .double: return pythonString(value)
    case .list(let items): return "[" + items.map(elementRepr).joined(separator: ", ") + "]"
    case .tuple(let items):
        return items.count == 1 ? "(\(elementRepr(items[0])),)" : "(" + items.map(elementRepr).joined(separator: ", ") + ")"
    case .dict(let dict): return dictRepr(dict, inside: namespaces)
    case .dictView(let view, let dict):
        let elements: [TemplateValue]
        switch view {
        case .keys: elements = dict.keys
        case .values: elements = dict.values
        case .items: elements = dict.entries.map { .tuple([$0.key, $0.value]) }
        }
        return "\(pythonTypeName(value))(\(elementRepr(.list(elements))))"
    case .generator: return "<generator object>"
    case .namespace(let namespace):
        let identity = ObjectIdentifier(namespace)
        if namespaces.contains(identity) { return "<Namespace {...}>" }
        return "<Namespace \(dictRepr(namespace.attributes, inside: namespaces + [identity]))>"
    case .loop(let loop): return "<LoopContext \(loop.index0 + 1)/\(loop.items.count)>"
    case .function(let function):
        switch function.kind {
        case .macro: return "<Macro \(pythonRepr(function.name))>"
        case .builtin: return "<built-in function \(function.name)>"
        case .method: return "<built-in method \(function.name)>"
        }
    }
}

private func dictRepr(_ dict: TemplateDict, inside namespaces: [ObjectIdentifier]) -> String {
    "{" + dict.entries.map { "\(repr($0.key, inside: namespaces)): \(repr($0.value, inside: namespaces))" }
        .joined(separator: ", ") + "}"
}

// MARK: equality and ordering

private enum Number {
    case int(Int)
    case double(Double)

    init?(_ value: TemplateValue) {
        switch value {
        case .bool(let flag): self = .int(flag ? 1 : 0)
        case .int(let number): self = .int(number)
        case .double(let number): self = .double(number)
        default: return nil
        }
    }

    var double: Double {
        switch self {
        case .int(let number): return Double(number)
        case .double(let number): return number
        }
    }
}

/// Python `==`. Two undefined values are equal, as jinja2's `Undefined.__eq__` says.
func pythonEquals(_ a: TemplateValue, _ b: TemplateValue) -> Bool {
    if let x = Number(a), let y = Number(b) {
        if case .int(let i) = x, case .int(let j) = y { return i == j }
        return x.double == y.double
    }
    switch (a, b) {
    case (.undefined, .undefined), (.none, .none): return true
    case (.string(let x), .string(let y)): return x.isIdentical(to: y)
    case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
        return x.count == y.count && zip(x, y).allSatisfy { pythonEquals($0, $1) }
    case (.dict(let x), .dict(let y)):
        return x.count == y.count && x.entries.allSatisfy { entry in y[entry.key].map { pythonEquals($0, entry.value) } ?? false }
    case (.namespace(let x), .namespace(let y)): return x === y
    case (.loop(let x), .loop(let y)): return x === y
    case (.function(let x), .function(let y)): return x === y
    case (.generator(let x), .generator(let y)): return x === y
    default: return false
    }
}

/// Python's `<`, `<=`, `>`, `>=`: numbers with numbers, strings by code point, lists and tuples
/// element-wise; anything else is a TypeError.
func pythonOrder(_ op: ComparisonOperator, _ a: TemplateValue, _ b: TemplateValue) throws -> Bool {
    if case .undefined(let undefined) = a { throw undefined.failure }
    if case .undefined(let undefined) = b { throw undefined.failure }
    func holds<T: Comparable>(_ x: T, _ y: T) -> Bool {
        switch op {
        case .less: return x < y
        case .lessOrEqual: return x <= y
        case .greater: return x > y
        default: return x >= y
        }
    }
    if let x = Number(a), let y = Number(b) {
        if case .int(let i) = x, case .int(let j) = y { return holds(i, j) }
        return holds(x.double, y.double)
    }
    switch (a, b) {
    case (.string(let x), .string(let y)):
        let left = x.unicodeScalars.map(\.value), right = y.unicodeScalars.map(\.value)
        if let index = zip(left, right).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            return holds(left[index], right[index])
        }
        return holds(left.count, right.count)
    case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
        if let index = zip(x, y).enumerated().first(where: { !pythonEquals($0.element.0, $0.element.1) })?.offset {
            return try pythonOrder(op, x[index], y[index])
        }
        return holds(x.count, y.count)
    default:
        throw ChatTemplateError(
            .runtime,
            "'\(op.rawValue)' not supported between instances of \(pythonRepr(pythonTypeName(a))) and \(pythonRepr(pythonTypeName(b)))")
    }
}

/// `sorted()`'s comparison: `a < b`.
func pythonLess(_ a: TemplateValue, _ b: TemplateValue) throws -> Bool {
    try pythonOrder(.less, a, b)
}

/// Python's stable `sorted(values, key=key, reverse=reverse)`.
func pythonSorted<T>(_ values: [T], reverse: Bool = false, key: (T) throws -> TemplateValue) throws -> [T] {
    let keyed = try values.map { (key: try key($0), value: $0) }
    // Insertion sort keeps equal keys in order and lets the comparison throw; lists in templates are short.
    var sorted: [(key: TemplateValue, value: T)] = []
    for element in keyed {
        var position = sorted.count
        while position > 0 {
            let before = sorted[position - 1].key
            let outOfOrder = reverse ? try pythonLess(before, element.key) : try pythonLess(element.key, before)
            if !outOfOrder { break }
            position -= 1
        }
        sorted.insert(element, at: position)
    }
    return sorted.map(\.value)
}

// MARK: arithmetic

/// Python integers never overflow; ours are 64-bit, so an overflow is an error rather than a wrong number.
private func checked(_ result: (partialValue: Int, overflow: Bool)) throws -> Int {
    if result.overflow {
        throw ChatTemplateError(.runtime, "integer overflow: the result does not fit in 64 bits")
    }
    return result.partialValue
}

private func isSequence(_ value: TemplateValue) -> Bool {
    switch value {
    case .string, .list, .tuple: return true
    default: return false
    }
}

private func unsupportedOperands(_ op: BinaryOperator, _ a: TemplateValue, _ b: TemplateValue) -> ChatTemplateError {
    ChatTemplateError(
        .runtime,
        "unsupported operand type(s) for \(op.rawValue): \(pythonRepr(pythonTypeName(a))) and \(pythonRepr(pythonTypeName(b)))")
}

/// Python's binary arithmetic operators.
func pythonArithmetic(_ op: BinaryOperator, _ a: TemplateValue, _ b: TemplateValue) throws -> TemplateValue {
    if case .undefined(let undefined) = a { throw undefined.failure }
    if case .undefined(let undefined) = b { throw undefined.failure }
    if let x = Number(a), let y = Number(b) { return try numericArithmetic(op, x, y) }
    switch (op, a, b) {
    case (.add, .string(let x), .string(let y)): return .string(x + y)
    case (.add, .list(let x), .list(let y)): return .list(x + y)
    case (.add, .tuple(let x), .tuple(let y)): return .tuple(x + y)
    case (.add, .string, _), (.add, .list, _), (.add, .tuple, _):
        throw ChatTemplateError(
            .runtime, "can only concatenate \(pythonTypeName(a)) (not \"\(pythonTypeName(b))\") to \(pythonTypeName(a))")
    case (.multiply, _, _):
        // A sequence times an integer repeats it, whichever side the integer is on.
        let (sequence, count) = isSequence(a) ? (a, b) : (b, a)
        guard isSequence(sequence) else { throw unsupportedOperands(op, a, b) }
        guard let times = pythonInteger(count) else {
            throw ChatTemplateError(
                .runtime, "can't multiply sequence by non-int of type \(pythonRepr(pythonTypeName(count)))")
        }
        let repeats = max(times, 0)
        let length = if case .string(let text) = sequence { text.unicodeScalars.count } else { try pythonElements(sequence).count }
        let (total, overflow) = repeats.multipliedReportingOverflow(by: length)
        _ = try allowedSize(overflow ? .max : total, "repeating a sequence")
        let copies = total == 0 ? 0 : repeats  // an empty sequence repeated 10**15 times is made at once
        switch sequence {
        case .string(let text): return .string(String(repeating: text, count: copies))
        case .list(let items): return .list(Array(repeating: items, count: copies).flatMap { $0 })
        default: return .tuple(Array(repeating: try pythonElements(sequence), count: copies).flatMap { $0 })
        }
    case (.modulo, .string(let format), _):
        return .string(try percentFormat(format, b))
    default:
        throw unsupportedOperands(op, a, b)
    }
}

private func numericArithmetic(_ op: BinaryOperator, _ x: Number, _ y: Number) throws -> TemplateValue {
    if case .int(let i) = x, case .int(let j) = y {
        switch op {
        case .add: return .int(try checked(i.addingReportingOverflow(j)))
        case .subtract: return .int(try checked(i.subtractingReportingOverflow(j)))
        case .multiply: return .int(try checked(i.multipliedReportingOverflow(by: j)))
        case .divide:
            guard j != 0 else { throw ChatTemplateError(.runtime, "division by zero") }
            return .double(Double(i) / Double(j))
        case .floorDivide, .modulo:
            guard j != 0 else { throw ChatTemplateError(.runtime, "integer division or modulo by zero") }
            var quotient = i / j, remainder = i % j
            if remainder != 0 && (remainder < 0) != (j < 0) {
                quotient -= 1
                remainder += j
            }
            return .int(op == .floorDivide ? quotient : remainder)
        case .power:
            if j < 0 {
                guard i != 0 else { throw ChatTemplateError(.runtime, "0.0 cannot be raised to a negative power") }
                return .double(Foundation.pow(Double(i), Double(j)))
            }
            var result = 1, base = i, exponent = j
            while exponent > 0 {
                if exponent & 1 == 1 { result = try checked(result.multipliedReportingOverflow(by: base)) }
                exponent >>= 1
                if exponent > 0 { base = try checked(base.multipliedReportingOverflow(by: base)) }
            }
            return .int(result)
        }
    }
    let a = x.double, b = y.double
    switch op {
    case .add: return .double(a + b)
    case .subtract: return .double(a - b)
    case .multiply: return .double(a * b)
    case .divide:
        guard b != 0 else { throw ChatTemplateError(.runtime, "float division by zero") }
        return .double(a / b)
    case .floorDivide, .modulo:
        guard b != 0 else {
            throw ChatTemplateError(.runtime, op == .modulo ? "float modulo" : "float floor division by zero")
        }
        // CPython's float_divmod, which keeps the remainder's sign equal to the divisor's.
        var remainder = fmod(a, b)
        var quotient = (a - remainder) / b
        if remainder != 0 {
            if (b < 0) != (remainder < 0) {
                remainder += b
                quotient -= 1
            }
        } else {
            remainder = copysign(0, b)
        }
        if op == .modulo { return .double(remainder) }
        if quotient != 0 {
            var floored = quotient.rounded(.down)
            if quotient - floored > 0.5 { floored += 1 }
            return .double(floored)
        }
        return .double(copysign(0, a / b))
    case .power:
        if a == 0 && b < 0 { throw ChatTemplateError(.runtime, "0.0 cannot be raised to a negative power") }
        if a < 0 && b != b.rounded() {
            throw ChatTemplateError(.runtime, "a negative number raised to a fractional power is complex")
        }
        let power = Foundation.pow(a, b)
        // Python's float power refuses to overflow where other float operations give inf.
        if power.isInfinite && a.isFinite && b.isFinite {
            throw ChatTemplateError(.runtime, "(34, 'Numerical result out of range')")
        }
        return .double(power)
    }
}

// MARK: membership, iteration and length

/// Python's `element in container`.
func pythonContains(_ container: TemplateValue, _ element: TemplateValue) throws -> Bool {
    switch container {
    case .string(let text):
        guard case .string(let needle) = element else {
            throw ChatTemplateError(
                .runtime, "'in <string>' requires string as left operand, not \(pythonTypeName(element))")
        }
        return !occurrences(of: needle.scalars, in: text.scalars, limit: 1).isEmpty
    case .dict(let dict):
        try requireHashable(element)
        return dict[element] != nil
    case .undefined, .list, .tuple, .dictView, .generator:
        return try pythonElements(container).contains { pythonEquals($0, element) }
    default:
        throw ChatTemplateError(.runtime, "argument of type \(pythonRepr(pythonTypeName(container))) is not iterable")
    }
}

/// What `for x in value` visits: characters of a string, keys of a dict, nothing for undefined.
func pythonElements(_ value: TemplateValue) throws -> [TemplateValue] {
    switch value {
    case .undefined: return []
    case .string(let text): return text.unicodeScalars.map { .string(String($0)) }
    case .list(let items), .tuple(let items): return items
    case .dict(let dict): return dict.keys
    case .dictView(.keys, let dict): return dict.keys
    case .dictView(.values, let dict): return dict.values
    case .dictView(.items, let dict): return dict.entries.map { .tuple([$0.key, $0.value]) }
    case .generator(let generator): return generator.drain()
    case .loop(let loop): return loop.items
    default:
        throw ChatTemplateError(.runtime, "\(pythonRepr(pythonTypeName(value))) object is not iterable")
    }
}

/// Python's `len(value)`; undefined has length 0.
func pythonLength(_ value: TemplateValue) throws -> Int {
    switch value {
    case .undefined: return 0
    case .string(let text): return text.unicodeScalars.count
    case .list(let items), .tuple(let items): return items.count
    case .dict(let dict), .dictView(_, let dict): return dict.count
    case .loop(let loop): return loop.items.count
    default:
        throw ChatTemplateError(.runtime, "object of type \(pythonRepr(pythonTypeName(value))) has no len()")
    }
}

/// An integer argument as Python accepts one (`bool` is an `int`).
func pythonInteger(_ value: TemplateValue) -> Int? {
    switch value {
    case .int(let number): return number
    case .bool(let flag): return flag ? 1 : 0
    default: return nil
    }
}
