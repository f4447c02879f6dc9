import ArgumentParser
import Runtime

/// The generation options every generating command shares, with transformers' meanings.
struct SamplingOptions: ParsableArguments {
    @Option(name: .customLong("max-tokens"), help: "Most new tokens to generate.")
    var maxTokens = 256

    @Option(name: .long, help: "0 for greedy (the default); above 0 samples.")
    var temperature: Float = 0

    @Option(name: .customLong("top-k"), help: "Sample among the k most likely tokens (0: all).")
    var topK = 0

    @Option(name: .customLong("top-p"), help: "Sample among the most likely tokens covering this probability.")
    var topP: Float = 1

    @Option(name: .customLong("min-p"), help: "Drop tokens below min-p × the top probability.")
    var minP: Float = 0

    @Option(name: .customLong("repetition-penalty"), help: "Above 1 discourages repeating tokens.")
    var repetitionPenalty: Float = 1

    @Option(name: .long, help: "Seed for sampling (the same seed repeats a run).")
    var seed: UInt64?

    @Option(name: .long, help: "Stop when this text appears (repeatable).")
    var stop: [String] = []

    @Flag(name: .customLong("ignore-eos"), help: "Keep going past end-of-sequence tokens (for benchmarks).")
    var ignoreEOS = false

    /// Ranges are checked before a model is loaded: a `caption` run with a bad value would
    /// otherwise write an error line for every image. argument-parser calls this for every
    /// command that includes these options.
    func validate() throws {
        do { try parameters().validate() } catch { throw ValidationError(error.description) }
    }

    func parameters(topLogprobs: Int? = nil) -> GenerationParameters {
        GenerationParameters(maxNewTokens: maxTokens, temperature: temperature, topK: topK, topP: topP, minP: minP,
                             repetitionPenalty: repetitionPenalty, seed: seed, stopStrings: stop, topLogprobs: topLogprobs)
    }
}
