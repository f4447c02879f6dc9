/// Where a node starts in the template source (1-based, columns in Unicode scalars).
struct SourceLocation: Sendable {
    let line: Int
    let column: Int
}

/// A literal in the template source.
enum Constant: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
}

/// The arguments of a call, filter or test, as written.
struct CallArguments: Sendable {
    var positional: [Expression] = []
    var keywords: [(name: String, value: Expression)] = []
    /// `*args` and `**kwargs`.
    var splatPositional: Expression?
    var splatKeywords: Expression?
}

/// `| name(arguments)`.
struct FilterCall: Sendable {
    let name: String
    let arguments: CallArguments
    let location: SourceLocation
}

/// The inside of `[...]` after an expression.
enum Subscript: Sendable {
    case index(Expression)
    case slice(start: Expression?, stop: Expression?, step: Expression?)
}

enum BinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//", modulo = "%", power = "**"
}

enum ComparisonOperator: String, Sendable {
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case contains = "in", notContains = "not in"
}

struct Expression: Sendable {
    indirect enum Kind: Sendable {
        case constant(Constant)
        case name(String)
        /// `ns.attr` as an assignment target of `{% set %}`.
        case namespaceAttribute(namespace: String, attribute: String)
        case list([Expression])
        case tuple([Expression])
        case dict([(key: Expression, value: Expression)])
        case attribute(Expression, String)
        case item(Expression, Subscript)
        case call(Expression, CallArguments)
        case filter(Expression, FilterCall)
        case test(Expression, name: String, CallArguments)
        case not(Expression)
        case negate(Expression)
        case plus(Expression)
        case binary(BinaryOperator, Expression, Expression)
        case and(Expression, Expression)
        case or(Expression, Expression)
        case concat([Expression])
        case compare(Expression, [(ComparisonOperator, Expression)])
        case conditional(test: Expression, then: Expression, otherwise: Expression?)
    }

    let kind: Kind
    let location: SourceLocation
    /// How many expressions deep this one is, which the parser bounds: evaluating and releasing an
    /// expression recurse through it.
    let depth: Int

    init(kind: Kind, location: SourceLocation) {
        self.kind = kind
        self.location = location
        self.depth = 1 + (kind.children.map(\.depth).max() ?? 0)
    }
}

extension Expression.Kind {
    /// The expressions directly inside this one.
    var children: [Expression] {
        switch self {
        case .constant, .name, .namespaceAttribute: return []
        case .list(let items), .tuple(let items), .concat(let items): return items
        case .dict(let entries): return entries.flatMap { [$0.key, $0.value] }
        case .attribute(let object, _): return [object]
        case .item(let object, .index(let key)): return [object, key]
        case .item(let object, .slice(let start, let stop, let step)): return [object] + [start, stop, step].compactMap { $0 }
        case .call(let callee, let arguments): return [callee] + arguments.expressions
        case .filter(let input, let filter): return [input] + filter.arguments.expressions
        case .test(let input, _, let arguments): return [input] + arguments.expressions
        case .not(let operand), .negate(let operand), .plus(let operand): return [operand]
        case .binary(_, let left, let right), .and(let left, let right), .or(let left, let right): return [left, right]
        case .compare(let first, let operations): return [first] + operations.map(\.1)
        case .conditional(let test, let then, let otherwise): return [test, then] + (otherwise.map { [$0] } ?? [])
        }
    }
}

extension CallArguments {
    var expressions: [Expression] {
        positional + keywords.map(\.value) + [splatPositional, splatKeywords].compactMap { $0 }
    }
}

/// What `{% set %}`, `{% for %}` and `{% with %}` assign to.
indirect enum AssignTarget: Sendable {
    case name(String)
    case tuple([AssignTarget])
    case namespaceAttribute(namespace: String, attribute: String)
}

struct ForLoop: Sendable {
    let target: AssignTarget
    let iterable: Expression
    let filter: Expression?
    let body: [Statement]
    let otherwise: [Statement]
    let location: SourceLocation
}

struct MacroDefinition: Sendable {
    let name: String
    let parameters: [(name: String, defaultValue: Expression?)]
    let body: [Statement]
}

indirect enum Statement: Sendable {
    case text(String)
    case output(Expression)
    case forLoop(ForLoop)
    case ifChain(branches: [(test: Expression, body: [Statement])], otherwise: [Statement])
    case assign(AssignTarget, Expression, SourceLocation)
    /// `{% set x | filters %}body{% endset %}`.
    case assignBlock(AssignTarget, [FilterCall], [Statement], SourceLocation)
    case macro(MacroDefinition)
    /// `{% call(parameters) macro(...) %}body{% endcall %}`: the body is passed as `caller`.
    case callBlock(caller: MacroDefinition, call: Expression)
    case filterBlock([FilterCall], [Statement])
    case with([(target: AssignTarget, value: Expression)], [Statement], SourceLocation)
    case loopBreak
    case loopContinue
    /// transformers' `{% generation %}` block: its body rendered in its own scope, as a jinja2 call block is.
    case generation([Statement])
}
