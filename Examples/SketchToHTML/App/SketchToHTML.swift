import ArgumentParser
import ChatTemplates
import Foundation
import HTMLPage
import Hub
import ImageCodec
import ModelRegistry
import Runtime

/// `sketch-to-html SKETCH.png`: a photo or scan of a hand-drawn page layout in, an HTML page out.
@main
struct SketchToHTML: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sketch-to-html",
        abstract: "Turn a hand-drawn page layout (photo or scan) into a self-contained HTML page.")

    @Option(name: .long, help: "A model folder, 'builtin', or Hub id ORG/NAME (default: \(ModelRegistry.defaultModelID) if downloaded, else builtin).")
    var model: String?

    @Option(name: .long, help: "Where to write the page.")
    var output = "page.html"

    @Option(name: .long, help: "Also render the page to this PNG with headless Chromium.")
    var screenshot: String?

    @Flag(name: .long, help: "Replace --output and --screenshot files that exist.")
    var overwrite = false

    @Option(name: .long, help: "The instruction sent with the sketch.")
    var prompt = "Turn this sketch into HTML."

    @Option(name: .customLong("max-tokens"), help: "Most tokens the answer may have.")
    var maxTokens = 1024

    @Argument(help: "The sketch: a PNG or JPEG photo or scan.")
    var sketch: String

    func run() async throws {
        // Refuse early what would be refused at the end, before minutes of model work.
        let outputURL = URL(fileURLWithPath: output), screenshotURL = screenshot.map { URL(fileURLWithPath: $0) }
        for url in [outputURL] + (screenshotURL.map { [$0] } ?? []) where !overwrite && FileManager.default.fileExists(atPath: url.path) {
            throw HTMLPage.Failure.exists(path: url.path)
        }
        let image = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: sketch))
        let choice = try await ModelChoice.resolve(model, client: HubClient())
        if let note = choice.note { FileHandle.standardError.write(Data((note + "\n").utf8)) }
        let vlm = try VisionLanguageModel(folder: choice.folder)
        var answer = ""
        try vlm.generate(try vlm.prepare(messages: [.user([.image, .text(prompt)])], images: [image]),
                         parameters: GenerationParameters(maxNewTokens: maxTokens)) { event in
            if case .text(let piece) = event { answer += piece }
        }
        let html = try HTMLPage.extract(from: answer)
        try HTMLPage.write(html, to: outputURL, overwrite: overwrite)
        print("wrote \(outputURL.path) (\(html.utf8.count) bytes)")
        if let screenshotURL {
            guard let chromium = Screenshot.findChromium() else { throw Screenshot.Failure.noChromium }
            try Screenshot.render(outputURL, to: screenshotURL, chromium: chromium)
            print("wrote \(screenshotURL.path)")
        }
    }
}
