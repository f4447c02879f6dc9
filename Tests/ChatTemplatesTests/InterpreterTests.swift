import ChatTemplates
import Foundation
import Testing

/// A template, the variables it is rendered with, and what jinja2 3.1.6 in transformers 5.24's
/// environment renders. The expected strings were produced by that environment, with `messages`
/// set to one user message "hi" and `tools`, `documents` and `add_generation_prompt` left as
/// transformers leaves them.
struct RenderCase: Sendable, CustomTestStringConvertible {
    let template: String
    let variables: [String: Value]
    let expected: String

    init(_ template: String, _ variables: [String: Value], _ expected: String) {
        self.template = template
        self.variables = variables
        self.expected = expected
    }

    init(_ template: String, _ expected: String) {
        self.init(template, [:], expected)
    }

    var testDescription: String { template.debugDescription }

    func render() throws -> String {
        try ChatTemplate(source: template).render(messages: [.user("hi")], extra: variables)
    }
}

/// Compares code points, not Swift's canonically-equivalent `Character`s.
func expectIdentical(_ actual: String, _ expected: String, _ comment: String = "",
                     sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(Array(actual.unicodeScalars) == Array(expected.unicodeScalars),
            "\(comment)\nactual:   \(actual.debugDescription)\nexpected: \(expected.debugDescription)",
            sourceLocation: sourceLocation)
}

@Suite struct InterpreterTests {
    @Test(arguments: whitespace) func whitespaceControl(_ c: RenderCase) throws { expectIdentical(try c.render(), c.expected) }
    @Test(arguments: printing) func printsLikePython(_ c: RenderCase) throws { expectIdentical(try c.render(), c.expected) }
    @Test(arguments: expressions) func evaluatesExpressions(_ c: RenderCase) throws { expectIdentical(try c.render(), c.expected) }
    @Test(arguments: statements) func runsStatements(_ c: RenderCase) throws { expectIdentical(try c.render(), c.expected) }
    @Test(arguments: tests) func appliesTests(_ c: RenderCase) throws { expectIdentical(try c.render(), c.expected) }
    @Test(arguments: filters) func appliesFilters(_ c: RenderCase) throws { expectIdentical(try c.render(), c.expected) }
    @Test(arguments: tojson) func encodesJSONLikeTransformers(_ c: RenderCase) throws { expectIdentical(try c.render(), c.expected) }
    @Test(arguments: methods) func callsPythonMethods(_ c: RenderCase) throws { expectIdentical(try c.render(), c.expected) }
    @Test(arguments: globals) func providesGlobals(_ c: RenderCase) throws { expectIdentical(try c.render(), c.expected) }

    @Test func strftimeNowFormatsTheGivenDate() throws {
        // Mid-month and mid-day, so every time zone gives the same year and month.
        let date = Date(timeIntervalSince1970: 1_718_452_800)  // 2024-06-15T12:00:00Z
        let rendered = try ChatTemplate(source: "{{ strftime_now('%Y-%m') }}").render(messages: [ChatMessage](), now: date)
        #expect(rendered == "2024-06")
    }

    @Test func generatorsAreEmptyOnceIterated() throws {
        let template = try ChatTemplate(source: "{% set g = [1, 2]|map('string') %}{{ g|join }}|{{ g|join }}|{{ g is iterable }}")
        expectIdentical(try template.render(messages: [ChatMessage]()), "12||True")
    }

    @Test func rendersTheSameTemplateManyTimes() throws {
        let template = try ChatTemplate(source: "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}")
        #expect(try template.render(messages: [.user("a")]) == "1")
        #expect(try template.render(messages: [.user("a"), .assistant("b")]) == "2")
    }
}

