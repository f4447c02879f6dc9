import ArgumentParser
import CMemoryTuning

@main
struct VQA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vqa",
        abstract: "Ask vision-language models about images, on the CPU.",
        subcommands: [Ask.self, Chat.self, Prompt.self, Caption.self, Serve.self, Pull.self, Models.self, Preprocess.self, Tokenize.self,
                      Generate.self],
        defaultSubcommand: Ask.self)

    static func main() async {
        vlm_keep_freed_memory()
        await main(nil)
    }
}
