/// jinja2's parser (jinja2/parser.py), method for method, for the statements chat templates use:
/// `for`, `if`, `set`, `macro`, `call`, `filter`, `with`, `raw`, `break`/`continue` (transformers enables
/// `jinja2.ext.loopcontrols`) and `generation` (transformers' `AssistantTracker` extension).
///
/// Unknown filters and tests are rejected here, as jinja2's compiler rejects them before rendering,
/// except inside `{% if %}` blocks and `a if b else c` expressions, where jinja2 only fails when they
/// are reached (so templates can guard optional filters).
struct Parser {
    private let tokens: [Token]
    private var index = 0
    /// The end tags the enclosing blocks wait for, for jinja2's "unknown tag" messages.
    private var endTokenStack: [[String]] = []
    private var tagStack: [String] = []
    /// How many `for` bodies enclose the current statement within the current macro, for `break`/`continue`.
    private var loopDepth = 0
    /// How many conditionals enclose the current expression; inside one, unknown filters and tests
    /// fail when rendered rather than when parsed.
    private var conditionalDepth = 0
    /// Unknown filters and tests seen outside conditionals, reported once the expression is complete
    /// (an `if` after it can still make it conditional).
    private var unknownNames: [ChatTemplateError] = []
    /// How deeply blocks and bracketed expressions nest at the current token. Parsing recurses
    /// through them, and rendering and releasing the syntax tree recurse through expressions, so
    /// both are bounded: a hostile template fails with an error instead of exhausting the stack.
    /// jinja2 itself gives up earlier, at Python's recursion limit.
    private var nestingDepth = 0
    private static let maximumNesting = 100
    private static let maximumExpressionDepth = 300

    static func parse(_ source: String) throws -> [Statement] {
        var parser = Parser(tokens: try Lexer.tokenize(source))
        return try parser.subparse(endTokens: nil)
    }

    private init(tokens: [Token]) {
        self.tokens = tokens
    }

    // MARK: token stream

    private var current: Token { tokens[index] }

    private func look() -> Token { tokens[min(index + 1, tokens.count - 1)] }

    private mutating func advance() {
        if index < tokens.count - 1 { index += 1 }
    }

    private func isName(_ token: Token, _ name: String) -> Bool {
        if case .name(name) = token.kind { return true }
        return false
    }

    private func isOp(_ token: Token, _ op: String) -> Bool {
        if case .op(op) = token.kind { return true }
        return false
    }

    private mutating func skipName(_ name: String) -> Bool {
        guard isName(current, name) else { return false }
        advance()
        return true
    }

    private mutating func skipOp(_ op: String) -> Bool {
        guard isOp(current, op) else { return false }
        advance()
        return true
    }

    private func failure(_ message: String, at token: Token? = nil) -> ChatTemplateError {
        let token = token ?? current
        return ChatTemplateError(.syntax, message, line: token.line, column: token.column)
    }

    /// jinja2's `TokenStream.expect` failure: the current token is not `description`.
    private func unexpectedToken(expecting description: String) -> ChatTemplateError {
        if current.kind == .eof { return failure("unexpected end of template, expected '\(description)'.") }
        return failure("expected token '\(description)', got '\(current.description)'")
    }

    private mutating func expect(_ kind: Token.Kind, _ description: String) throws {
        guard current.kind == kind else { throw unexpectedToken(expecting: description) }
        advance()
    }

    private mutating func expectOp(_ op: String) throws {
        try expect(.op(op), op)
    }

    private mutating func expectName(_ name: String) throws {
        try expect(.name(name), name)
    }

    private mutating func expectAnyName() throws -> String {
        guard case .name(let name) = current.kind else { throw unexpectedToken(expecting: "name") }
        advance()
        return name
    }

    private mutating func expectBlockEnd() throws {
        try expect(.blockEnd, "end of statement block")
    }

    private func location(_ token: Token) -> SourceLocation {
        SourceLocation(line: token.line, column: token.column)
    }

    // MARK: nesting