extension InterpreterTests {
    static let whitespace: [RenderCase] = [
        RenderCase("  {% if true %}\n  x\n  {% endif %}\n  y",
                   "  x\n  y"),
        RenderCase("a  {%- if true -%}  b  {%- endif %}  c",
                   "ab  c"),
        RenderCase("{% for i in [1, 2] %}\n  {{ i }}\n{% endfor %}\n",
                   "  1\n  2\n"),
        RenderCase("{{ 'a' }}\n{{ 'b' }}\n",
                   "a\nb"),
        RenderCase("x {{- ' y ' -}} z",
                   "x y z"),
        RenderCase("line1\n    {# a comment #}\nline2",
                   "line1\nline2"),
        RenderCase("a{# c -#}   \n  b",
                   "ab"),
        RenderCase("  {%+ if true %}kept{% endif +%}\nnext",
                   "  kept\nnext"),
        RenderCase("{% raw %}{{ not rendered }}{% endraw %}!",
                   "{{ not rendered }}!"),
        RenderCase("text\r\nwith\rcarriage\r\n",
                   "text\nwith\ncarriage"),
        RenderCase("trailing newline kept once\n\n",
                   "trailing newline kept once\n"),
        RenderCase("\t{% set x = 1 %}\t{{ x }}",
                   "\t1"),
        RenderCase("{%- if true %}\n\n  a\n{%- endif %}",
                   "\n  a"),
        RenderCase("{{ '{{' }} and {{ '}}' }} and {{ {'a': {'b': 1}} }}",
                   "{{ and }} and {'a': {'b': 1}}"),
    ]

    static let printing: [RenderCase] = [
        RenderCase("{{ 1 }} {{ 1.0 }} {{ 2.5 }} {{ -0.0 }} {{ 1e16 }} {{ 1e15 }} {{ 0.0001 }} {{ 1e-05 }} {{ 123456789.123 }}",
                   "1 1.0 2.5 -0.0 1e+16 1000000000000000.0 0.0001 1e-05 123456789.123"),
        RenderCase("{{ none }} {{ None }} {{ true }} {{ False }} [{{ missing }}]",
                   "None None True False []"),
        RenderCase("{{ [1, 'a', none, true, 2.0] }} {{ {'k': 'v', 'n': [1]} }} {{ (1,) }} {{ (1, 2) }} {{ () }}",
                   "[1, 'a', None, True, 2.0] {'k': 'v', 'n': [1]} (1,) (1, 2) ()"),
        RenderCase("{{ ['it\\'s', \"say \\\"hi\\\"\", 'both \\' \"', 'tab\\tnew\\nline', 'ü', '\\x07'] }}",
                   "[\"it's\", 'say \"hi\"', 'both \\' \"', 'tab\\tnew\\nline', 'ü', '\\x07']"),
        RenderCase("{{ 1, 'two' }}",
                   "(1, 'two')"),
        RenderCase("{{ value }} {{ items }} {{ obj }}", ["value": 3.0, "items": [1.5, "x", nil], "obj": ["b": 1, "a": [true, false]]],
                   "3.0 [1.5, 'x', None] {'b': 1, 'a': [True, False]}"),
        RenderCase("{{ 'a' 'b' }}{{ \"\\u00e9\\x41\\101\" }}",
                   "abéAA"),
        RenderCase("{{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1_000 }} {{ 1.5e3 }} {{ 2E-2 }}",
                   "31 15 5 1000 1500.0 0.02"),
    ]

