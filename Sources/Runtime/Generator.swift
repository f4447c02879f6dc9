import Foundation
import ModelFamilies
import Tensors
import Tokenizers

/// Why generation could not start or go on.
public enum GenerationError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidParameter(String)
    case emptyPrompt
    case contextOverflow(promptTokens: Int, contextLength: Int)
    case tokenOutsideVocabulary(id: Int, vocabularySize: Int)

    public var description: String {
        switch self {
        case .invalidParameter(let message): return message
        case .emptyPrompt: return "the prompt has no tokens"
        case .contextOverflow(let prompt, let context):
            return "the prompt is \(prompt) tokens but the model's context holds \(context); shorten it"
        case .tokenOutsideVocabulary(let id, let size):
            return "token id \(id) is outside the model's vocabulary of \(size) (does tokenizer.json belong to this model?)"
        }
    }
}

/// One generated token, with its log-probability and the most likely alternatives when asked.
public struct GeneratedToken: Sendable, Equatable {
    public let id: Int
    /// log P(token) under the model (before temperature and filtering).
    public let logprob: Float
    /// The `topLogprobs` most likely tokens at this step, most likely first.
    public let topLogprobs: [(id: Int, logprob: Float)]

    public static func == (a: GeneratedToken, b: GeneratedToken) -> Bool {
        a.id == b.id && a.logprob == b.logprob && a.topLogprobs.map(\.id) == b.topLogprobs.map(\.id)
            && a.topLogprobs.map(\.logprob) == b.topLogprobs.map(\.logprob)
    }
}

/// Why generation ended.
public enum FinishReason: String, Sendable {
    /// An end-of-sequence token or a stop string.
    case stop
    /// max_new_tokens reached.
    case length
    /// The model's context is full.
    case contextFull = "context_full"
}

/// What a run delivers, in order: each token as it is chosen, the output text in pieces of
/// whole characters (stop strings left out), and at the end why it stopped.
public enum GenerationEvent: Sendable {
    case token(GeneratedToken)
    case text(String)
    case finished(FinishReason)
}

/// Generates text from a prompt with a causal language model.
public struct Generator: Sendable {
    public let model: any CausalLanguageModel
    public let tokenizer: Tokenizer
    /// Ids that end generation (from generation_config.json / tokenizer_config.json).
    public let endOfSequence: Set<Int>

    public init(model: any CausalLanguageModel, tokenizer: Tokenizer, endOfSequence: [Int]) {
        self.model = model
        self.tokenizer = tokenizer
        self.endOfSequence = Set(endOfSequence)
    }

    /// Runs generation to the end, calling `onEvent` as it goes; returns why it stopped.
    /// `prefill`, when given, runs the prompt instead of the plain token lookup (to put image
    /// embeddings in it) and returns the logits after it.
    @discardableResult
    public func generate(prompt: [Int], parameters: GenerationParameters,
                         prefill: ((inout KVCache) throws -> [Float])? = nil,
                         onEvent: (GenerationEvent) throws -> Void) throws -> FinishReason {
        var cache = model.makeCache()
        return try generate(prompt: prompt, parameters: parameters, cache: &cache, prefill: prefill, onEvent: onEvent).finish
    }

    /// The same, with a cache the caller keeps: `prefill` must bring `cache` to the end of
    /// `prompt` (reusing what it already holds, say) and return the logits. On return the cache
    /// holds the prompt and every generated token but the last, which is returned too.
    public func generate(prompt: [Int], parameters: GenerationParameters, cache: inout KVCache,
                         prefill: ((inout KVCache) throws -> [Float])?,
                         onEvent: (GenerationEvent) throws -> Void) throws -> (finish: FinishReason, generated: [Int]) {
        try check(prompt: prompt, parameters: parameters)
        var logits = try prefill?(&cache) ?? model.logits(after: prompt, cache: &cache)
        var sampler = Sampler(parameters: parameters)
        var history = prompt
        var output = OutputText(stopStrings: parameters.stopStrings, tokenizer: tokenizer)

        var reason = FinishReason.length
        for step in 0..<parameters.maxNewTokens {
            let id = sampler.choose(logits, history: history)
            history.append(id)
            try onEvent(.token(describe(id, logits: logits, top: parameters.topLogprobs)))
            if endOfSequence.contains(id) {
                reason = .stop
                break
            }
            let (piece, stopped) = output.append(id)
            if !piece.isEmpty { try onEvent(.text(piece)) }
            if stopped {
                reason = .stop
                break
            }
            if step == parameters.maxNewTokens - 1 { break }
            guard cache.count < cache.capacity else {
                reason = .contextFull
                break
            }
            logits = model.logits(after: [id], cache: &cache)
        }
        let rest = output.finish()
        if !rest.isEmpty { try onEvent(.text(rest)) }
        try onEvent(.finished(reason))
        return (reason, Array(history.dropFirst(prompt.count)))
    }