    /// Builds an expression node, refusing it beyond the depth bound. Chains such as `x|f|f|f` or
    /// `a + b + c` deepen the tree without recursion in the parser, so the bound is checked here.
    private func makeExpression(kind: Expression.Kind, location: SourceLocation) throws -> Expression {
        let expression = Expression(kind: kind, location: location)
        guard expression.depth <= Parser.maximumExpressionDepth else {
            throw ChatTemplateError(
                .syntax, "the expression nests too deeply (more than \(Parser.maximumExpressionDepth) levels)",
                line: location.line, column: location.column)
        }
        return expression
    }

    /// Enters one more level of nesting; the caller leaves it with `nestingDepth -= 1`.
    private mutating func descend() throws {
        nestingDepth += 1
        if nestingDepth > Parser.maximumNesting {
            throw failure("the template nests too deeply (more than \(Parser.maximumNesting) levels)")
        }
    }

    // MARK: statements

    private mutating func subparse(endTokens: [String]?) throws -> [Statement] {
        try descend()
        defer { nestingDepth -= 1 }
        var body: [Statement] = []
        if let endTokens { endTokenStack.append(endTokens) }
        defer { if endTokens != nil { endTokenStack.removeLast() } }
        while current.kind != .eof {
            switch current.kind {
            case .data(let text):
                body.append(.text(text))
                advance()
            case .variableBegin:
                advance()
                body.append(.output(try parseTuple(withConditional: true)))
                try reportUnknownNames()
                try expect(.variableEnd, "end of print statement")
            case .blockBegin:
                advance()
                if let endTokens, case .name(let name) = current.kind, endTokens.contains(name) {
                    return body
                }
                body.append(contentsOf: try parseStatement())
                try reportUnknownNames()
                try expectBlockEnd()
            default:
                throw failure("internal parsing error: unexpected '\(current.description)'")
            }
        }
        return body
    }

    private mutating func reportUnknownNames() throws {
        if let first = unknownNames.first { throw first }
    }

    /// jinja2's `parse_statements`: the body of a block up to one of `endTokens`, which stays current
    /// unless `dropNeedle`. A `newFrame` body (loops, macros, `with`...) is compiled by jinja2 in a
    /// frame of its own, where an enclosing `if` no longer defers unknown filters and tests.
    private mutating func parseStatements(_ endTokens: [String], dropNeedle: Bool = false, newFrame: Bool = false)
        throws -> [Statement]
    {
        _ = skipOp(":")
        try expectBlockEnd()
        let enclosingConditionals = conditionalDepth
        if newFrame { conditionalDepth = 0 }
        defer { conditionalDepth = enclosingConditionals }
        let body = try subparse(endTokens: endTokens)
        if current.kind == .eof { throw endOfTemplateFailure(adding: endTokens) }
        if dropNeedle { advance() }
        return body
    }

    /// The tags jinja2 knows here: its statement keywords plus the loopcontrols and generation extensions.
    private static let knownTags: Set<String> = [
        "for", "if", "set", "macro", "call", "filter", "with", "print", "break", "continue", "generation",
        "block", "extends", "include", "import", "from", "autoescape",
    ]

    private mutating func parseStatement() throws -> [Statement] {
        guard case .name(let tag) = current.kind else { throw failure("tag name expected") }
        guard Parser.knownTags.contains(tag) else { throw unknownTagFailure(tag) }
        tagStack.append(tag)
        defer { tagStack.removeLast() }
        switch tag {
        case "for": return [try parseFor()]
        case "if": return [try parseIf()]
        case "set": return [try parseSet()]
        case "macro": return [try parseMacro()]
        case "call": return [try parseCallBlock()]
        case "filter": return [try parseFilterBlock()]
        case "with": return [try parseWith()]
        case "print": return try parsePrint()
        case "break", "continue":
            guard loopDepth > 0 else { throw failure("'\(tag)' outside loop") }
            advance()
            return [tag == "break" ? .loopBreak : .loopContinue]
        case "generation":
            // A call block: its body is a macro, out of reach of enclosing loops.
            advance()
            return [.generation(try parseFunctionBody("endgeneration"))]
        default:
            // Template inheritance, includes and imports need a loader, which chat templates never have.
            throw failure("the '\(tag)' tag is not supported in chat templates")
        }
    }