    static let expressions: [RenderCase] = [
        RenderCase("{{ 7 + 3 }} {{ 7 - 10 }} {{ 7 * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }}",
                   "10 -3 21 3.5 3 -4 1 2 1024 0.5"),
        RenderCase("{{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 1 + 2.5 }} {{ true + 1 }} {{ 'ab' * 3 }} {{ [0] * 2 }} {{ 3 * 'x' }}",
                   "3.0 0.5 3.5 2 ababab [0, 0] xxx"),
        RenderCase("{{ 'a' ~ 1 ~ none ~ missing ~ 2.0 }} {{ 'a' + 'b' }} {{ [1] + [2] }}",
                   "a1None2.0 ab [1, 2]"),
        RenderCase("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 != 2 }} {{ 'B' < 'a' }}",
                   "True False True True True True True"),
        RenderCase("{{ 'an' in 'banana' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'x' not in 'abc' }} {{ 3 not in [1, 2] }} {{ 'a' in missing }}",
                   "True True True True True False"),
        RenderCase("{{ true and 'yes' }} {{ 0 and 'no' }} {{ '' or 'fallback' }} {{ 'first' or 'second' }} {{ not 0 }} {{ not 'x' }}",
                   "yes 0 fallback first True False"),
        RenderCase("{{ 'big' if n > 5 else 'small' }} {{ 'x' if false }}|{{ 'a' if false else 'b' if true else 'c' }}", ["n": 7],
                   "big |b"),
        RenderCase("{{ -x }} {{ +x }} {{ - 2 ** 2 }} {{ -x|abs }} {{ not x is none }}", ["x": 3],
                   "-3 3 4 3 True"),
        RenderCase("{{ xs[0] }} {{ xs[-1] }} {{ xs[1:] }} {{ xs[:2] }} {{ xs[::-1] }} {{ xs[::2] }} {{ xs[-2:] }} {{ xs[5:] }} {{ xs[1:-1] }}", ["xs": [1, 2, 3, 4]],
                   "1 4 [2, 3, 4] [1, 2] [4, 3, 2, 1] [1, 3] [3, 4] [] [2, 3]"),
        RenderCase("{{ s[0] }} {{ s[-1] }} {{ s[1:3] }} {{ s[::-1] }} [{{ s[10] }}]", ["s": "héllo"],
                   "h o él olléh []"),
        RenderCase("{{ d.a }} {{ d['a'] }} {{ d.nested.k }} {{ d['nested']['k'] }} [{{ d.missing }}] [{{ d['missing'] }}] {{ xs.0 }}", ["d": ["a": 1, "nested": ["k": "v"]], "xs": ["zero"]],
                   "1 1 v v [] [] zero"),
        RenderCase("{{ d.items is defined }} {{ d['items'] }} {{ d.get('items') }} {{ d.keys()|list }}", ["d": ["items": "value"]],
                   "True value value ['items']"),
        RenderCase("{{ [1, 2][5] is defined }} {{ 'abc'['x'] is defined }} {{ none.attr is defined }} {{ 'abc'.nonexistent is defined }}",
                   "False False False False"),
        RenderCase("{{ {'a': 1, 'b': 2} }} {{ {1: 'one'}[1] }} {{ [1, [2, [3]]][1][1][0] }} {{ (1, 2)[1] }} {{ {'a': 1}.a }}",
                   "{'a': 1, 'b': 2} one 3 2 1"),
        RenderCase("{{ 10 / 4 }} {{ 10 / 5 }} {{ 2 ** 0.5 }} {{ 0.1 + 0.2 }} {{ 1 / 3 }} {{ 3.0 * 2 }}",
                   "2.5 2.0 1.4142135623730951 0.30000000000000004 0.3333333333333333 6.0"),
    ]

