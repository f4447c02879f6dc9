import Tensors

/// How the next token is chosen, with transformers' names and semantics.
public struct GenerationParameters: Sendable, Equatable {
    /// Stop after this many new tokens.
    public var maxNewTokens = 256
    /// 0 picks the most likely token (greedy); above 0 samples from softmax(logits / temperature).
    public var temperature: Float = 0
    /// Sample only among the k most likely tokens (0: no limit).
    public var topK = 0
    /// Sample only among the most likely tokens whose probabilities add up to top_p (1: no limit).
    public var topP: Float = 1
    /// Drop tokens less likely than min_p × the most likely one's probability (0: off).
    public var minP: Float = 0
    /// > 1 discourages tokens already in the prompt or the output (CTRL's penalty, as transformers).
    public var repetitionPenalty: Float = 1
    /// Seeds sampling so a run can be repeated exactly; nil draws a fresh seed.
    public var seed: UInt64?
    /// Text that ends generation; it is not included in the output.
    public var stopStrings: [String] = []
    /// Report the log-probabilities of this many alternatives per token (nil: none).
    public var topLogprobs: Int?

    public init(maxNewTokens: Int = 256, temperature: Float = 0, topK: Int = 0, topP: Float = 1, minP: Float = 0,
                repetitionPenalty: Float = 1, seed: UInt64? = nil, stopStrings: [String] = [], topLogprobs: Int? = nil) {
        self.maxNewTokens = maxNewTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.seed = seed
        self.stopStrings = stopStrings
        self.topLogprobs = topLogprobs
    }

    /// Checks the ranges transformers accepts; the message names the parameter.
    public func validate() throws(GenerationError) {
        func fail(_ message: String) -> GenerationError { .invalidParameter(message) }
        if maxNewTokens < 1 { throw fail("max_new_tokens must be at least 1") }
        if !(temperature >= 0) || !temperature.isFinite { throw fail("temperature must be ≥ 0") }
        if topK < 0 { throw fail("top_k must be ≥ 0") }
        if !(topP > 0 && topP <= 1) { throw fail("top_p must be in (0, 1]") }
        if !(minP >= 0 && minP <= 1) { throw fail("min_p must be in [0, 1]") }
        if !(repetitionPenalty > 0) || !repetitionPenalty.isFinite { throw fail("repetition_penalty must be > 0") }
        if let topLogprobs, topLogprobs < 0 { throw fail("top_logprobs must be ≥ 0") }
    }
}

/// Chooses tokens from logits: repetition penalty, then (when sampling) temperature, top-k,
/// top-p and min-p in transformers' order, then the draw.
struct Sampler {
    let parameters: GenerationParameters
    private var random: SplitMix64

    init(parameters: GenerationParameters) {
        self.parameters = parameters
        random = SplitMix64(seed: parameters.seed ?? UInt64.random(in: .min ... .max))
    }

    mutating func choose(_ logits: [Float], history: [Int]) -> Int {
        var scores = logits
        if parameters.repetitionPenalty != 1 {
            for token in Set(history) where token < scores.count {
                scores[token] = scores[token] < 0 ? scores[token] * parameters.repetitionPenalty : scores[token] / parameters.repetitionPenalty
            }
        }
        guard parameters.temperature > 0 else { return argmax(scores) }
        // Shift by the maximum before dividing: a tiny temperature then sends the others to
        // -inf (probability 0) instead of turning everything into inf and NaN.
        let maximum = scores.max() ?? 0
        for i in scores.indices { scores[i] = (scores[i] - maximum) / parameters.temperature }
        // Candidates by decreasing score; ties keep the lower id first, as a stable sort would.
        var order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        if parameters.topK > 0 && parameters.topK < order.count { order.removeLast(order.count - parameters.topK) }
        var probabilities = softmax(order.map { scores[$0] })
        if parameters.topP < 1 {
            // Keep the smallest prefix whose mass reaches top_p (at least one token).
            var cumulative: Float = 0
            var keep = 0
            while keep < probabilities.count {
                cumulative += probabilities[keep]
                keep += 1
                if cumulative >= parameters.topP { break }
            }
            order.removeLast(order.count - keep)
            probabilities = softmax(order.map { scores[$0] })
        }
        if parameters.minP > 0, let top = probabilities.first {
            let keep = max(1, probabilities.prefix { $0 >= parameters.minP * top }.count)
            order.removeLast(order.count - keep)
            probabilities = softmax(order.map { scores[$0] })
        }
        let draw = Float(random.next() >> 40) / Float(1 << 24)
        var cumulative: Float = 0
        for (index, probability) in probabilities.enumerated() {
            cumulative += probability
            if draw < cumulative { return order[index] }
        }
        // Rounding can leave the running sum just under the draw: take the most likely token.
        return order[0]
    }

    private func argmax(_ values: [Float]) -> Int {
        var best = 0
        for i in values.indices where values[i] > values[best] { best = i }
        return best
    }

    private func softmax(_ values: [Float]) -> [Float] {
        var copy = values
        copy.withUnsafeMutableBufferPointer { Kernels.softmax($0) }
        return copy
    }
}

/// A small seeded generator (SplitMix64): the same seed draws the same tokens on every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
