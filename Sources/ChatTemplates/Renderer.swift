import Foundation

/// Variables visible in one block of a template.
///
/// jinja2 gives each loop iteration, macro call, `with` block and call-block body a fresh scope whose
/// lookups fall back to the enclosing one, while assignments stay local: that is why a `{% set %}`
/// inside a loop is gone after it, and why templates use `namespace()`.
final class Scope {
    private var variables: [String: TemplateValue] = [:]
    private let parent: Scope?

    init(parent: Scope?) {
        self.parent = parent
    }

    func lookup(_ name: String) -> TemplateValue? {
        variables[name] ?? parent?.lookup(name)
    }

    func set(_ name: String, _ value: TemplateValue) {
        variables[name] = value
    }
}

/// Renders parsed statements once: holds the render variables, the output being written, and the
/// scopes that macros close over.
final class Renderer {
    private enum Flow {
        case normal, breakLoop, continueLoop
    }

    private let variables: [String: TemplateValue]
    private let globals: [String: TemplateValue]
    private var output = ""
    /// Scopes that macros and call blocks were defined in. Macros refer to their scope without owning
    /// it (a scope holds its macros, so owning would leak a cycle); the renderer keeps them alive.
    private var closureScopes: [Scope] = []
    /// How deeply expressions and blocks nest while rendering (recursive macros nest both). Bounded so
    /// that a template fails with an error instead of exhausting the stack, as jinja2 fails at Python's
    /// recursion limit: the bound allows about 160 levels of a recursive macro, jinja2 about 190.
    private var depth = 0
    private static let maximumDepth = 500

    init(variables: [String: TemplateValue], now: Date) {
        self.variables = variables
        self.globals = templateGlobals(now: now)
    }

    func render(_ statements: [Statement]) throws -> String {
        _ = try execute(statements, in: Scope(parent: nil))
        return output
    }

    /// Runs `body` with output going to a fresh buffer, and returns what it wrote.
    private func capture(_ body: () throws -> Void) throws -> String {
        let enclosing = output
        output = ""
        defer { output = enclosing }
        try body()
        return output
    }

    private func lookup(_ name: String, in scope: Scope) -> TemplateValue {
        scope.lookup(name) ?? variables[name] ?? globals[name] ?? .undefined(.named(name))
    }

    // MARK: statements

    private func execute(_ statements: [Statement], in scope: Scope) throws -> Flow {
        try nested {
            for statement in statements {
                let flow = try execute(statement, in: scope)
                if flow != .normal { return flow }
            }
            return .normal
        }
    }

    private func nested<T>(_ body: () throws -> T) throws -> T {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Renderer.maximumDepth else {
            throw ChatTemplateError(
                .runtime, "the template nests too deeply (more than \(Renderer.maximumDepth) levels of expressions, blocks and macro calls)")
        }
        return try body()
    }

    private func execute(_ statement: Statement, in scope: Scope) throws -> Flow {
        switch statement {
        case .text(let text):
            output += text
        case .output(let expression):
            output += pythonString(try evaluate(expression, in: scope))
        case .forLoop(let loop):
            return try run(loop, in: scope)
        case .ifChain(let branches, let otherwise):
            for branch in branches {
                if isTruthy(try evaluate(branch.test, in: scope)) { return try execute(branch.body, in: scope) }
            }
            return try execute(otherwise, in: scope)
        case .assign(let target, let expression, let location):
            try placed(location) { try assign(target, try evaluate(expression, in: scope), in: scope) }
        case .assignBlock(let target, let filters, let body, let location):
            let text = try capture { _ = try execute(body, in: Scope(parent: scope)) }
            let value = try filters.reduce(TemplateValue.string(text)) { try applyFilter($1, to: $0, in: scope) }
            try placed(location) { try assign(target, value, in: scope) }
        case .macro(let definition):
            scope.set(definition.name, .function(macro(definition, closingOver: scope)))
        case .callBlock(let caller, let call):
            guard case .call(let callee, let arguments) = call.kind else { return .normal }
            var evaluated = try evaluateArguments(arguments, in: scope)
            evaluated.keywords.append(("caller", .function(macro(caller, closingOver: scope))))
            output += pythonString(try placed(call.location) { try self.call(try evaluate(callee, in: scope), evaluated) })
        case .filterBlock(let filters, let body):
            let text = try capture { _ = try execute(body, in: Scope(parent: scope)) }
            output += pythonString(try filters.reduce(TemplateValue.string(text)) { try applyFilter($1, to: $0, in: scope) })
        case .with(let assignments, let body, let location):
            let inner = Scope(parent: scope)
            for (target, expression) in assignments {
                let value = try evaluate(expression, in: scope)
                try placed(location) { try assign(target, value, in: inner) }
            }
            return try execute(body, in: inner)
        case .loopBreak:
            return .breakLoop
        case .loopContinue:
            return .continueLoop
        case .generation(let body):
            _ = try execute(body, in: Scope(parent: scope))
        }
        return .normal
    }