    static let statements: [RenderCase] = [
        RenderCase("{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}", ["xs": ["a", "b", "c"]],
                   "1032TrueFalse3;2121FalseFalse3;3210FalseTrue3;"),
        RenderCase("{% for x in xs %}{{ loop.previtem|default('-') }}{{ x }}{{ loop.nextitem|default('-') }} {% endfor %}", ["xs": [1, 2, 3]],
                   "-12 123 23- "),
        RenderCase("{% for x in xs %}{{ loop.cycle('odd', 'even') }}{% if loop.changed(x) %}*{% endif %} {% endfor %}", ["xs": [1, 1, 2]],
                   "odd* even odd* "),
        RenderCase("{% for x in [] %}never{% else %}empty{% endfor %} {% for x in [1] %}{{ x }}{% else %}no{% endfor %}",
                   "empty 1"),
        RenderCase("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {% for k in d %}{{ k }}{% endfor %}", ["d": ["b": 2, "a": 1]],
                   "b=2;a=1; ba"),
        RenderCase("{% for a, (b, c) in [(1, (2, 3)), (4, (5, 6))] %}{{ a + b + c }} {% endfor %}",
                   "6 15 "),
        RenderCase("{% for x in xs if x % 2 %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% endfor %}", ["xs": [1, 2, 3, 4, 5]],
                   "1:1/3 3:2/3 5:3/3 "),
        RenderCase("{% for x in xs %}{% if x == 3 %}{% break %}{% endif %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}", ["xs": [1, 2, 3, 4]],
                   "2"),
        RenderCase("{% for k in [1, 2] %}{% continue %}{% else %}E{% endfor %}|{% for k in [1, 2] %}{% if k == 2 %}{% break %}{% endif %}{% else %}E{% endfor %}|{% for k in [1, 2] %}{% break %}{% else %}E{% endfor %}",
                   "E||E"),
        RenderCase("{% for row in rows %}{% for x in row %}{{ loop.index }}{% endfor %}/{{ loop.index }} {% endfor %}", ["rows": [[1, 2], [3]]],
                   "12/1 1/2 "),
        RenderCase("{% for c in 'abc' %}{{ c }}-{% endfor %} {% for x in missing %}x{% else %}none{% endfor %}",
                   "a-b-c- none"),
        RenderCase("{% if x > 2 %}big{% elif x > 1 %}medium{% else %}small{% endif %} {% if none %}a{% elif '' %}b{% endif %}.", ["x": 2],
                   "medium ."),
        RenderCase("{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = i * 10 %}{{ x }} {% endfor %}{{ x }}",
                   "110 120 1"),
        RenderCase("{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set t = 1, %}{{ t }} {% set x = 3 if false else 4 %}{{ x }}",
                   "12 (1,) 4"),
        RenderCase("{% set ns = namespace(total=0, seen=[]) %}{% for i in [1, 2, 3] %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }} {{ ns }}",
                   "6 <Namespace {'total': 6, 'seen': []}>"),
        RenderCase("{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}{{ ns['a'] }}{{ ns.c is defined }}",
                   "121False"),
        RenderCase("{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', greeting='Hi') }} {{ greet(name='Cy', greeting='Yo') }}",
                   "Hello, Ann! Hi, Bob! Yo, Cy!"),
        RenderCase("{% macro m(a, b=a * 2) %}{{ a }}/{{ b }}/{{ varargs }}/{{ kwargs }}{% endmacro %}{{ m(1) }} {{ m(1, 2, 3, x=4) }}",
                   "1/2/()/{} 1/2/(3,)/{'x': 4}"),
        RenderCase("{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }}",
                   "120"),
        RenderCase("{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold{% endcall %} {% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(item) each([1, 2]) %}[{{ item }}]{% endcall %}",
                   "<b>bold</b> [1][2]"),
        RenderCase("{% filter upper %}shout {{ 'it' }}{% endfilter %} {% set block %}  captured {{ 1 + 1 }}  {% endset %}[{{ block }}] {% set t | trim | upper %}  x  {% endset %}[{{ t }}]",
                   "SHOUT IT [  captured 2  ] [X]"),
        RenderCase("{% with a = 1, b = 'two' %}{{ a }}{{ b }}{% endwith %}[{{ a }}]",
                   "1two[]"),
        RenderCase("{% for x in [1, 2] %}{% generation %}<{{ x }}>{% endgeneration %}{% endfor %}",
                   "<1><2>"),
        RenderCase("{% set x = 'outer' %}{% macro show() %}{{ x }}{% endmacro %}{% set x = 'changed' %}{{ show() }} {% for i in [1] %}{% set x = 'inner' %}{{ show() }}{% endfor %}",
                   "changed changed"),
        RenderCase("{% if true %}{% set leaked = 'yes' %}{% endif %}{{ leaked }} {% for i in [1] %}{% set hidden = 1 %}{% endfor %}[{{ hidden }}]",
                   "yes []"),
        RenderCase("{% print 1, 'a' %}",
                   "1a"),
    ]

