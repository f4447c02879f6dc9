import Foundation

/// A Jinja chat template, rendered exactly as transformers 5.24's
/// `processor.apply_chat_template(messages, tokenize=False)` renders it with jinja2 3.1.
///
/// Parse once, render many times; a `ChatTemplate` is immutable and can be shared across tasks.
///
///     let template = try ChatTemplate(source: source)
///     let prompt = try template.render(
///         messages: [.user([.image, .text("What is in this image?")])],
///         addGenerationPrompt: true)
public struct ChatTemplate: Sendable {
    /// The template text as given.
    public let source: String
    private let statements: [Statement]

    /// Parses a template. Throws a `ChatTemplateError` of kind `.syntax` naming the line and column
    /// of the first error, as jinja2 refuses such templates before rendering (unknown filters and
    /// tests included).
    public init(source: String) throws {
        self.source = source
        self.statements = try Parser.parse(source)
    }

    /// Renders a conversation of `ChatMessage`s; see `render(messages:...)` for `Value` messages.
    public func render(
        messages: [ChatMessage],
        addGenerationPrompt: Bool = false,
        bosToken: String? = nil,
        eosToken: String? = nil,
        tools: [Value]? = nil,
        documents: [Value]? = nil,
        extra: [String: Value] = [:],
        now: Date = Date()
    ) throws -> String {
        try render(
            messages: messages.map(\.value), addGenerationPrompt: addGenerationPrompt, bosToken: bosToken,
            eosToken: eosToken, tools: tools, documents: documents, extra: extra, now: now)
    }

    /// Renders a conversation of JSON-like messages.
    ///
    /// The template sees what transformers passes it: `messages`, `tools` and `documents` (`None` when
    /// not given), `add_generation_prompt`, the special tokens that are set (`bos_token`, `eos_token`),
    /// then `extra` (for variables such as `enable_thinking` or `add_vision_id`), which overrides the
    /// special tokens. Messages are prepared as transformers prepares them: keys whose value is null
    /// are dropped, OpenAI `image_url` parts become `{"type": "image", "url": ...}`, and a message's
    /// reasoning (`reasoning_content`, `thinking` or `reasoning`) is also given as `thinking` and
    /// `reasoning_content`.
    ///
    /// `now` is what `strftime_now` formats. Throws a `ChatTemplateError`: `.raised` when the template
    /// calls `raise_exception`, `.runtime` when rendering fails, `.invalidInput` for a message that is
    /// not an object or an `extra` key that would replace one of the variables above.
    public func render(
        messages: [Value],
        addGenerationPrompt: Bool = false,
        bosToken: String? = nil,
        eosToken: String? = nil,
        tools: [Value]? = nil,
        documents: [Value]? = nil,
        extra: [String: Value] = [:],
        now: Date = Date()
    ) throws -> String {
        var variables: [String: TemplateValue] = [
            "messages": .list(try messages.map { TemplateValue(try ChatTemplate.prepared($0)) }),
            "tools": tools.map { .list($0.map(TemplateValue.init)) } ?? .none,
            "documents": documents.map { .list($0.map(TemplateValue.init)) } ?? .none,
            "add_generation_prompt": .bool(addGenerationPrompt),
        ]
        let reserved = Set(variables.keys)
        if let bosToken { variables["bos_token"] = .string(bosToken) }
        if let eosToken { variables["eos_token"] = .string(eosToken) }
        for (name, value) in extra {
            guard !reserved.contains(name) else {
                throw ChatTemplateError(.invalidInput, "\(pythonRepr(name)) is passed to every template and cannot be an extra variable")
            }
            variables[name] = TemplateValue(value)
        }
        return try Renderer(variables: variables, now: now).render(statements)
    }

    /// One message as transformers hands it to the template (`_normalize_conversations`, then
    /// `_alias_reasoning_fields`).
    static func prepared(_ message: Value) throws -> Value {
        guard case .object(var object) = message else {
            throw ChatTemplateError(.invalidInput, "chat messages must be objects, not \(message)")
        }
        for key in object.keys where object[key] == .null { object[key] = nil }
        if case .array(let parts)? = object["content"] {
            object["content"] = .array(parts.map { part in
                guard case .object(let fields) = part, fields["type"] == "image_url", let info = fields["image_url"] else {
                    return part
                }
                let url: Value
                if case .object(let infoFields) = info { url = infoFields["url"] ?? "" } else { url = info }
                return ["type": "image", "url": url]
            })
        }
        let reasoningKeys = ["reasoning_content", "thinking", "reasoning"]
        guard let reasoning = reasoningKeys.lazy.compactMap({ object[$0] }).first else { return .object(object) }
        // `{"thinking": reasoning, **message, "reasoning_content": reasoning}`, with Python's key order.
        var aliased: ValueObject = ["thinking": reasoning]
        for (key, value) in object { aliased[key] = value }
        aliased["reasoning_content"] = reasoning
        return .object(aliased)
    }
}