    private func run(_ loop: ForLoop, in scope: Scope) throws -> Flow {
        var items = try placed(loop.iterable.location) { try pythonElements(try evaluate(loop.iterable, in: scope)) }
        if let filter = loop.filter {
            items = try items.filter { item in
                let filterScope = Scope(parent: scope)
                try placed(loop.location) { try assign(loop.target, item, in: filterScope) }
                return isTruthy(try evaluate(filter, in: filterScope))
            }
        }
        let context = LoopContext(items: items)
        // jinja2 runs the `else` block unless an iteration reached the end of the body: after no
        // iterations, but also when every iteration ended in `break` or `continue`.
        var completedAnIteration = false
        iterations: for (index, item) in items.enumerated() {
            context.index0 = index
            let iterationScope = Scope(parent: scope)
            try placed(loop.location) { try assign(loop.target, item, in: iterationScope) }
            iterationScope.set("loop", .loop(context))
            switch try execute(loop.body, in: iterationScope) {
            case .normal: completedAnIteration = true
            case .continueLoop: continue
            case .breakLoop: break iterations
            }
        }
        if !completedAnIteration { return try execute(loop.otherwise, in: Scope(parent: scope)) }
        return .normal
    }

    private func assign(_ target: AssignTarget, _ value: TemplateValue, in scope: Scope) throws {
        switch target {
        case .name(let name):
            scope.set(name, value)
        case .tuple(let targets):
            guard let values = try? pythonElements(value) else {
                throw ChatTemplateError(.runtime, "cannot unpack non-iterable \(pythonTypeName(value)) object")
            }
            guard values.count == targets.count else {
                throw ChatTemplateError(
                    .runtime,
                    values.count < targets.count
                        ? "not enough values to unpack (expected \(targets.count), got \(values.count))"
                        : "too many values to unpack (expected \(targets.count))")
            }
            for (target, value) in zip(targets, values) { try assign(target, value, in: scope) }
        case .namespaceAttribute(let name, let attribute):
            guard case .namespace(let namespace) = lookup(name, in: scope) else {
                throw ChatTemplateError(.runtime, "cannot assign attribute on non-namespace object")
            }
            try requireNamespaceName(.string(attribute))
            try namespace.attributes.set(.string(attribute), value)
        }
    }

    /// A macro as jinja2 calls it: positional then keyword arguments bind to the parameters, missing
    /// ones take their defaults (evaluated in the call's scope, so they may use earlier parameters),
    /// extras go to `varargs` and `kwargs`, and `caller` is the body of an enclosing call block.
    private func macro(_ definition: MacroDefinition, closingOver scope: Scope) -> Function {
        closureScopes.append(scope)
        return Function(definition.name, kind: .macro) { [unowned self, unowned scope] arguments in
            let frame = Scope(parent: scope)
            var positional = arguments.positional[...]
            var keywords = arguments.keywords
            for (name, defaultValue) in definition.parameters {
                let keywordIndex = keywords.firstIndex { $0.name == name }
                if let value = positional.popFirst() {
                    if keywordIndex != nil {
                        throw ChatTemplateError(
                            .runtime, "macro \(pythonRepr(definition.name)) got multiple values for argument \(pythonRepr(name))")
                    }
                    frame.set(name, value)
                } else if let keywordIndex {
                    frame.set(name, keywords.remove(at: keywordIndex).value)
                } else if let defaultValue {
                    frame.set(name, try self.evaluate(defaultValue, in: frame))
                } else {
                    frame.set(name, .undefined(Undefined(message: "parameter \(pythonRepr(name)) was not provided")))
                }
            }
            if let callerIndex = keywords.firstIndex(where: { $0.name == "caller" }) {
                frame.set("caller", keywords.remove(at: callerIndex).value)
            }
            frame.set("varargs", .tuple(Array(positional)))
            var extra = TemplateDict()
            for (name, value) in keywords { try extra.set(.string(name), value) }
            frame.set("kwargs", .dict(extra))
            return .string(try self.capture { _ = try self.execute(definition.body, in: frame) })
        }
    }

    // MARK: expressions

    /// Runs `body`, attributing an error without a place to `location`.
    private func placed<T>(_ location: SourceLocation, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ChatTemplateError {
            throw error.placed(line: location.line, column: location.column)
        }
    }

    func evaluate(_ expression: Expression, in scope: Scope) throws -> TemplateValue {
        try placed(expression.location) { try nested { try evaluateKind(expression, in: scope) } }
    }