    /// jinja2's `_fail_ut_eof` message for an unknown tag.
    private func unknownTagFailure(_ name: String) -> ChatTemplateError {
        var message = ["Encountered unknown tag '\(name)'."]
        if let looking = endTokenStack.last {
            let expected = Set(endTokenStack.joined())
            let names = looking.map { "'\($0)'" }.joined(separator: " or ")
            if expected.contains(name) {
                message.append(
                    "You probably made a nesting mistake. Jinja is expecting this tag, but currently looking for \(names).")
            } else {
                message.append("Jinja was looking for the following tags: \(names).")
            }
        }
        if let innermost = tagStack.last {
            message.append("The innermost block that needs to be closed is '\(innermost)'.")
        }
        return failure(message.joined(separator: " "))
    }

    /// jinja2's `fail_eof`: the template ended inside a block.
    private func endOfTemplateFailure(adding endTokens: [String]) -> ChatTemplateError {
        var message = ["Unexpected end of template."]
        let looking = endTokens.map { "'\($0)'" }.joined(separator: " or ")
        message.append("Jinja was looking for the following tags: \(looking).")
        if let innermost = tagStack.last {
            message.append("The innermost block that needs to be closed is '\(innermost)'.")
        }
        return failure(message.joined(separator: " "))
    }

    private mutating func parseFor() throws -> Statement {
        let forToken = current
        advance()
        let target = try parseAssignTarget(extraEndNames: ["in"])
        try expectName("in")
        let iterable = try parseTuple(withConditional: false, extraEndNames: ["recursive"])
        var filter: Expression?
        if skipName("if") { filter = try parseExpression() }
        if isName(current, "recursive") { throw failure("recursive loops are not supported") }
        loopDepth += 1
        let body = try parseStatements(["endfor", "else"], newFrame: true)
        loopDepth -= 1
        var otherwise: [Statement] = []
        let needle = current
        advance()
        if isName(needle, "else") { otherwise = try parseStatements(["endfor"], dropNeedle: true, newFrame: true) }
        return .forLoop(
            ForLoop(target: target, iterable: iterable, filter: filter, body: body, otherwise: otherwise,
                    location: location(forToken)))
    }

    private mutating func parseIf() throws -> Statement {
        advance()
        conditionalDepth += 1
        defer { conditionalDepth -= 1 }
        var branches: [(test: Expression, body: [Statement])] = []
        var otherwise: [Statement] = []
        while true {
            let test = try parseTuple(withConditional: false)
            let body = try parseStatements(["elif", "else", "endif"])
            branches.append((test, body))
            let needle = current
            advance()
            if isName(needle, "elif") { continue }
            if isName(needle, "else") { otherwise = try parseStatements(["endif"], dropNeedle: true) }
            break
        }
        return .ifChain(branches: branches, otherwise: otherwise)
    }

    private mutating func parseSet() throws -> Statement {
        let setToken = current
        advance()
        let target = try parseAssignTarget(withNamespace: true)
        if skipOp("=") {
            return .assign(target, try parseTuple(withConditional: true), location(setToken))
        }
        let filters = try parseFilterChain()
        let body = try parseStatements(["endset"], dropNeedle: true, newFrame: true)
        return .assignBlock(target, filters, body, location(setToken))
    }

    private mutating func parseWith() throws -> Statement {
        let withToken = current
        advance()
        var assignments: [(target: AssignTarget, value: Expression)] = []
        while current.kind != .blockEnd {
            if !assignments.isEmpty { try expectOp(",") }
            let target = try parseAssignTarget()
            try expectOp("=")
            assignments.append((target, try parseExpression()))
        }
        let body = try parseStatements(["endwith"], dropNeedle: true, newFrame: true)
        return .with(assignments, body, location(withToken))
    }

    private mutating func parseSignature() throws -> [(name: String, defaultValue: Expression?)] {
        var parameters: [(name: String, defaultValue: Expression?)] = []
        try expectOp("(")
        while !isOp(current, ")") {
            if !parameters.isEmpty { try expectOp(",") }
            let name = try expectAnyName()
            if skipOp("=") {
                parameters.append((name, try parseExpression()))
            } else {
                if parameters.contains(where: { $0.defaultValue != nil }) {
                    throw failure("non-default argument follows default argument")
                }
                parameters.append((name, nil))
            }
        }
        try expectOp(")")
        return parameters
    }

