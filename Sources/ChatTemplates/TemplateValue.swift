/// A value while a template renders: the part of Python's data model that Jinja templates observe.
///
/// Lists and dicts are values, not references: transformers renders in jinja2's
/// `ImmutableSandboxedEnvironment`, where templates cannot mutate them (`append`, `update`... are
/// refused). Namespaces, loop contexts and generators are the mutable objects templates can reach.
enum TemplateValue {
    case undefined(Undefined)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([TemplateValue])
    case tuple([TemplateValue])
    case dict(TemplateDict)
    /// `dict.keys()`, `.values()` and `.items()`: re-iterable views printed as `dict_keys([...])`.
    case dictView(DictView, TemplateDict)
    /// A Python generator, as the `map`, `select`, `items`, `batch`... filters return: always truthy,
    /// without a length, and empty once iterated.
    case generator(Generator)
    case namespace(Namespace)
    case loop(LoopContext)
    case function(Function)

    init(_ value: Value) {
        switch value {
        case .null: self = .none
        case .bool(let flag): self = .bool(flag)
        case .int(let number): self = .int(number)
        case .double(let number): self = .double(number)
        case .string(let text): self = .string(text)
        case .array(let elements): self = .list(elements.map(TemplateValue.init))
        case .object(let object):
            self = .dict(TemplateDict(unchecked: object.map { .init(key: .string($0.key), value: TemplateValue($0.value)) }))
        }
    }

    init(_ constant: Constant) {
        switch constant {
        case .none: self = .none
        case .bool(let flag): self = .bool(flag)
        case .int(let number): self = .int(number)
        case .double(let number): self = .double(number)
        case .string(let text): self = .string(text)
        }
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    var isNone: Bool {
        if case .none = self { return true }
        return false
    }

    var isString: Bool {
        if case .string = self { return true }
        return false
    }

    var isDouble: Bool {
        if case .double = self { return true }
        return false
    }
}

enum DictView {
    case keys, values, items
}

/// jinja2's default `Undefined`: prints as nothing, is false, iterates as empty, and fails with its
/// message when used any other way (arithmetic, attribute access, calls).
struct Undefined {
    let message: String

    /// A name that no scope, render variable or global defines.
    static func named(_ name: String) -> Undefined {
        Undefined(message: "\(pythonRepr(name)) is undefined")
    }

    /// `obj.name` or `obj["name"]` found nothing.
    static func missingAttribute(_ name: String, of object: TemplateValue) -> Undefined {
        Undefined(message: "\(pythonRepr(objectTypeDescription(object))) has no attribute \(pythonRepr(name))")
    }

    /// `obj[key]` found nothing, for a key that is not a string.
    static func missingElement(_ key: TemplateValue, of object: TemplateValue) -> Undefined {
        Undefined(message: "\(objectTypeDescription(object)) has no element \(pythonRepr(key))")
    }

    /// What the sandbox returns for attributes that would mutate a list or dict, or are private.
    static func unsafeAttribute(_ name: String, of object: TemplateValue) -> Undefined {
        Undefined(message: "access to attribute \(pythonRepr(name)) of \(pythonRepr(pythonTypeName(object))) object is unsafe.")
    }

    var failure: ChatTemplateError { ChatTemplateError(.runtime, message) }
}

/// A Python dict: insertion-ordered, keyed by Python equality (`1`, `1.0` and `True` are one key).
struct TemplateDict {
    struct Entry {
        let key: TemplateValue
        var value: TemplateValue
    }

    private(set) var entries: [Entry] = []

    init() {}

    /// Entries whose keys are known to be distinct strings (converted JSON objects).
    init(unchecked entries: [Entry]) {
        self.entries = entries
    }

    var count: Int { entries.count }
    var keys: [TemplateValue] { entries.map(\.key) }
    var values: [TemplateValue] { entries.map(\.value) }

    subscript(key: TemplateValue) -> TemplateValue? {
        entries.first { pythonEquals($0.key, key) }?.value
    }

