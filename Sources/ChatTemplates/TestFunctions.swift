/// jinja2's tests (`x is defined`, `x is string`, `x is equalto y`...), from jinja2/tests.py.
enum TestFunctions {
    static let names: Set<String> = [
        "odd", "even", "divisibleby", "defined", "undefined", "filter", "test", "none", "boolean", "false", "true",
        "integer", "float", "lower", "upper", "string", "mapping", "number", "sequence", "iterable", "callable",
        "sameas", "escaped", "in", "==", "eq", "equalto", "!=", "ne", ">", "gt", "greaterthan", "ge", ">=", "<", "lt",
        "lessthan", "<=", "le",
    ]

    static func apply(_ name: String, to value: TemplateValue, _ arguments: Arguments) throws -> Bool {
        func argument(_ parameter: String) throws -> TemplateValue {
            try arguments.bind(name, [parameter], required: 1)[0]!
        }
        func noArguments() throws {
            _ = try arguments.bind(name, [])
        }
        switch name {
        case "odd", "even":
            try noArguments()
            let remainder = try pythonArithmetic(.modulo, value, .int(2))
            return pythonEquals(remainder, .int(name == "odd" ? 1 : 0))
        case "divisibleby":
            return pythonEquals(try pythonArithmetic(.modulo, value, try argument("num")), .int(0))
        case "defined": try noArguments(); return !value.isUndefined
        case "undefined": try noArguments(); return value.isUndefined
        case "filter", "test":
            try noArguments()
            guard case .string(let named) = value else { return false }
            return name == "filter" ? Filters.names.contains(named) : names.contains(named)
        case "none": try noArguments(); return value.isNone
        case "boolean":
            try noArguments()
            if case .bool = value { return true }
            return false
        case "false", "true":
            try noArguments()
            if case .bool(let flag) = value { return flag == (name == "true") }
            return false
        case "integer":
            try noArguments()
            if case .int = value { return true }
            return false
        case "float": try noArguments(); return value.isDouble
        case "number":
            try noArguments()
            switch value {
            case .int, .double, .bool: return true
            default: return false
            }
        case "string":
            try noArguments()
            if case .string = value { return true }
            return false
        case "lower", "upper":
            try noArguments()
            let cased = pythonString(value).unicodeScalars.filter(\.isPythonCased)
            return !cased.isEmpty
                && cased.allSatisfy { name == "upper" ? !$0.properties.isLowercase : !$0.properties.isUppercase }
        case "mapping":
            try noArguments()
            if case .dict = value { return true }
            return false
        case "sequence":
            // Anything with len() and item access, which includes dicts and jinja2's Undefined.
            try noArguments()
            switch value {
            case .undefined, .string, .list, .tuple, .dict: return true
            default: return false
            }
        case "iterable":
            try noArguments()
            return isIterable(value)
        case "callable":
            try noArguments()
            switch value {
            case .function, .undefined, .loop: return true
            default: return false
            }
        case "sameas":
            // Python's `is`: identity for objects; None and the booleans are singletons.
            switch (value, try argument("other")) {
            case (.none, .none): return true
            case (.bool(let x), .bool(let y)): return x == y
            case (.namespace(let x), .namespace(let y)): return x === y
            case (.function(let x), .function(let y)): return x === y
            case (.loop(let x), .loop(let y)): return x === y
            case (.generator(let x), .generator(let y)): return x === y
            default: return false
            }
        case "escaped": try noArguments(); return false
        case "in": return try pythonContains(try argument("seq"), value)
        case "==", "eq", "equalto": return pythonEquals(value, try argument("other"))
        case "!=", "ne": return !pythonEquals(value, try argument("other"))
        case ">", "gt", "greaterthan": return try pythonOrder(.greater, value, try argument("other"))
        case ">=", "ge": return try pythonOrder(.greaterOrEqual, value, try argument("other"))
        case "<", "lt", "lessthan": return try pythonOrder(.less, value, try argument("other"))
        case "<=", "le": return try pythonOrder(.lessOrEqual, value, try argument("other"))
        default:
            // Reached only for a test the parser let through inside a conditional, as jinja2 does.
            throw ChatTemplateError(.runtime, "No test named \(pythonRepr(name)) found.")
        }
    }

    /// Whether `iter(value)` succeeds.
    private static func isIterable(_ value: TemplateValue) -> Bool {
        switch value {
        case .undefined, .string, .list, .tuple, .dict, .dictView, .generator, .loop: return true
        default: return false
        }
    }
}
