import ArgumentParser
import Foundation
import Runtime

/// `vqa IMAGE... "QUESTION"`: the answer, streamed as it is generated.
struct Ask: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Ask a question about images (the default command: vqa [--model DIR|ORG/NAME] IMAGE... \"QUESTION\").")

    @OptionGroup var conversation: ConversationOptions

    @OptionGroup var sampling: SamplingOptions

    @Flag(name: .long, help: "Print one JSON object with the text, tokens, usage and timings instead of streaming.")
    var json = false

    @Option(name: .long, help: "With --json: the log-probabilities of this many alternatives per token.")
    var logprobs: Int?

    @Flag(name: .long, help: "Print a timing line to standard error.")
    var verbose = false

    func run() async throws {
        let folder = try await conversation.modelFolder()
        let started = Date()
        let model = try conversation.weights.loadModel(folder)
        let loaded = Date()
        let (messages, images) = try conversation.conversation()
        let prompt = try model.prepare(messages: messages, images: images, imageSplitting: conversation.detail.imageSplitting,
                                       maxTiles: conversation.detail.maxTiles)
        let prepared = Date()
        let parameters = sampling.parameters(topLogprobs: json ? logprobs : nil)
        var text = ""
        var tokens: [[String: Any]] = []
        let report = try model.generate(prompt, parameters: parameters, ignoringEndOfSequence: sampling.ignoreEOS) { event in
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
            let line = String(format: "weights %@, KV cache %@; decode+preprocess %.2f s; vision %.2f s (%d frames, %.3f s/frame); prefill %d tokens %.2f s (%.0f tok/s); %d tokens at %.1f tok/s; %@\n",
                              conversation.weights.weights.rawValue, model.model.cacheFormat.rawValue,
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
        let model = try conversation.weights.loadModel(try await conversation.modelFolder())
        let (messages, images) = try conversation.conversation()
        let prompt = try model.prepare(messages: messages, images: images, imageSplitting: conversation.detail.imageSplitting,
                                       maxTiles: conversation.detail.maxTiles)
        print(prompt.renderedText)
        if ids {
            print(prompt.ids.map(String.init).joined(separator: " "))
        }
    }
}