    static let tests: [RenderCase] = [
        RenderCase("{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ none is none }} {{ x is not none }}", ["x": 0],
                   "True False True True True"),
        RenderCase("{{ 'a' is string }} {{ 1 is string }} {{ 1 is number }} {{ 1.5 is number }} {{ true is number }} {{ 1 is integer }} {{ true is integer }} {{ 1.0 is float }} {{ true is boolean }} {{ 1 is boolean }}",
                   "True False True True True True False True True False"),
        RenderCase("{{ {} is mapping }} {{ [] is mapping }} {{ [] is iterable }} {{ 'a' is iterable }} {{ 1 is iterable }} {{ {} is sequence }} {{ 'x' is sequence }} {{ missing is sequence }} {{ missing is iterable }}",
                   "True False True True False True True True True"),
        RenderCase("{{ true is true }} {{ 1 is true }} {{ false is false }} {{ 0 is false }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }}",
                   "True False True False True True True False"),
        RenderCase("{{ 1 is eq 1 }} {{ 'a' is equalto 'a' }} {{ 2 is gt 1 }} {{ 2 is ge 3 }} {{ 1 is lt 2 }} {{ 1 is le 1 }} {{ 1 is ne 1 }} {{ 1 is in [1, 2] }}",
                   "True True True False True True False True"),
        RenderCase("{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aB' is lower }} {{ none is sameas none }} {{ range is callable }} {{ 'x' is callable }} {{ 'upper' is filter }} {{ 'string' is test }} {{ 'nope' is filter }}",
                   "True True False True True False True True False"),
        RenderCase("{{ messages[0]['content'] is string }} {{ messages is iterable }} {{ tools is none }} {{ documents is defined }}",
                   "True True True True"),
    ]

