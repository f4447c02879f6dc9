import Foundation
import Hummingbird
import Logging
import Runtime
import Tokenizers

/// Turns a generation's events into OpenAI's response: one object, or server-sent events.
struct Reply: Sendable {
    let id: String
    let created: Int
    let model: String
    let logprobs: Bool
    let includeUsage: Bool
    let tokenizer: Tokenizer
    /// End-of-sequence ids: generated and counted, but not part of the answer, so not listed
    /// in its log-probabilities (OpenAI lists only the tokens of the text).
    let endOfSequence: Set<Int>

    private func logprob(_ token: GeneratedToken) -> OpenAI.TokenLogprob? {
        logprobs && !endOfSequence.contains(token.id) ? OpenAI.TokenLogprob(token, tokenizer: tokenizer) : nil
    }

    /// The whole answer, after the generation ends.
    func complete(_ job: GenerationJob, record: RequestRecord) async throws -> OpenAI.Completion {
        var text = "", tokens: [OpenAI.TokenLogprob] = [], finish = FinishReason.length, report: GenerationReport?
        do {
            for try await event in job.events {
                switch event {
                case .generation(.text(let piece)): text += piece
                case .generation(.token(let token)): if let entry = logprob(token) { tokens.append(entry) }
                case .generation(.finished(let reason)): finish = reason
                case .done(let done): report = done
                }
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw APIError.server("generation failed: \(error)")
        }
        guard let report else { throw APIError.server("the generation ended without a report") }
        record.note(report: report)
        let choice = OpenAI.Choice(field: "message", payload: OpenAI.Message(content: text), logprobs: logprobs ? OpenAI.Logprobs(content: tokens) : nil,
                                   finish_reason: OpenAI.finishReason(finish))
        return OpenAI.Completion(id: id, created: created, model: model, choices: [choice], usage: OpenAI.Usage(report))
    }

    /// Server-sent events as OpenAI sends them: a first chunk with the role, one chunk per piece
    /// of text (with the log-probabilities of the tokens that made it), a last chunk with the
    /// finish reason, the usage chunk when `stream_options.include_usage` asks for it, and
    /// `data: [DONE]`. A failed write (the client left) cancels the generation.
    func stream(_ job: GenerationJob, to writer: inout any ResponseBodyWriter, record: RequestRecord, logger: Logger) async throws {
        let usageField: OpenAI.Usage?? = includeUsage ? .some(nil) : nil
        func chunk(_ delta: OpenAI.Delta, tokens: [OpenAI.TokenLogprob], finish: FinishReason? = nil) -> OpenAI.Chunk {
            let choice = OpenAI.Choice(field: "delta", payload: delta, logprobs: logprobs && !tokens.isEmpty ? OpenAI.Logprobs(content: tokens) : nil,
                                            finish_reason: finish.map(OpenAI.finishReason))
            return OpenAI.Chunk(id: id, created: created, model: model, choices: [choice], usage: usageField)
        }
        do {
            try await send(chunk(OpenAI.Delta(role: "assistant", content: ""), tokens: []), to: &writer)
            var pending: [OpenAI.TokenLogprob] = []
            var events = job.events.makeAsyncIterator()
            while true {
                let event: JobEvent?
                do { event = try await events.next() } catch is CancellationError { throw CancellationError() } catch {
                    // The status line is long gone: report the failure in the stream, as OpenAI does.
                    logger.error("generation failed: \(error)")
                    record.note(failure: "\(error)")
                    try await writer.write(ByteBuffer(bytes: Array("data: ".utf8) + APIError.server("generation failed: \(error)").body + Array("\n\n".utf8)))
                    break
                }
                guard let event else {
                    try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                    break
                }
                switch event {
                case .generation(.token(let token)):
                    if let entry = logprob(token) { pending.append(entry) }
                case .generation(.text(let piece)):
                    try await send(chunk(OpenAI.Delta(content: piece), tokens: pending), to: &writer)
                    pending = []
                case .generation(.finished(let reason)):
                    try await send(chunk(OpenAI.Delta(), tokens: pending, finish: reason), to: &writer)
                    pending = []
                case .done(let report):
                    record.note(report: report)
                    if includeUsage {
                        try await send(OpenAI.Chunk(id: id, created: created, model: model, choices: [], usage: .some(OpenAI.Usage(report))), to: &writer)
                    }
                }
            }
            try await writer.finish(nil)
        } catch {
            job.cancel()
            throw error
        }
    }

    private func send(_ value: some Encodable, to writer: inout any ResponseBodyWriter) async throws {
        var bytes = Array("data: ".utf8)
        bytes += try JSONEncoder.api.encode(value)
        bytes += Array("\n\n".utf8)
        try await writer.write(ByteBuffer(bytes: bytes))
    }
}