    /// A macro or call-block body: `break`/`continue` there cannot reach an enclosing loop.
    private mutating func parseFunctionBody(_ endTag: String) throws -> [Statement] {
        let enclosingLoops = loopDepth
        loopDepth = 0
        defer { loopDepth = enclosingLoops }
        return try parseStatements([endTag], dropNeedle: true, newFrame: true)
    }

    private mutating func parseMacro() throws -> Statement {
        advance()
        let name = try expectAnyName()
        let parameters = try parseSignature()
        let body = try parseFunctionBody("endmacro")
        return .macro(MacroDefinition(name: name, parameters: parameters, body: body))
    }

    private mutating func parseCallBlock() throws -> Statement {
        let callToken = current
        advance()
        let parameters = isOp(current, "(") ? try parseSignature() : []
        let call = try parseExpression()
        guard case .call = call.kind else { throw failure("expected call", at: callToken) }
        let body = try parseFunctionBody("endcall")
        return .callBlock(caller: MacroDefinition(name: "caller", parameters: parameters, body: body), call: call)
    }

    private mutating func parseFilterBlock() throws -> Statement {
        advance()
        let filters = try parseFilterChain(startInline: true)
        let body = try parseStatements(["endfilter"], dropNeedle: true, newFrame: true)
        return .filterBlock(filters, body)
    }

    /// `{% print a, b %}` writes each expression in turn.
    private mutating func parsePrint() throws -> [Statement] {
        advance()
        var expressions: [Expression] = []
        while current.kind != .blockEnd {
            if !expressions.isEmpty { try expectOp(",") }
            expressions.append(try parseExpression())
        }
        return expressions.map { .output($0) }
    }

    private mutating func parseAssignTarget(extraEndNames: [String] = [], withNamespace: Bool = false) throws
        -> AssignTarget
    {
        let expression = try parseTuple(simplified: true, extraEndNames: extraEndNames, withNamespace: withNamespace)
        return try assignTarget(expression)
    }

    private func assignTarget(_ expression: Expression) throws -> AssignTarget {
        switch expression.kind {
        case .name(let name):
            return .name(name)
        case .namespaceAttribute(let namespace, let attribute):
            return .namespaceAttribute(namespace: namespace, attribute: attribute)
        case .tuple(let items):
            return .tuple(try items.map(assignTarget))
        case .constant:
            throw ChatTemplateError(.syntax, "can't assign to 'const'", line: expression.location.line,
                                    column: expression.location.column)
        default:
            throw ChatTemplateError(.syntax, "can't assign to this expression", line: expression.location.line,
                                    column: expression.location.column)
        }
    }

    // MARK: expressions

    private mutating func parseExpression(withConditional: Bool = true) throws -> Expression {
        withConditional ? try parseConditional() : try parseOr()
    }

    private mutating func parseConditional() throws -> Expression {
        var start = current
        let unknownBefore = unknownNames.count
        var expression = try parseOr()
        while skipName("if") {
            unknownNames.removeSubrange(unknownBefore...)
            conditionalDepth += 1
            defer { conditionalDepth -= 1 }
            let test = try parseOr()
            var otherwise: Expression?
            if skipName("else") {
                try descend()
                defer { nestingDepth -= 1 }
                otherwise = try parseConditional()
            }
            expression = try makeExpression(
                kind: .conditional(test: test, then: expression, otherwise: otherwise), location: location(start))
            start = current
        }
        return expression
    }

    private mutating func parseOr() throws -> Expression {
        let start = current
        var left = try parseAnd()
        while skipName("or") {
            left = try makeExpression(kind: .or(left, try parseAnd()), location: location(start))
        }
        return left
    }

    private mutating func parseAnd() throws -> Expression {
        let start = current
        var left = try parseNot()
        while skipName("and") {
            left = try makeExpression(kind: .and(left, try parseNot()), location: location(start))
        }
        return left
    }