    static let filters: [RenderCase] = [
        RenderCase("[{{ '  a b  '|trim }}] [{{ 'xxhixx'|trim('x') }}] {{ 'hello WORLD'|capitalize }} {{ 'hello world-wide (web)'|title }} {{ 'MiXed'|lower }} {{ 'MiXed'|upper }}",
                   "[a b] [hi] Hello world Hello World-Wide (Web) mixed MIXED"),
        RenderCase("{{ [1, 2, 3]|length }} {{ 'héllo'|length }} {{ {'a': 1}|count }} {{ missing|length }} {{ [3, 1, 2]|first }} {{ [3, 1, 2]|last }} {{ 'abc'|first }} {{ []|first is defined }}",
                   "3 5 1 0 3 2 a False"),
        RenderCase("{{ [1, 2, 3]|join(', ') }} {{ ['a', 'b']|join }} {{ users|join(', ', attribute='name') }} {{ [1, none, 'x']|join('-') }}", ["users": [["name": "Ann"], ["name": "Bob"]]],
                   "1, 2, 3 ab Ann, Bob 1-None-x"),
        RenderCase("{{ missing|default('dflt') }} {{ ''|default('dflt') }} {{ ''|default('dflt', true) }} {{ none|d('n') }} {{ 0|d('zero', boolean=true) }}",
                   "dflt  dflt None zero"),
        RenderCase("{{ 'a-b-c'|replace('-', '+') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'ab'|replace('', '.') }}",
                   "a+b+c bba .a.b."),
        RenderCase("{{ {'b': 2, 'a': 1}|items|list }} {{ {'b': 2, 'A': 1, 'c': 0}|dictsort }} {{ {'b': 2, 'a': 1}|dictsort(by='value', reverse=true) }} {{ missing|items|list }}",
                   "[('b', 2), ('a', 1)] [('A', 1), ('b', 2), ('c', 0)] [('b', 2), ('a', 1)] []"),
        RenderCase("{{ [3, 1, 2]|sort }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', 'c']|sort(case_sensitive=true) }} {{ [3, 1, 2]|sort(reverse=true) }} {{ users|sort(attribute='age')|map(attribute='name')|list }}", ["users": [["name": "Ann", "age": 30], ["name": "Bob", "age": 25]]],
                   "[1, 2, 3] ['A', 'b', 'c'] ['A', 'b', 'c'] [3, 2, 1] ['Bob', 'Ann']"),
        RenderCase("{{ users|sort(attribute='age,name')|map(attribute='name')|join(',') }}", ["users": [["name": "Cy", "age": 30], ["name": "Ann", "age": 30], ["name": "Bob", "age": 25]]],
                   "Bob,Ann,Cy"),
        RenderCase("{{ [1, 2, 2, 'a', 'A']|unique|list }} {{ ['a', 'A']|unique(case_sensitive=true)|list }} {{ [3, 1, 2]|min }} {{ [3, 1, 2]|max }} {{ ['b', 'A']|max }} {{ [1, 2, 3]|sum }} {{ users|sum(attribute='age') }}", ["users": [["age": 30], ["age": 25]]],
                   "[1, 2, 'a'] ['a', 'A'] 1 3 b 6 55"),
        RenderCase("{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }} {{ msgs|rejectattr('role', 'equalto', 'user')|list|length }} {{ msgs|selectattr('tool')|list }}", ["msgs": [["role": "user", "content": "a"], ["role": "assistant", "content": "b", "tool": true], ["role": "user", "content": "c"]]],
                   "['a', 'c'] 1 [{'role': 'assistant', 'content': 'b', 'tool': True}]"),
        RenderCase("{{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3, 4]|reject('odd')|list }} {{ [0, 1, '', 'a']|select|list }} {{ [1, 5, 10]|select('gt', 4)|list }} {{ ['a', 'b']|map('upper')|list }} {{ [{'a': {'b': 1}}]|map(attribute='a.b')|list }} {{ [{}]|map(attribute='x', default='d')|list }}",
                   "[1, 3] [2, 4] [1, 'a'] [5, 10] ['A', 'B'] [1] ['d']"),
        RenderCase("{{ 'x'|list }} {{ (1, 2)|list }} {{ {'k': 1}|list }} {{ [1, 2]|reverse|list }} {{ 'abc'|reverse }} {{ 42|string ~ '!' }} {{ [1, 2]|string }}",
                   "['x'] [1, 2] ['k'] [2, 1] cba 42! [1, 2]"),
        RenderCase("{{ '42'|int }} {{ '42.7'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 3.9|int }} {{ '0x1A'|int(0, 16) }} {{ true|int }} {{ '3.5'|float }} {{ 'x'|float }} {{ 3|float }}",
                   "42 42 0 7 3 26 1 3.5 0.0 3.0"),
        RenderCase("{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 3|round }} {{ 3.14159|round(2, 'floor') }} {{ 3.14159|round(1, 'ceil') }} {{ -2.5|round }} {{ 1234|round(-2) }}",
                   "2.0 4.0 2.67 3 3.14 3.2 -2.0 1200"),
        RenderCase("{{ -3|abs }} {{ -3.5|abs }} {{ '<a href=\"x\">&\\'</a>'|e }} {{ '<b>'|escape }} {{ '<i>'|safe }} {{ 'a b  c\\nd'|wordcount }} {{ 'hi'|center(6) }}|",
                   "3 3.5 &lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt; &lt;b&gt; <i> 4   hi  |"),
        RenderCase("{{ 'one\\ntwo\\n\\nthree'|indent }}|{{ 'one\\ntwo'|indent(2, true) }}|{{ 'a\\n\\nb'|indent(width='> ', blank=true) }}",
                   "one\n    two\n\n    three|  one\n  two|a\n> \n> b"),
        RenderCase("{{ [1, 2, 3, 4, 5]|batch(2)|list }} {{ [1, 2, 3]|batch(2, 'x')|list }}",
                   "[[1, 2], [3, 4], [5]] [[1, 2], [3, 'x']]"),
        RenderCase("{{ 'Hello %s, you are %d' | format('Ann', 30) }} {{ '%(a)s-%(b)s'|format(a=1, b=2) }} {{ '%.2f|%5s|%-5s|%05d|%x|%%'|format(3.14159, 'r', 'l', 42, 255) }}",
                   "Hello Ann, you are 30 1-2 3.14|    r|l    |00042|ff|%"),
        RenderCase("{{ 'The quick brown fox jumps over the lazy dog'|truncate(20) }} {{ 'short'|truncate(20) }} {{ 'abcdefghijklmnop'|truncate(10, true) }} {{ 'abcdefghijklmnop'|truncate(10, true, '..', 0) }}",
                   "The quick brown... short abcdefg... abcdefgh.."),
        RenderCase("{{ d|attr('a') }} [{{ d|attr('zzz') }}] {{ 'abc'|attr('upper') is callable }}", ["d": ["a": 1]],
                   " [] True"),
    ]

