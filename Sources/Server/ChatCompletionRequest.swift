import ChatTemplates
import Foundation
import Runtime

/// A `POST /v1/chat/completions` body, checked field by field: a wrong type or value is an
/// `invalid_request_error` naming the field; fields OpenAI defines that this server cannot honour
/// (tools, n > 1, penalties...) are refused rather than silently ignored; fields it does not know
/// are ignored, as llama.cpp's server does.
struct ChatCompletionRequest: Sendable {
    var conversation: ConversationMessages
    var parameters: GenerationParameters
    var stream: Bool
    var includeUsage: Bool
    var logprobs: Bool

    /// Parameters that change what a model does and that this server does not implement: refused
    /// when given a value other than their no-op.
    static let unsupported = ["tools", "tool_choice", "functions", "function_call", "audio", "prediction", "web_search_options"]

    init(body: Data, defaults: GenerationParameters) throws(APIError) {
        let json: Value
        do { json = try Value(json: body) } catch let error as ChatTemplateError {
            let place = error.line.map { " at line \($0), column \(error.column ?? 0)" } ?? ""
            throw APIError.invalid("the body is not valid JSON: \(error.message)\(place)", code: "invalid_json")
        } catch {
            throw APIError.invalid("the body is not valid JSON: \(error)", code: "invalid_json")
        }
        guard let object = json.objectValue else { throw APIError.invalid("the body must be a JSON object", code: "invalid_json") }
        let fields = Fields(object: object)

        _ = try fields.string("model")
        guard let messages = object["messages"], messages != .null else { throw APIError.invalid("'messages' is required", param: "messages") }
        do { conversation = try ConversationMessages(json: messages) } catch {
            throw APIError.invalid(error.description, param: error.field)
        }
        if conversation.messages.isEmpty { throw APIError.invalid("'messages' must hold at least one message", param: "messages") }

        if let n = try fields.int("n"), n != 1 { throw APIError.unsupported("n", "must be 1: one choice per request") }
        for name in ["presence_penalty", "frequency_penalty"] {
            if let value = try fields.number(name), value != 0 { throw APIError.unsupported(name, "is not supported (use repetition_penalty)") }
        }
        if let bias = object["logit_bias"], bias != .null, bias.objectValue?.isEmpty != true {
            throw APIError.unsupported("logit_bias", "is not supported")
        }
        for name in Self.unsupported where object[name] != nil && object[name] != .null {
            throw APIError.unsupported(name, "is not supported by this server")
        }
        if let format = object["response_format"], format != .null, format["type"]?.stringValue != "text" {
            throw APIError.unsupported("response_format", "is not supported (only {\"type\": \"text\"})")
        }
        if let modalities = object["modalities"], modalities != .null, modalities != ["text"] {
            throw APIError.unsupported("modalities", "is not supported (only [\"text\"])")
        }

        var parameters = defaults
        for name in ["max_tokens", "max_completion_tokens"] {
            guard let tokens = try fields.int(name) else { continue }
            guard tokens >= 1 else { throw APIError.invalid("'\(name)' must be at least 1", param: name) }
            // max_completion_tokens, OpenAI's newer name, wins when both are given.
            parameters.maxNewTokens = tokens
        }
        if let value = try fields.number("temperature") { parameters.temperature = Float(value) }
        if let value = try fields.number("top_p") { parameters.topP = Float(value) }
        if let value = try fields.int("top_k") { parameters.topK = value }
        if let value = try fields.number("min_p") { parameters.minP = Float(value) }
        if let value = try fields.number("repetition_penalty") { parameters.repetitionPenalty = Float(value) }
        // OpenAI's seeds are signed 64-bit; the sampler's are unsigned, the same bits.
        if let seed = try fields.int("seed") { parameters.seed = UInt64(bitPattern: Int64(seed)) }
        if let stop = object["stop"], stop != .null {
            if let single = stop.stringValue {
                parameters.stopStrings = [single]
            } else if let list = stop.arrayValue, list.count <= 4, list.allSatisfy({ $0.stringValue != nil }) {
                parameters.stopStrings = list.compactMap(\.stringValue)
            } else {
                throw APIError.invalid("'stop' must be a string or a list of at most 4 strings", param: "stop")
            }
        }
        logprobs = try fields.bool("logprobs") ?? false
        if let top = try fields.int("top_logprobs") {
            guard logprobs else { throw APIError.invalid("'top_logprobs' needs 'logprobs': true", param: "top_logprobs") }
            guard (0...20).contains(top) else { throw APIError.invalid("'top_logprobs' must be between 0 and 20", param: "top_logprobs") }
            parameters.topLogprobs = top
        }
        do { try parameters.validate() } catch {
            // The message starts with the parameter's name, which is also the API's.
            throw APIError.invalid(error.description, param: error.description.split(separator: " ").first.map(String.init))
        }
        self.parameters = parameters

        stream = try fields.bool("stream") ?? false
        includeUsage = false
        if let options = object["stream_options"], options != .null {
            guard stream else { throw APIError.invalid("'stream_options' is only allowed with 'stream': true", param: "stream_options") }
            guard let optionsObject = options.objectValue else { throw APIError.invalid("'stream_options' must be an object", param: "stream_options") }
            includeUsage = try Fields(object: optionsObject, prefix: "stream_options.").bool("include_usage") ?? false
        }
    }

    /// Typed reads of optional fields: null counts as absent, any other wrong type is an error.
    struct Fields {
        let object: ValueObject
        var prefix = ""

        private func value(_ name: String) -> Value? {
            guard let value = object[name], value != .null else { return nil }
            return value
        }

        private func wrongType(_ name: String, _ expected: String) -> APIError {
            APIError.invalid("'\(prefix)\(name)' must be \(expected)", param: prefix + name)
        }

        func string(_ name: String) throws(APIError) -> String? {
            guard let value = value(name) else { return nil }
            guard let text = value.stringValue else { throw wrongType(name, "a string") }
            return text
        }

        func bool(_ name: String) throws(APIError) -> Bool? {
            guard let value = value(name) else { return nil }
            guard let flag = value.boolValue else { throw wrongType(name, "true or false") }
            return flag
        }

        func int(_ name: String) throws(APIError) -> Int? {
            guard let value = value(name) else { return nil }
            guard case .int(let number) = value else { throw wrongType(name, "an integer") }
            return number
        }

        func number(_ name: String) throws(APIError) -> Double? {
            switch value(name) {
            case nil: return nil
            case .int(let number)?: return Double(number)
            case .double(let number)?: return number
            default: throw wrongType(name, "a number")
            }
        }
    }
}