    subscript(key: String) -> TemplateValue? {
        self[.string(key)]
    }

    /// Sets a key, keeping the position of an existing one as Python does. Unhashable keys fail.
    mutating func set(_ key: TemplateValue, _ value: TemplateValue) throws {
        try requireHashable(key)
        if let index = entries.firstIndex(where: { pythonEquals($0.key, key) }) {
            entries[index].value = value
        } else {
            entries.append(Entry(key: key, value: value))
        }
    }
}

/// Python refuses lists, dicts and other mutable values as dict keys or set members.
func requireHashable(_ value: TemplateValue) throws {
    switch value {
    case .none, .bool, .int, .double, .string, .undefined, .function, .namespace, .loop, .generator: return
    case .tuple(let items): try items.forEach(requireHashable)
    case .list, .dict, .dictView:
        throw ChatTemplateError(.runtime, "unhashable type: \(pythonRepr(pythonTypeName(value)))")
    }
}

final class Generator {
    private var elements: [TemplateValue]

    init(_ elements: [TemplateValue]) {
        self.elements = elements
    }

    /// The remaining elements; the generator is exhausted afterwards.
    func drain() -> [TemplateValue] {
        defer { elements = [] }
        return elements
    }
}

/// `namespace(...)`: the one object templates may assign attributes to (`{% set ns.x = ... %}`).
final class Namespace {
    var attributes: TemplateDict

    init(_ attributes: TemplateDict) {
        self.attributes = attributes
    }
}

/// jinja2's `LoopContext`: one per loop, advanced on each iteration.
final class LoopContext {
    let items: [TemplateValue]
    var index0 = 0
    /// What `loop.changed(...)` last saw.
    var lastChangedValue: TemplateValue?

    init(items: [TemplateValue]) {
        self.items = items
    }
}

/// Arguments as passed to a callable, filter or test.
struct Arguments {
    var positional: [TemplateValue] = []
    var keywords: [(name: String, value: TemplateValue)] = []

    init(positional: [TemplateValue] = [], keywords: [(name: String, value: TemplateValue)] = []) {
        self.positional = positional
        self.keywords = keywords
    }

    /// Binds the arguments to a Python signature `function(parameters[0], parameters[1], ...)` whose
    /// first `required` parameters have no default. Returns one slot per parameter, nil when not given.
    func bind(_ function: String, _ parameters: [String], required: Int = 0) throws -> [TemplateValue?] {
        guard positional.count <= parameters.count else {
            throw ChatTemplateError(
                .runtime, "\(function)() takes at most \(parameters.count) positional arguments (\(positional.count) given)")
        }
        var slots: [TemplateValue?] = positional.map { $0 } + Array(repeating: nil, count: parameters.count - positional.count)
        for (name, value) in keywords {
            guard let index = parameters.firstIndex(of: name) else {
                throw ChatTemplateError(.runtime, "\(function)() got an unexpected keyword argument \(pythonRepr(name))")
            }
            guard slots[index] == nil else {
                throw ChatTemplateError(.runtime, "\(function)() got multiple values for argument \(pythonRepr(name))")
            }
            slots[index] = value
        }
        for index in 0..<required where slots[index] == nil {
            throw ChatTemplateError(
                .runtime, "\(function)() missing required argument \(pythonRepr(parameters[index]))")
        }
        return slots
    }
}

/// Something a template can call: a macro, a global such as `range`, or a bound method such as `"a".upper`.
final class Function {
    enum Kind {
        case macro, builtin, method
    }

    let name: String
    let kind: Kind
    let body: (Arguments) throws -> TemplateValue

    init(_ name: String, kind: Kind, _ body: @escaping (Arguments) throws -> TemplateValue) {
        self.name = name
        self.kind = kind
        self.body = body
    }

    func call(_ arguments: Arguments) throws -> TemplateValue {
        try body(arguments)
    }
}