    static let tojson: [RenderCase] = [
        RenderCase("{{ obj|tojson }}", ["obj": ["b": 1, "a": [1, 2.5, nil, true, "é\"\n\\"], "c": [:]]],
                   "{\"b\": 1, \"a\": [1, 2.5, null, true, \"é\\\"\\n\\\\\"], \"c\": {}}"),
        RenderCase("{{ obj|tojson(indent=2) }}", ["obj": ["b": 1, "a": [1, ["x": []]], "c": [:]]],
                   "{\n  \"b\": 1,\n  \"a\": [\n    1,\n    {\n      \"x\": []\n    }\n  ],\n  \"c\": {}\n}"),
        RenderCase("{{ obj|tojson(indent='\\t', sort_keys=true) }}", ["obj": ["b": 1, "a": [1, 2]]],
                   "{\n\t\"a\": [\n\t\t1,\n\t\t2\n\t],\n\t\"b\": 1\n}"),
        RenderCase("{{ obj|tojson(ensure_ascii=true) }} {{ obj|tojson(separators=(',', ':')) }} {{ obj|tojson(4) }}", ["obj": ["k": "é😀\u{7f}", "n": [1, 2]]],
                   "{\"k\": \"\\u00e9\\ud83d\\ude00\\u007f\", \"n\": [1, 2]} {\"k\":\"é😀\u{7f}\",\"n\":[1,2]} {\"k\": \"\\u00e9\\ud83d\\ude00\\u007f\", \"n\": [1, 2]}"),
        RenderCase("{{ 'text'|tojson }} {{ 1.0|tojson }} {{ 1e16|tojson }} {{ none|tojson }} {{ (1, 'a')|tojson }} {{ {1: 'int key', true: 'x'}|tojson }} {{ [1, 2]|tojson(indent=0) }}",
                   "\"text\" 1.0 1e+16 null [1, \"a\"] {\"1\": \"x\"} [\n1,\n2\n]"),
    ]

