import ArgumentParser
import Foundation
import ModelFamilies
import Runtime
import Tokenizers

/// `vqa generate`: text generation with a text-only causal language model (Llama family).
struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a text prompt with a Llama-family language model.",
        discussion: """
            The prompt is tokenized as is (no chat template) with the model's special tokens \
            added; the continuation is printed as it is generated.
            """)

    @Option(name: .long, help: ArgumentHelp("A Llama-family model folder (config.json, model.safetensors, tokenizer.json) or Hub id ORG/NAME[@REVISION].",
                                            valueName: "folder-or-id"), completion: .directory)
    var model: String

    @OptionGroup var weights: WeightsOption

    @Option(name: .long, help: "Read the prompt from this file instead of the argument.", completion: .file())
    var file: String?

    @OptionGroup var sampling: SamplingOptions

    @Flag(name: .long, help: "Print token counts and speeds to standard error.")
    var verbose = false

    @Argument(help: "The prompt.")
    var prompt: String?

    func validate() throws {
        if (file == nil) == (prompt == nil) { throw ValidationError("give the prompt as an argument or with --file") }
    }

    func run() async throws {
        let folder = try await chooseModel(model).folder
        let started = Date()
        let language = try LlamaForCausalLM(folder: folder, weightFormat: weights.weights, cacheFormat: weights.cache)
        let tokenizer = try Tokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json"))
        let special = try SpecialTokens.load(from: folder, tokenizer: tokenizer)
        let text = try file.map(readTextFile) ?? prompt ?? ""
        let ids = try tokenizer.encode(text)
        let generator = Generator(model: language, tokenizer: tokenizer, endOfSequence: sampling.ignoreEOS ? [] : special.eos)
        let parameters = sampling.parameters()
        let loaded = Date()
        var firstToken: Date?
        var generated = 0
        let finish = try generator.generate(prompt: ids, parameters: parameters) { event in
            switch event {
            case .token:
                if firstToken == nil { firstToken = Date() }
                generated += 1
            case .text(let piece):
                FileHandle.standardOutput.write(Data(piece.utf8))
            case .finished:
                print()
            }
        }
        if verbose, let firstToken {
            let prefill = firstToken.timeIntervalSince(loaded)
            let decode = Date().timeIntervalSince(firstToken)
            var report = String(format: "load %.2f s; prompt %d tokens in %.3f s (%.1f tok/s); ", loaded.timeIntervalSince(started),
                                ids.count, prefill, Double(ids.count) / prefill)
            report += String(format: "generated %d tokens, %.1f tok/s after the first; finish: %@\n", generated,
                             Double(max(generated - 1, 0)) / decode, finish.rawValue)
            FileHandle.standardError.write(Data(report.utf8))
        }
    }
}
