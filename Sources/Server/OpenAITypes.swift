import Foundation
import Runtime
import Tokenizers

/// The response bodies of `/v1/chat/completions`, in OpenAI's shapes. Fields OpenAI sends as
/// `null` are encoded as `null`, not left out, so that strict clients find every key.
enum OpenAI {
    struct Usage: Encodable {
        let prompt_tokens: Int
        let completion_tokens: Int
        let total_tokens: Int

        init(_ report: GenerationReport) {
            prompt_tokens = report.promptTokens
            completion_tokens = report.completionTokens
            total_tokens = report.promptTokens + report.completionTokens
        }
    }

    struct TopLogprob: Encodable {
        let token: String
        let logprob: Float
        let bytes: [UInt8]
    }

    struct TokenLogprob: Encodable {
        let token: String
        let logprob: Float
        let bytes: [UInt8]
        let top_logprobs: [TopLogprob]

        /// A generated token as OpenAI reports it: its text (a token that holds part of a
        /// character shows U+FFFD, its bytes being those of that text), its log-probability and
        /// the alternatives asked for.
        init(_ token: GeneratedToken, tokenizer: Tokenizer) {
            func text(_ id: Int) -> String { tokenizer.decode([id]) }
            self.token = text(token.id)
            logprob = Self.finite(token.logprob)
            bytes = Array(self.token.utf8)
            top_logprobs = token.topLogprobs.map { TopLogprob(token: text($0.id), logprob: Self.finite($0.logprob), bytes: Array(text($0.id).utf8)) }
        }

        /// JSON has no -infinity: OpenAI reports impossible tokens as -9999.
        static func finite(_ logprob: Float) -> Float {
            logprob.isFinite ? logprob : -9999
        }
    }

    struct Logprobs: Encodable {
        let content: [TokenLogprob]

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(content, forKey: .content)
            try container.encodeNil(forKey: .refusal)
        }

        enum CodingKeys: String, CodingKey { case content, refusal }
    }

    struct Message: Encodable {
        let content: String

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode("assistant", forKey: .role)
            try container.encode(content, forKey: .content)
            try container.encodeNil(forKey: .refusal)
        }

        enum CodingKeys: String, CodingKey { case role, content, refusal }
    }

    /// One choice (there is only one, index 0): the whole message or a chunk's delta, the
    /// log-probabilities of its tokens and why generation ended (null until it has).
    struct Choice<Payload: Encodable>: Encodable {
        /// "message" in a completion, "delta" in a chunk.
        let field: String
        let payload: Payload
        let logprobs: Logprobs?
        let finish_reason: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(0, forKey: Key("index"))
            try container.encode(payload, forKey: Key(field))
            try container.encode(logprobs, forKey: Key("logprobs"))
            try container.encode(finish_reason, forKey: Key("finish_reason"))
        }

        struct Key: CodingKey {
            let stringValue: String
            var intValue: Int? { nil }
            init(_ name: String) { stringValue = name }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
    }

    struct Completion: Encodable {
        let id: String
        var object = "chat.completion"
        let created: Int
        let model: String
        let choices: [Choice<Message>]
        let usage: Usage
    }

    /// What a chunk adds to the message: the role (first chunk only) and text.
    struct Delta: Encodable {
        var role: String?
        var content: String?
    }

    struct Chunk: Encodable {
        let id: String
        let created: Int
        let model: String
        let choices: [Choice<Delta>]
        /// Present (null until the last chunk) only when `stream_options.include_usage` is set.
        let usage: Usage??

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode("chat.completion.chunk", forKey: .object)
            try container.encode(created, forKey: .created)
            try container.encode(model, forKey: .model)
            try container.encode(choices, forKey: .choices)
            if let usage { try container.encode(usage, forKey: .usage) }
        }

        enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage }
    }

    struct Model: Encodable {
        let id: String
        var object = "model"
        let created: Int
        var owned_by = "swift-vlm"
    }

    struct ModelList: Encodable {
        var object = "list"
        let data: [Model]
    }

    /// OpenAI's name for why generation ended: a full context is a length limit too.
    static func finishReason(_ reason: FinishReason) -> String {
        reason == .stop ? "stop" : "length"
    }
}