    static let methods: [RenderCase] = [
        RenderCase("[{{ '  x  '.strip() }}] [{{ '  x  '.lstrip() }}] [{{ '  x  '.rstrip() }}] [{{ 'xxaxx'.strip('x') }}] [{{ '\\n\\nabc\\n'.rstrip('\\n') }}]",
                   "[x] [x  ] [  x] [a] [\n\nabc]"),
        RenderCase("{{ 'a b  c'.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ '  a b  '.split(none, 1) }} {{ 'a\\nb\\r\\nc'.splitlines() }}",
                   "['a', 'b', 'c'] ['a', 'b', '', 'c'] ['a', 'b,c'] ['a,b', 'c'] ['a', 'b  '] ['a', 'b', 'c']"),
        RenderCase("{{ 'hello'.startswith('he') }} {{ 'hello'.endswith('lo') }} {{ 'hello'.startswith(('x', 'h')) }} {{ 'hello'.upper() }} {{ 'HeLLo'.lower() }} {{ 'hello world'.title() }} {{ \"they're bill's\".title() }} {{ 'hELLO'.capitalize() }} {{ 'AbC'.swapcase() }}",
                   "True True True HELLO hello Hello World They'Re Bill'S Hello aBc"),
        RenderCase("{{ 'a-b-c'.replace('-', '') }} {{ 'a-b-c'.replace('-', '+', 1) }} {{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} {{ 'hello'.count('l') }} {{ ', '.join(['a', 'b']) }} {{ 'abc'.index('c') }}",
                   "abc a+b-c 2 3 -1 2 a, b 2"),
        RenderCase("{{ '{} and {}'.format('a', 'b') }} {{ '{1}{0}'.format('a', 'b') }} {{ '{name}!'.format(name='x') }} {{ '{0[k]}'.format({'k': 'v'}) }} {{ '{:>5}|{:<3}|{:^5}|{:.2f}|{:03d}'.format('r', 'l', 'c', 3.14159, 7) }}",
                   "a and b ba x! v     r|l  |  c  |3.14|007"),
        RenderCase("{{ '42'.isdigit() }} {{ 'abc'.isalpha() }} {{ 'a1'.isalnum() }} {{ '  '.isspace() }} {{ ''.isdigit() }} {{ 'ABC'.isupper() }} {{ 'abc'.islower() }} {{ 'x'.zfill(3) }} {{ 'x'.center(5, '*') }} {{ 'ab'.ljust(4, '.') }}{{ 'ab'.rjust(4) }}",
                   "True True True True False True True 00x **x** ab..  ab"),
        RenderCase("{{ 'a=b=c'.partition('=') }} {{ 'a=b=c'.rpartition('=') }} {{ 'prefix_x'.removeprefix('prefix_') }} {{ 'x.txt'.removesuffix('.txt') }}",
                   "('a', '=', 'b=c') ('a=b', '=', 'c') x x"),
        RenderCase("{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 'dflt') }} {{ d.keys() }} {{ d.values() }} {{ d.items() }} {{ d.items()|list }} {{ 'a' in d.keys() }}", ["d": ["a": 1, "b": [2]]],
                   "1 None dflt dict_keys(['a', 'b']) dict_values([1, [2]]) dict_items([('a', 1), ('b', [2])]) [('a', 1), ('b', [2])] True"),
        RenderCase("{{ [1, 2, 2].count(2) }} {{ [1, 2, 3].index(3) }} {{ (1, 2).count(1) }} {{ xs.append }}|", ["xs": [1]],
                   "2 2 1 |"),
    ]

    static let globals: [RenderCase] = [
        RenderCase("{{ range(3)|list }} {{ range(1, 4)|list }} {{ range(10, 0, -3)|list }} {% for i in range(2) %}{{ i }}{% endfor %}",
                   "[0, 1, 2] [1, 2, 3] [10, 7, 4, 1] 01"),
        RenderCase("{{ dict(a=1, b=2) }} {{ dict([('x', 1)]) }} {{ dict({'k': 'v'}, z=0) }}",
                   "{'a': 1, 'b': 2} {'x': 1} {'k': 'v', 'z': 0}"),
        RenderCase("{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ tools }}|{{ documents }}|{{ messages|length }}", ["bos_token": "<s>", "eos_token": "</s>"],
                   "<s>|</s>|False|None|None|1"),
    ]

}