    private func evaluateKind(_ expression: Expression, in scope: Scope) throws -> TemplateValue {
        switch expression.kind {
        case .constant(let constant):
            return TemplateValue(constant)
        case .name(let name):
            return lookup(name, in: scope)
        case .namespaceAttribute(let name, let attribute):
            return try templateAttribute(lookup(name, in: scope), attribute)
        case .list(let items):
            return .list(try items.map { try evaluate($0, in: scope) })
        case .tuple(let items):
            return .tuple(try items.map { try evaluate($0, in: scope) })
        case .dict(let entries):
            var dict = TemplateDict()
            for (key, value) in entries { try dict.set(try evaluate(key, in: scope), try evaluate(value, in: scope)) }
            return .dict(dict)
        case .attribute(let object, let name):
            return try templateAttribute(try evaluate(object, in: scope), name)
        case .item(let object, .index(let key)):
            let container = try evaluate(object, in: scope)
            return try templateItem(container, try evaluate(key, in: scope))
        case .item(let object, .slice(let start, let stop, let step)):
            let container = try evaluate(object, in: scope)
            func bound(_ expression: Expression?) throws -> TemplateValue {
                try expression.map { try evaluate($0, in: scope) } ?? .none
            }
            return try templateSlice(container, start: try bound(start), stop: try bound(stop), step: try bound(step))
        case .call(let callee, let arguments):
            let function = try evaluate(callee, in: scope)
            return try call(function, try evaluateArguments(arguments, in: scope))
        case .filter(let input, let filter):
            return try applyFilter(filter, to: try evaluate(input, in: scope), in: scope)
        case .test(let input, let name, let arguments):
            let value = try evaluate(input, in: scope)
            return .bool(try TestFunctions.apply(name, to: value, try evaluateArguments(arguments, in: scope)))
        case .not(let operand):
            return .bool(!isTruthy(try evaluate(operand, in: scope)))
        case .negate(let operand):
            let value = try numericOperand(try evaluate(operand, in: scope), "-")
            // Negating a float directly keeps the sign of zero, which `0 - x` would lose.
            if case .double(let number) = value { return .double(-number) }
            return try pythonArithmetic(.subtract, .int(0), value)
        case .plus(let operand):
            return try numericOperand(try evaluate(operand, in: scope), "+")
        case .binary(let op, let left, let right):
            let leftValue = try evaluate(left, in: scope)
            return try pythonArithmetic(op, leftValue, try evaluate(right, in: scope))
        case .and(let left, let right):
            let leftValue = try evaluate(left, in: scope)
            return isTruthy(leftValue) ? try evaluate(right, in: scope) : leftValue
        case .or(let left, let right):
            let leftValue = try evaluate(left, in: scope)
            return isTruthy(leftValue) ? leftValue : try evaluate(right, in: scope)
        case .concat(let operands):
            return .string(try operands.map { pythonString(try evaluate($0, in: scope)) }.joined())
        case .compare(let first, let operations):
            var left = try evaluate(first, in: scope)
            for (op, rightExpression) in operations {
                let right = try evaluate(rightExpression, in: scope)
                guard try compare(op, left, right) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .conditional(let test, let then, let otherwise):
            if isTruthy(try evaluate(test, in: scope)) { return try evaluate(then, in: scope) }
            if let otherwise { return try evaluate(otherwise, in: scope) }
            return .undefined(Undefined(message:
                "the inline if-expression on line \(expression.location.line) evaluated to false and no else section was defined."))
        }
    }

    /// The operand of unary `-` or `+`: numbers only, booleans counting as integers.
    private func numericOperand(_ value: TemplateValue, _ op: String) throws -> TemplateValue {
        switch value {
        case .undefined(let undefined): throw undefined.failure
        case .int, .double: return value
        case .bool(let flag): return .int(flag ? 1 : 0)
        default: throw ChatTemplateError(.runtime, "bad operand type for unary \(op): \(pythonRepr(pythonTypeName(value)))")
        }
    }

    private func compare(_ op: ComparisonOperator, _ left: TemplateValue, _ right: TemplateValue) throws -> Bool {
        switch op {
        case .equal: return pythonEquals(left, right)
        case .notEqual: return !pythonEquals(left, right)
        case .contains: return try pythonContains(right, left)
        case .notContains: return !(try pythonContains(right, left))
        case .less, .lessOrEqual, .greater, .greaterOrEqual: return try pythonOrder(op, left, right)
        }
    }

    private func call(_ callee: TemplateValue, _ arguments: Arguments) throws -> TemplateValue {
        switch callee {
        case .function(let function): return try function.call(arguments)
        case .undefined(let undefined): throw undefined.failure
        default: throw ChatTemplateError(.runtime, "\(pythonRepr(pythonTypeName(callee))) object is not callable")
        }
    }

    private func applyFilter(_ filter: FilterCall, to value: TemplateValue, in scope: Scope) throws -> TemplateValue {
        let arguments = try evaluateArguments(filter.arguments, in: scope)
        return try placed(filter.location) { try Filters.apply(filter.name, to: value, arguments) }
    }

    private func evaluateArguments(_ arguments: CallArguments, in scope: Scope) throws -> Arguments {
        var evaluated = Arguments(
            positional: try arguments.positional.map { try evaluate($0, in: scope) },
            keywords: try arguments.keywords.map { ($0.name, try evaluate($0.value, in: scope)) })
        if let splat = arguments.splatPositional {
            evaluated.positional += try pythonElements(try evaluate(splat, in: scope))
        }
        if let splat = arguments.splatKeywords {
            guard case .dict(let dict) = try evaluate(splat, in: scope) else {
                throw ChatTemplateError(.runtime, "argument after ** must be a mapping")
            }
            for entry in dict.entries {
                guard case .string(let name) = entry.key else { throw ChatTemplateError(.runtime, "keywords must be strings") }
                evaluated.keywords.append((name, entry.value))
            }
        }
        return evaluated
    }
}
