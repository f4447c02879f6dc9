import Foundation

/// The globals transformers' environment gives templates: jinja2's sandboxed `range`, and
/// transformers' `raise_exception`, `strftime_now`, `dict` and `namespace`.
func templateGlobals(now: Date) -> [String: TemplateValue] {
    [
        "range": .function(Function("range", kind: .builtin, pythonRange)),
        "namespace": .function(Function("namespace", kind: .builtin) { arguments in
            let attributes = try pythonDict(arguments, function: "namespace")
            for key in attributes.keys { try requireNamespaceName(key) }
            return .namespace(Namespace(attributes))
        }),
        "dict": .function(Function("dict", kind: .builtin) { .dict(try pythonDict($0, function: "dict")) }),
        "raise_exception": .function(Function("raise_exception", kind: .builtin) { arguments in
            let message = try arguments.bind("raise_exception", ["message"], required: 1)[0]!
            throw ChatTemplateError(.raised, pythonString(message))
        }),
        "strftime_now": .function(Function("strftime_now", kind: .builtin) { arguments in
            let format = try arguments.bind("strftime_now", ["format"], required: 1)[0]!
            guard case .string(let text) = format else {
                throw ChatTemplateError(.runtime, "strftime() argument 1 must be str, not \(pythonTypeName(format))")
            }
            return .string(strftime(text, now))
        }),
    ]
}

/// transformers' `TemplateNamespace` refuses underscore-prefixed attributes.
func requireNamespaceName(_ key: TemplateValue) throws {
    if case .string(let name) = key, name.hasPrefix("_") {
        throw ChatTemplateError(
            .runtime,
            "Chat templates cannot store underscore-prefixed attributes on a namespace, but got \(pythonRepr(name)). Please rename the attribute.")
    }
}

/// jinja2's `safe_range`: Python's `range`, refusing more than 100 000 items.
private func pythonRange(_ arguments: Arguments) throws -> TemplateValue {
    guard arguments.keywords.isEmpty else { throw ChatTemplateError(.runtime, "range() takes no keyword arguments") }
    let numbers = try arguments.positional.map { value -> Int in
        guard let number = pythonInteger(value) else {
            throw ChatTemplateError(
                .runtime, "\(pythonRepr(pythonTypeName(value))) object cannot be interpreted as an integer")
        }
        return number
    }
    let (start, stop, step): (Int, Int, Int)
    switch numbers.count {
    case 1: (start, stop, step) = (0, numbers[0], 1)
    case 2: (start, stop, step) = (numbers[0], numbers[1], 1)
    case 3: (start, stop, step) = (numbers[0], numbers[1], numbers[2])
    default: throw ChatTemplateError(.runtime, "range expected at most 3 arguments, got \(numbers.count)")
    }
    guard step != 0 else { throw ChatTemplateError(.runtime, "range() arg 3 must not be zero") }
    // Counted before anything is built, in floating point so that no bound can overflow.
    let count = max(0, ((Double(stop) - Double(start)) / Double(step)).rounded(.up))
    guard count <= 100_000 else {
        throw ChatTemplateError(.runtime, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).")
    }
    return .list(stride(from: start, to: stop, by: step).map(TemplateValue.int))
}

/// Python's `dict(mapping_or_pairs, **keywords)`.
private func pythonDict(_ arguments: Arguments, function: String) throws -> TemplateDict {
    guard arguments.positional.count <= 1 else {
        throw ChatTemplateError(.runtime, "\(function) expected at most 1 argument, got \(arguments.positional.count)")
    }
    var dict = TemplateDict()
    switch arguments.positional.first {
    case nil: break
    case .dict(let source)?: dict = source
    case let pairs?:
        for (index, pair) in try pythonElements(pairs).enumerated() {
            let items = try pythonElements(pair)
            guard items.count == 2 else {
                throw ChatTemplateError(
                    .runtime, "dictionary update sequence element #\(index) has length \(items.count); 2 is required")
            }
            try dict.set(items[0], items[1])
        }
    }
    for (name, value) in arguments.keywords { try dict.set(.string(name), value) }
    return dict
}

/// Python's `datetime.now().strftime(format)`, in local time.
private func strftime(_ format: String, _ date: Date) -> String {
    var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
    var parts = tm()
    localtime_r(&seconds, &parts)
    var buffer = [CChar](repeating: 0, count: 1024)
    let length = Foundation.strftime(&buffer, buffer.count, format, &parts)
    return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
