import ArgumentParser
import Foundation
import Runtime

/// `vqa IMAGE... "QUESTION"`: the answer, streamed as it is generated.
struct Ask: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Ask a question about images (the default command: vqa --model DIR IMAGE... \"QUESTION\").")

    @OptionGroup var conversation: ConversationOptions

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

    @Flag(name: .long, help: "Print one JSON object with the text, tokens, usage and timings instead of streaming.")
    var json = false

    @Option(name: .long, help: "With --json: the log-probabilities of this many alternatives per token.")
    var logprobs: Int?

    @Flag(name: .long, help: "Print a timing line to standard error.")
    var verbose = false

    @Flag(name: .customLong("ignore-eos"), help: "Keep going past end-of-sequence tokens (for benchmarks).")
    var ignoreEOS = false

    func run() async throws {
        let started = Date()
        let model = try VisionLanguageModel(folder: conversation.modelFolder)
        let loaded = Date()
        let (messages, images) = try conversation.conversation()
        let prompt = try model.prepare(messages: messages, images: images, imageSplitting: conversation.noImageSplitting ? false : nil)
        let prepared = Date()
        let parameters = GenerationParameters(maxNewTokens: maxTokens, temperature: temperature, topK: topK, topP: topP, minP: minP,
                                              repetitionPenalty: repetitionPenalty, seed: seed, stopStrings: stop,
                                              topLogprobs: json ? logprobs : nil)
        var text = ""
        var tokens: [[String: Any]] = []
        let report = try model.generate(prompt, parameters: parameters, ignoringEndOfSequence: ignoreEOS) { event in
            switch event {
            case .token(let token) where json:
                var entry: [String: Any] = ["id": token.id, "token": model.tokenizer.token(for: token.id) ?? "", "logprob": token.logprob]
                entry["top_logprobs"] = token.topLogprobs.map { ["id": $0.id, "token": model.tokenizer.token(for: $0.id) ?? "", "logprob": $0.logprob] }
                tokens.append(entry)
            case .text(let piece):
                text += piece
                if !json { FileHandle.standardOutput.write(Data(piece.utf8)) }
            case .finished where !json:
                print()
            default:
                break
            }
        }
        let timings: [String: Double] = [
            "load_seconds": loaded.timeIntervalSince(started),
            "preprocess_seconds": prepared.timeIntervalSince(loaded),
            "vision_seconds": report.visionSeconds,
            "prefill_seconds": report.prefillSeconds,
            "decode_tokens_per_second": report.decodeTokensPerSecond,
        ]
        if json {
            let object: [String: Any] = [
                "text": text, "tokens": tokens, "finish_reason": report.finish.rawValue,
                "usage": ["prompt_tokens": report.promptTokens, "completion_tokens": report.completionTokens],
                "timings": timings,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        }
        if verbose {
            let frames = prompt.pixelValues?.shape.first ?? 0
            let line = String(format: "decode+preprocess %.2f s; vision %.2f s (%d frames, %.3f s/frame); prefill %d tokens %.2f s (%.0f tok/s); %d tokens at %.1f tok/s; %@\n",
                              timings["preprocess_seconds"]!, report.visionSeconds, frames, frames > 0 ? report.visionSeconds / Double(frames) : 0,
                              report.promptTokens, report.prefillSeconds, Double(report.promptTokens) / max(report.prefillSeconds, 1e-9),
                              report.completionTokens, report.decodeTokensPerSecond, report.finish.rawValue)
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
}

/// `vqa prompt`: the rendered prompt (and ids) a question becomes, without running the model.
struct Prompt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the prompt the chat template renders for a conversation, and with --ids its token ids after image expansion.")

    @OptionGroup var conversation: ConversationOptions

    @Flag(name: .long, help: "Also print the token ids, with each image expanded into its tile tokens.")
    var ids = false

    func run() async throws {
        let model = try VisionLanguageModel(folder: conversation.modelFolder)
        let (messages, images) = try conversation.conversation()
        let prompt = try model.prepare(messages: messages, images: images, imageSplitting: conversation.noImageSplitting ? false : nil)
        print(prompt.renderedText)
        if ids {
            print(prompt.ids.map(String.init).joined(separator: " "))
        }
    }
}