    private mutating func parseNot() throws -> Expression {
        let start = current
        if skipName("not") {
            try descend()
            defer { nestingDepth -= 1 }
            return try makeExpression(kind: .not(try parseNot()), location: location(start))
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> Expression {
        let start = current
        let expression = try parseMath1()
        var operations: [(ComparisonOperator, Expression)] = []
        let symbols: [String: ComparisonOperator] = [
            "==": .equal, "!=": .notEqual, "<": .less, "<=": .lessOrEqual, ">": .greater, ">=": .greaterOrEqual,
        ]
        while true {
            if case .op(let op) = current.kind, let comparison = symbols[op] {
                advance()
                operations.append((comparison, try parseMath1()))
            } else if skipName("in") {
                operations.append((.contains, try parseMath1()))
            } else if isName(current, "not"), isName(look(), "in") {
                advance()
                advance()
                operations.append((.notContains, try parseMath1()))
            } else {
                break
            }
        }
        if operations.isEmpty { return expression }
        return try makeExpression(kind: .compare(expression, operations), location: location(start))
    }

    private mutating func parseMath1() throws -> Expression {
        let start = current
        var left = try parseConcat()
        while case .op(let op) = current.kind, op == "+" || op == "-" {
            advance()
            let right = try parseConcat()
            left = try makeExpression(kind: .binary(op == "+" ? .add : .subtract, left, right), location: location(start))
        }
        return left
    }

    private mutating func parseConcat() throws -> Expression {
        let start = current
        var operands = [try parseMath2()]
        while skipOp("~") { operands.append(try parseMath2()) }
        return operands.count == 1 ? operands[0] : try makeExpression(kind: .concat(operands), location: location(start))
    }

    private mutating func parseMath2() throws -> Expression {
        let start = current
        var left = try parsePower()
        let operators: [String: BinaryOperator] = ["*": .multiply, "/": .divide, "//": .floorDivide, "%": .modulo]
        while case .op(let op) = current.kind, let binary = operators[op] {
            advance()
            left = try makeExpression(kind: .binary(binary, left, try parsePower()), location: location(start))
        }
        return left
    }

    private mutating func parsePower() throws -> Expression {
        let start = current
        var left = try parseUnary()
        while skipOp("**") {
            left = try makeExpression(kind: .binary(.power, left, try parseUnary()), location: location(start))
        }
        return left
    }

    private mutating func parseUnary(withFilter: Bool = true) throws -> Expression {
        let start = current
        var node: Expression
        if isOp(start, "-") || isOp(start, "+") {
            advance()
            let operand: Expression
            do {
                try descend()
                defer { nestingDepth -= 1 }
                operand = try parseUnary(withFilter: false)
            }
            node = try makeExpression(kind: isOp(start, "-") ? .negate(operand) : .plus(operand), location: location(start))
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpression(node) }
        return node
    }

    private mutating func parsePrimary(withNamespace: Bool = false) throws -> Expression {
        let token = current
        let here = location(token)
        switch token.kind {
        case .name(let name):
            advance()
            switch name {
            case "true", "True": return try makeExpression(kind: .constant(.bool(true)), location: here)
            case "false", "False": return try makeExpression(kind: .constant(.bool(false)), location: here)
            case "none", "None": return try makeExpression(kind: .constant(.none), location: here)
            default:
                if withNamespace, isOp(current, ".") {
                    advance()
                    let attribute = try expectAnyName()
                    return try makeExpression(kind: .namespaceAttribute(namespace: name, attribute: attribute), location: here)
                }
                return try makeExpression(kind: .name(name), location: here)
            }
        case .string(let text):
            advance()
            // Adjacent string literals are concatenated, as in Python.
            var value = text
            while case .string(let more) = current.kind {
                value += more
                advance()
            }
            return try makeExpression(kind: .constant(.string(value)), location: here)
        case .integer(let value):
            advance()
            return try makeExpression(kind: .constant(.int(value)), location: here)
        case .float(let value):
            advance()
            return try makeExpression(kind: .constant(.double(value)), location: here)
        case .op("("):
            advance()
            try descend()
            defer { nestingDepth -= 1 }
            let expression = try parseTuple(explicitParentheses: true)
            try expectOp(")")
            return expression
        case .op("["):
            return try parseList()
        case .op("{"):
            return try parseDict()
        default:
            throw failure("unexpected '\(token.description)'")
        }
    }

    /// jinja2's `is_tuple_end`.
    private func isTupleEnd(_ extraEndNames: [String]) -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .op(")"): return true
        case .name(let name): return extraEndNames.contains(name)
        default: return false
        }
    }

