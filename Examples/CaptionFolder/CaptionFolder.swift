import ChatTemplates
import Foundation
import Hub
import ImageCodec
import ModelRegistry
import Runtime

/// `caption-folder MODEL FOLDER`: the batch-captioning loop through the library API, printing one
/// JSON line per image. (`vqa caption` is the full tool: resumable, sharded, with progress.)
@main
struct CaptionFolder {
    static func main() async {
        let arguments = CommandLine.arguments.dropFirst()
        guard arguments.count == 2 else {
            FileHandle.standardError.write(Data("usage: caption-folder MODEL-FOLDER|builtin|HUB-ID IMAGE-FOLDER\n".utf8))
            exit(2)
        }
        do {
            try await caption(model: arguments.first!, folder: arguments.last!)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            exit(1)
        }
    }

    static func caption(model: String, folder: String) async throws {
        // A model folder, the built-in model, or a Hub id downloaded once into the shared HuggingFace cache.
        let vlm = try VisionLanguageModel(folder: try await ModelChoice.resolve(model, client: HubClient()).folder)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        for name in names {
            let path = (folder as NSString).appendingPathComponent(name)
            var record: [String: Any] = ["path": path]
            do {
                let image = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: path))
                let prompt = try vlm.prepare(messages: [.user([.image, .text("Describe this image in one sentence.")])], images: [image])
                var caption = ""
                try vlm.generate(prompt, parameters: GenerationParameters(maxNewTokens: 64)) { event in
                    if case .text(let piece) = event { caption += piece }
                }
                record["caption"] = caption.trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                record["error"] = "\(error)"
            }
            let line = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: line, as: UTF8.self))
        }
    }
}
