import ChatTemplates
import Foundation
import Testing

/// Errors carry what jinja2 reports: the kind, its message, and the template line (the lines and
/// messages below are jinja2 3.1.6's for the same templates, in transformers' environment).
@Suite struct ErrorTests {
    func renderError(_ source: String, messages: [ChatMessage] = [.user("hi")]) -> ChatTemplateError? {
        do {
            _ = try ChatTemplate(source: source).render(messages: messages)
            return nil
        } catch let error as ChatTemplateError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    struct Expectation: Sendable, CustomTestStringConvertible {
        let source: String
        let kind: ChatTemplateError.Kind
        let line: Int
        let message: String

        var testDescription: String { source.debugDescription }
    }

    static let expectations: [Expectation] = [
        Expectation(
            source: "Hello\n{% if x %}\nunclosed", kind: .syntax, line: 3,
            message: "Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'."),
        Expectation(
            source: "line one\n{{ x | frobnicate }}", kind: .syntax, line: 2, message: "No filter named 'frobnicate'."),
        Expectation(
            source: "{{ x is frobnicated }}", kind: .syntax, line: 1, message: "No test named 'frobnicated'."),
        Expectation(
            source: "{% for m in messages %}\n{% frobnicate %}\n{% endfor %}", kind: .syntax, line: 2,
            message: "Encountered unknown tag 'frobnicate'. Jinja was looking for the following tags: 'endfor' or 'else'. The innermost block that needs to be closed is 'for'."),
        Expectation(
            source: "{% for m in messages %}{% endif %}", kind: .syntax, line: 1,
            message: "Encountered unknown tag 'endif'. Jinja was looking for the following tags: 'endfor' or 'else'. The innermost block that needs to be closed is 'for'."),
        Expectation(source: "{{ 'abc }}", kind: .syntax, line: 1, message: "unexpected char \"'\" at 3"),
        Expectation(source: "text\n{# never closed", kind: .syntax, line: 2, message: "Missing end of comment tag"),
        Expectation(source: "{{ x[ }}", kind: .syntax, line: 1, message: "unexpected '}', expected ']'"),
        Expectation(source: "{{ }}", kind: .syntax, line: 1, message: "Expected an expression, got 'end of print statement'"),
        Expectation(source: "{% set 1 = 2 %}", kind: .syntax, line: 1, message: "can't assign to 'const'"),
        Expectation(source: "{{ x.1a }}", kind: .syntax, line: 1, message: "expected token 'end of print statement', got 'a'"),
        Expectation(source: "\n{% break %}", kind: .syntax, line: 2, message: "'break' outside loop"),
        Expectation(
            source: "{% for m in messages %}\n{% if m.role == 'user' %}\n{{ raise_exception('Only assistants here, ' ~ m.role ~ '!') }}\n{% endif %}{% endfor %}",
            kind: .raised, line: 3, message: "Only assistants here, user!"),
        Expectation(source: "first\n\n{{ foo.bar }}", kind: .runtime, line: 3, message: "'foo' is undefined"),
        Expectation(
            source: "{{ 1 }}\n{{ 'a' + 1 }}", kind: .runtime, line: 2, message: "can only concatenate str (not \"int\") to str"),
        Expectation(
            source: "\n{{ [1].append(2) }}", kind: .runtime, line: 2,
            message: "access to attribute 'append' of 'list' object is unsafe."),
        Expectation(
            source: "{% set ns = namespace() %}\n{% set ns._private = 1 %}", kind: .runtime, line: 2,
            message: "Chat templates cannot store underscore-prefixed attributes on a namespace, but got '_private'. Please rename the attribute."),
        Expectation(
            source: "{{ messages[0].content.nope() }}", kind: .runtime, line: 1,
            message: "'str object' has no attribute 'nope'"),
        Expectation(
            source: "{% for a, b in [1] %}{% endfor %}", kind: .runtime, line: 1,
            message: "cannot unpack non-iterable int object"),
        Expectation(
            source: "{{ none > 1 }}", kind: .runtime, line: 1,
            message: "'>' not supported between instances of 'NoneType' and 'int'"),
        Expectation(source: "{{ 1 / 0 }}", kind: .runtime, line: 1, message: "division by zero"),
        Expectation(
            source: "{% set x = {'a': 1} %}{% set x.a = 2 %}", kind: .runtime, line: 1,
            message: "cannot assign attribute on non-namespace object"),
        // Inside a conditional, jinja2 defers unknown filters and tests until they are reached.
        Expectation(
            source: "{% if messages %}\n{{ x | frobnicate }}{% endif %}", kind: .runtime, line: 2,
            message: "No filter named 'frobnicate' found."),
        Expectation(
            source: "{{ 'a' if x is frobnicated else 'b' }}", kind: .runtime, line: 1,
            message: "No test named 'frobnicated' found."),
    ]

    /// Where Python would raise MemoryError, an operation that would make more than 64 M
    /// characters or elements is an error rather than a crash; a negative precision or width
    /// prints as in Python.
    @Test func hugeValuesAreAnError() throws {
        for source in ["{{ 'a' * 10**15 }}", "{{ [1] * 10**9 }}", "{{ 'x'.ljust(10**12) }}", "{{ [1, 2, 3] | batch(10**12, 0) | list }}",
                       "{{ '%1000000000000s' % 'x' }}", "{{ '%.*f' % (10**12, 1.5) }}"] {
            let error = try #require(renderError(source), "\(source)")
            #expect(error.kind == .runtime && error.message.contains("more than a template may"), "\(source): \(error)")
        }
        let python = try ChatTemplate(source: "{{ '' * 10**15 }}|{{ '%.*s' % (-1, 'abc') }}|{{ '%*s' % (-4, 'ab') }}|").render(messages: [.user("hi")])
        #expect(python == "||ab  |")
    }

    @Test(arguments: expectations)
    func reportsKindLineAndMessage(_ expected: Expectation) throws {
        let error = try #require(renderError(expected.source))
        #expect(error.kind == expected.kind)
        #expect(error.line == expected.line)
        #expect(error.message == expected.message)
        #expect(error.description.contains("line \(expected.line)"))
    }

    @Test func unreachedUnknownFiltersInConditionalsAreFine() throws {
        let template = try ChatTemplate(source: "{% if false %}{{ x | frobnicate }}{% endif %}ok")
        #expect(try template.render(messages: [ChatMessage]()) == "ok")
    }

    @Test func syntaxErrorsCarryTheColumn() throws {
        let error = try #require(renderError("ab\ncd {{ x | frobnicate }}"))
        #expect(error.line == 2)
        #expect(error.column == 11)
    }

    @Test func raiseExceptionDescribesItself() throws {
        let error = try #require(renderError("{{ raise_exception('No system messages allowed.') }}"))
        #expect(error.kind == .raised)
        #expect(error.description == "template raised an exception at line 1, column 4: No system messages allowed.")
    }

    /// Templates nested deeper than jinja2 itself can handle fail with an error, not a stack overflow.
    @Test func excessiveNestingIsAnError() throws {
        let deep = [
            "{{ " + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000) + " }}",
            String(repeating: "{% if true %}", count: 5000) + String(repeating: "{% endif %}", count: 5000),
            "{{ 1" + String(repeating: "|string", count: 100_000) + " }}",
            "{{ " + String(repeating: "not ", count: 5000) + "1 }}",
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        ]
        for source in deep {
            let error = try #require(renderError(source))
            #expect(error.message.contains("nests too deeply"))
        }
        // What jinja2 does manage stays well within the limits.
        let chain = "{{ 1" + String(repeating: "|string", count: 250) + " }}"
        #expect(try ChatTemplate(source: chain).render(messages: [ChatMessage]()) == "1")
    }

    @Test func selfContainingNamespacesPrint() throws {
        let source = "{% set ns = namespace(a=1) %}{% set ns.me = ns %}{{ ns }}"
        #expect(try ChatTemplate(source: source).render(messages: [ChatMessage]()) == "<Namespace {'a': 1, 'me': <Namespace {...}>}>")
    }

    @Test func rejectsMessagesThatAreNotObjects() throws {
        #expect(throws: ChatTemplateError.self) {
            try ChatTemplate(source: "{{ messages }}").render(messages: ["just a string"])
        }
    }

    @Test func rejectsExtraVariablesThatReplaceStandardOnes() throws {
        let error = #expect(throws: ChatTemplateError.self) {
            try ChatTemplate(source: "{{ messages }}").render(messages: [ChatMessage](), extra: ["messages": []])
        }
        #expect(error?.kind == .invalidInput)
    }
}