    private mutating func parseTuple(
        simplified: Bool = false, withConditional: Bool = true, extraEndNames: [String] = [],
        explicitParentheses: Bool = false, withNamespace: Bool = false
    ) throws -> Expression {
        let start = current
        var items: [Expression] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            if isTupleEnd(extraEndNames) { break }
            items.append(
                simplified
                    ? try parsePrimary(withNamespace: withNamespace)
                    : try parseExpression(withConditional: withConditional))
            if isOp(current, ",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let single = items.first { return single }
            if !explicitParentheses {
                throw failure("Expected an expression, got '\(current.description)'")
            }
        }
        return try makeExpression(kind: .tuple(items), location: location(start))
    }

    private mutating func parseList() throws -> Expression {
        try descend()
        defer { nestingDepth -= 1 }
        let start = current
        try expectOp("[")
        var items: [Expression] = []
        while !isOp(current, "]") {
            if !items.isEmpty { try expectOp(",") }
            if isOp(current, "]") { break }
            items.append(try parseExpression())
        }
        try expectOp("]")
        return try makeExpression(kind: .list(items), location: location(start))
    }

    private mutating func parseDict() throws -> Expression {
        try descend()
        defer { nestingDepth -= 1 }
        let start = current
        try expectOp("{")
        var entries: [(key: Expression, value: Expression)] = []
        while !isOp(current, "}") {
            if !entries.isEmpty { try expectOp(",") }
            if isOp(current, "}") { break }
            let key = try parseExpression()
            try expectOp(":")
            entries.append((key, try parseExpression()))
        }
        try expectOp("}")
        return try makeExpression(kind: .dict(entries), location: location(start))
    }

    private mutating func parsePostfix(_ node: Expression) throws -> Expression {
        var node = node
        while true {
            if isOp(current, ".") || isOp(current, "[") {
                node = try parseSubscript(node)
            } else if isOp(current, "(") {
                node = try parseCall(node)
            } else {
                return node
            }
        }
    }

    private mutating func parseFilterExpression(_ node: Expression) throws -> Expression {
        var node = node
        while true {
            if isOp(current, "|") {
                for filter in try parseFilterChain() {
                    node = try makeExpression(kind: .filter(node, filter), location: filter.location)
                }
            } else if isName(current, "is") {
                node = try parseTest(node)
            } else if isOp(current, "(") {
                node = try parseCall(node)
            } else {
                return node
            }
        }
    }

    private mutating func parseSubscript(_ node: Expression) throws -> Expression {
        let token = current
        advance()
        if isOp(token, ".") {
            let attributeToken = current
            advance()
            switch attributeToken.kind {
            case .name(let name):
                return try makeExpression(kind: .attribute(node, name), location: location(token))
            case .integer(let value):
                let index = try makeExpression(kind: .constant(.int(value)), location: location(attributeToken))
                return try makeExpression(kind: .item(node, .index(index)), location: location(token))
            default:
                throw failure("expected name or number", at: attributeToken)
            }
        }
        var subscripts: [Subscript] = []
        while !isOp(current, "]") {
            if !subscripts.isEmpty { try expectOp(",") }
            subscripts.append(try parseSubscribed())
        }
        try expectOp("]")
        if subscripts.count == 1 { return try makeExpression(kind: .item(node, subscripts[0]), location: location(token)) }
        // `x[a, b]` subscripts with a tuple; no template value accepts slices inside such a tuple.
        let items = try subscripts.map { part -> Expression in
            guard case .index(let expression) = part else {
                throw failure("slices inside a tuple subscript are not supported", at: token)
            }
            return expression
        }
        let tuple = try makeExpression(kind: .tuple(items), location: location(token))
        return try makeExpression(kind: .item(node, .index(tuple)), location: location(token))
    }

