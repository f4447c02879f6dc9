import Foundation

extension ChatTemplate {
    /// Finds a model's chat template the way transformers 5.24 does, first match wins:
    ///
    /// 1. the `chat_template` key of `processor_config.json` (old processors saved it there),
    /// 2. `chat_template.json`, `{"chat_template": "..."}` (the legacy processor file, which
    ///    transformers prefers to `chat_template.jinja` when both exist),
    /// 3. `chat_template.jinja`, else `chat_templates/default.jinja`,
    /// 4. the `chat_template` key of `tokenizer_config.json`: a string, or a list of
    ///    `{"name": ..., "template": ...}` of which the one named `default` is used.
    ///
    /// Returns nil when the folder has none of these. Throws a `ChatTemplateError` naming the file
    /// when one is malformed (invalid JSON or UTF-8, a wrong type, several templates without a default,
    /// a template with a syntax error) and `.invalidFile` when the folder does not exist.
    public static func load(fromModelFolder folder: URL) throws -> ChatTemplate? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ChatTemplateError(.invalidFile, "no such model folder", file: folder.path)
        }
        guard let (file, source) = try templateSource(in: folder) else { return nil }
        do {
            return try ChatTemplate(source: source)
        } catch var error as ChatTemplateError {
            error.file = file
            throw error
        }
    }

    /// The file the template comes from and its text.
    private static func templateSource(in folder: URL) throws -> (String, String)? {
        if let processorConfig = try jsonObject("processor_config.json", in: folder),
            let template = try templateText(processorConfig["chat_template"], file: "processor_config.json")
        {
            return ("processor_config.json", template)
        }
        if let legacy = try jsonObject("chat_template.json", in: folder) {
            guard legacy["chat_template"] != nil else {
                throw ChatTemplateError(.invalidFile, "no \"chat_template\" key", file: "chat_template.json")
            }
            if !namedTemplateFiles(in: folder).isEmpty {
                throw ChatTemplateError(
                    .invalidFile,
                    "a legacy chat_template.json cannot be combined with chat_templates/*.jinja files; transformers refuses this",
                    file: "chat_template.json")
            }
            if let template = try templateText(legacy["chat_template"], file: "chat_template.json") {
                return ("chat_template.json", template)
            }
        }
        for file in ["chat_template.jinja", "chat_templates/default.jinja"] {
            if let template = try text(file, in: folder) { return (file, template) }
        }
        let named = namedTemplateFiles(in: folder)
        if !named.isEmpty {
            throw ChatTemplateError(
                .invalidFile, "several chat templates (\(named.joined(separator: ", "))) but none named default",
                file: "chat_templates")
        }
        if let tokenizerConfig = try jsonObject("tokenizer_config.json", in: folder),
            let template = try templateText(tokenizerConfig["chat_template"], file: "tokenizer_config.json")
        {
            return ("tokenizer_config.json", template)
        }
        return nil
    }

    /// A `chat_template` entry: a string, a `{"default": ...}` object, or a list of named templates.
    private static func templateText(_ entry: Value?, file: String) throws -> String? {
        switch entry {
        case nil, .null?:
            return nil
        case .string(let template)?:
            return template
        case .object(let named)?:
            guard case .string(let template)? = named["default"] else {
                throw ChatTemplateError(.invalidFile, "\"chat_template\" has no string template named default", file: file)
            }
            return template
        case .array(let list)?:
            for item in list {
                guard case .object(let fields) = item, case .string(let name)? = fields["name"],
                    case .string(let template)? = fields["template"]
                else {
                    throw ChatTemplateError(
                        .invalidFile, "\"chat_template\" list items must be {\"name\": ..., \"template\": ...}", file: file)
                }
                if name == "default" { return template }
            }
            throw ChatTemplateError(.invalidFile, "several chat templates but none named default", file: file)
        default:
            throw ChatTemplateError(.invalidFile, "\"chat_template\" must be a string or a list of named templates", file: file)
        }
    }

    /// The file's text, nil when it does not exist.
    private static func text(_ file: String, in folder: URL) throws -> String? {
        let url = folder.appendingPathComponent(file)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ChatTemplateError(.invalidFile, "cannot be read: \(error.localizedDescription)", file: file)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ChatTemplateError(.invalidFile, "is not valid UTF-8", file: file)
        }
        return text
    }

    /// The file's JSON object, nil when it does not exist.
    private static func jsonObject(_ file: String, in folder: URL) throws -> ValueObject? {
        guard let text = try text(file, in: folder) else { return nil }
        let value: Value
        do {
            value = try Value(jsonString: text)
        } catch let error as ChatTemplateError {
            throw ChatTemplateError(.invalidFile, error.message, line: error.line, column: error.column, file: file)
        }
        guard case .object(let object) = value else {
            throw ChatTemplateError(.invalidFile, "expected a JSON object", file: file)
        }
        return object
    }

    /// The `chat_templates/*.jinja` files, which transformers loads as named templates.
    private static func namedTemplateFiles(in folder: URL) -> [String] {
        let directory = folder.appendingPathComponent("chat_templates")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return names.filter { $0.hasSuffix(".jinja") }.sorted()
    }
}
