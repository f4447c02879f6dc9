import ArgumentParser
import Foundation
import ImageCodec
import Runtime

/// `vqa chat`: an interactive conversation that keeps its context (and KV cache) across turns.
struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Talk with a model about images, turn after turn.",
        discussion: """
            Type a question and press return. Commands: /image PATH attaches an image to your next \
            question, /clear starts over, /quit (or end of input) leaves.
            """)

    @OptionGroup var model: ModelOption

    @OptionGroup var weights: WeightsOption

    @Option(name: .long, help: "A system message put before the conversation.")
    var system: String?

    @OptionGroup var detail: ImageDetailOptions

    @OptionGroup var sampling: SamplingOptions

    func validate() throws {
        if sampling.ignoreEOS { throw ValidationError("--ignore-eos is for benchmarks; a chat turn ends at the end-of-sequence token") }
    }

    func run() async throws {
        let session = ChatSession(model: try weights.loadModel(try await model.folder()), systemPrompt: system,
                                  imageSplitting: detail.imageSplitting, maxTiles: detail.maxTiles)
        let parameters = sampling.parameters()
        var pending: [Image] = []
        while true {
            say("> ")
            guard let line = readLine() else { break }
            let input = line.trimmingCharacters(in: .whitespaces)
            if input.isEmpty { continue }
            if input == "/quit" { break }
            if input == "/clear" {
                session.clear()
                pending = []
                say("(conversation cleared)\n")
                continue
            }
            if input.hasPrefix("/image ") {
                let path = String(input.dropFirst(7)).trimmingCharacters(in: .whitespaces)
                do {
                    pending.append(try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: path)))
                    say("(image \(pending.count) attached: \(path))\n")
                } catch {
                    say("error: \(error)\n")
                }
                continue
            }
            if input.hasPrefix("/") {
                say("unknown command \(input); use /image PATH, /clear or /quit\n")
                continue
            }
            do {
                try session.send(input, images: pending, parameters: parameters) { event in
                    if case .text(let piece) = event { say(piece) }
                }
                say("\n")
                pending = []
            } catch {
                say("error: \(error)\n")
            }
        }
    }

    /// Unbuffered, so the prompt and streamed text show at once and stay in order.
    private func say(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