    private mutating func parseSubscribed() throws -> Subscript {
        var start: Expression?
        if isOp(current, ":") {
            advance()
        } else {
            let expression = try parseExpression()
            guard isOp(current, ":") else { return .index(expression) }
            advance()
            start = expression
        }
        var stop: Expression?
        if !isOp(current, ":") && !isOp(current, "]") && !isOp(current, ",") {
            stop = try parseExpression()
        }
        var step: Expression?
        if skipOp(":"), !isOp(current, "]") && !isOp(current, ",") {
            step = try parseExpression()
        }
        return .slice(start: start, stop: stop, step: step)
    }

    private mutating func parseCallArguments() throws -> CallArguments {
        let open = current
        try expectOp("(")
        var arguments = CallArguments()
        var requireComma = false
        func ensure(_ condition: Bool) throws {
            if !condition { throw failure("invalid syntax for function call expression", at: open) }
        }
        while !isOp(current, ")") {
            if requireComma {
                try expectOp(",")
                if isOp(current, ")") { break }
            }
            if skipOp("*") {
                try ensure(arguments.splatPositional == nil && arguments.splatKeywords == nil)
                arguments.splatPositional = try parseExpression()
            } else if skipOp("**") {
                try ensure(arguments.splatKeywords == nil)
                arguments.splatKeywords = try parseExpression()
            } else if case .name(let name) = current.kind, isOp(look(), "=") {
                try ensure(arguments.splatKeywords == nil)
                advance()
                advance()
                arguments.keywords.append((name, try parseExpression()))
            } else {
                try ensure(arguments.splatPositional == nil && arguments.splatKeywords == nil && arguments.keywords.isEmpty)
                arguments.positional.append(try parseExpression())
            }
            requireComma = true
        }
        try expectOp(")")
        return arguments
    }

    /// A call is placed where its callee starts, so errors point at `raise_exception(...)`, not at `(`.
    private mutating func parseCall(_ node: Expression) throws -> Expression {
        try makeExpression(kind: .call(node, try parseCallArguments()), location: node.location)
    }

    /// `| name(args) | name ...`; with `startInline`, the first filter has no leading pipe (`{% filter %}`).
    private mutating func parseFilterChain(startInline: Bool = false) throws -> [FilterCall] {
        var filters: [FilterCall] = []
        var inline = startInline
        while isOp(current, "|") || inline {
            if !inline { advance() }
            inline = false
            let token = current
            var name = try expectAnyName()
            while skipOp(".") { name += "." + (try expectAnyName()) }
            if !Filters.names.contains(name) && conditionalDepth == 0 {
                unknownNames.append(failure("No filter named '\(name)'.", at: token))
            }
            let arguments = isOp(current, "(") ? try parseCallArguments() : CallArguments()
            filters.append(FilterCall(name: name, arguments: arguments, location: location(token)))
        }
        return filters
    }

    private mutating func parseTest(_ node: Expression) throws -> Expression {
        let isToken = current
        advance()
        let negated = skipName("not")
        let nameToken = current
        var name = try expectAnyName()
        while skipOp(".") { name += "." + (try expectAnyName()) }
        if !TestFunctions.names.contains(name) && conditionalDepth == 0 {
            unknownNames.append(failure("No test named '\(name)'.", at: nameToken))
        }
        var arguments = CallArguments()
        if isOp(current, "(") {
            arguments = try parseCallArguments()
        } else if startsTestArgument {
            if isName(current, "is") { throw failure("You cannot chain multiple tests with is") }
            arguments.positional = [try parsePostfix(try parsePrimary())]
        }
        let test = try makeExpression(kind: .test(node, name: name, arguments), location: location(isToken))
        return negated ? try makeExpression(kind: .not(test), location: location(isToken)) : test
    }

    /// Whether the token after a test name starts its single unparenthesised argument (`x is sameas none`).
    private var startsTestArgument: Bool {
        switch current.kind {
        case .name(let name): return !["else", "or", "and"].contains(name)
        case .string, .integer, .float, .op("("), .op("["), .op("{"): return true
        default: return false
        }
    }
}