    /// What must hold before any work is done: valid parameters, a prompt that fits the context
    /// and only ids the model knows.
    public func check(prompt: [Int], parameters: GenerationParameters) throws(GenerationError) {
        try parameters.validate()
        guard !prompt.isEmpty else { throw GenerationError.emptyPrompt }
        guard prompt.count < model.contextLength else {
            throw GenerationError.contextOverflow(promptTokens: prompt.count, contextLength: model.contextLength)
        }
        if let bad = prompt.first(where: { $0 < 0 || $0 >= model.vocabularySize }) {
            throw GenerationError.tokenOutsideVocabulary(id: bad, vocabularySize: model.vocabularySize)
        }
    }

    /// The text, tokens and finish reason of a whole run.
    public func complete(prompt: [Int], parameters: GenerationParameters) throws -> (text: String, tokens: [GeneratedToken], finish: FinishReason) {
        var text = "", tokens: [GeneratedToken] = []
        let finish = try generate(prompt: prompt, parameters: parameters) { event in
            switch event {
            case .token(let token): tokens.append(token)
            case .text(let piece): text += piece
            case .finished: break
            }
        }
        return (text, tokens, finish)
    }

    /// The same run as an `AsyncSequence` of events, computed on a background task that stops
    /// when the consumer does.
    public func stream(prompt: [Int], parameters: GenerationParameters) -> AsyncThrowingStream<GenerationEvent, Error> {
        eventStream { [self] onEvent in
            try generate(prompt: prompt, parameters: parameters, onEvent: onEvent)
        }
    }

    private func describe(_ id: Int, logits: [Float], top: Int?) -> GeneratedToken {
        let logprobs = Kernels.logSoftmax(logits)
        var alternatives: [(id: Int, logprob: Float)] = []
        if let top, top > 0 {
            alternatives = logprobs.indices.sorted { logprobs[$0] != logprobs[$1] ? logprobs[$0] > logprobs[$1] : $0 < $1 }
                .prefix(top).map { ($0, logprobs[$0]) }
        }
        return GeneratedToken(id: id, logprob: logprobs[id], topLogprobs: alternatives)
    }
}

/// The output text as tokens arrive: decoded incrementally (whole characters only), with the
/// last few characters held back while they could still be the start of a stop string.
struct OutputText {
    let stopStrings: [String]
    private var decoder: DecodeStream
    private var pending = ""  // decoded but not yet handed out

    init(stopStrings: [String], tokenizer: Tokenizer) {
        self.stopStrings = stopStrings.filter { !$0.isEmpty }
        decoder = DecodeStream(tokenizer: tokenizer, skipSpecialTokens: true)
    }

    /// Adds a token; returns the text that is now final, and whether a stop string was reached
    /// (the text then ends just before it).
    mutating func append(_ id: Int) -> (String, stopped: Bool) {
        pending += decoder.step(id) ?? ""
        if let stop = stopStrings.compactMap({ pending.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
            let before = String(pending[..<stop.lowerBound])
            pending = ""
            return (before, true)
        }
        // Keep the longest suffix of `pending` that is a prefix of some stop string.
        var keep = 0
        for stop in stopStrings {
            for length in stride(from: min(stop.count, pending.count), to: 0, by: -1)
            where length > keep && pending.hasSuffix(stop.prefix(length)) {
                keep = length
                break
            }
        }
        let ready = String(pending.dropLast(keep))
        pending = String(pending.suffix(keep))
        return (ready, false)
    }

    /// What was held back, when generation ends without a stop string.
    mutating func finish() -> String {
        defer { pending = "" }
        return pending
    }
}

/// Runs `produce` on a thread of its own and delivers the events it emits as an
/// `AsyncThrowingStream`; when the consumer stops listening, `produce` stops at its next event.
///
/// A thread, not a task: generating keeps a core busy for seconds, and on Swift's cooperative
/// pool (one thread per core) that would starve every other task of the program, such as an
/// HTTP server's request handling, for as long.
func eventStream(_ produce: @escaping @Sendable ((GenerationEvent) throws -> Void) throws -> Void)
    -> AsyncThrowingStream<GenerationEvent, Error> {
    AsyncThrowingStream { continuation in
        let cancelled = CancellationFlag()
        continuation.onTermination = { _ in cancelled.set() }
        Thread {
            do {
                try produce { event in
                    if cancelled.isSet { throw CancellationError() }
                    continuation.yield(event)
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }.start()
    }
}

/// Set once from any thread, read from another.
final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
