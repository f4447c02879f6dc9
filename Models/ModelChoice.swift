import Foundation
import Hub

/// The small model trained by this project (`tools/train/`) and shipped in `Models/builtin/`: a
/// SmolVLM-format checkpoint that needs no download, used when no `--model` is given and the
/// default Hub model is not in the cache.
public enum BuiltinModel {
    /// What `--model` calls it.
    public static let name = "builtin"

    /// Name of the resource bundle SwiftPM builds for this target and places next to the
    /// executables (`<package>_<target>`).
    static let bundleName = "swift-vlm_ModelRegistry"

    /// The folder holding the built-in model's files.
    ///
    /// Looked up without `Bundle.module`, whose generated accessor stops the process with
    /// `fatalError` when the bundle is missing (an executable copied without its resources): first
    /// the resource bundle next to the executable (`swift build` puts it there; copy it along when
    /// installing `vqa`), then `Models/builtin` in the source tree this was built from.
    public static func folder() throws -> URL {
        let candidates = bundleCandidates() + [URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("builtin")]
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("config.json").path) {
            return candidate
        }
        throw ModelChoiceError(
            "the built-in model is missing: looked in " + candidates.map(\.path).joined(separator: ", ")
                + ". Install vqa together with its \(bundleName).resources folder, or pass --model.")
    }

    private static func bundleCandidates() -> [URL] {
        guard let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() else { return [] }
        let directory = executable.deletingLastPathComponent()
        return [
            directory.appendingPathComponent("\(bundleName).resources/builtin"),  // Linux
            directory.appendingPathComponent("\(bundleName).bundle/builtin"),  // macOS command-line builds
            directory.appendingPathComponent("\(bundleName).bundle/Contents/Resources/builtin"),
        ]
    }
}

/// A model chosen from what a person typed: the folder to load, the name to report it under,
/// and a note for standard error when the choice was made for them.
public struct ModelChoice: Sendable {
    public let folder: URL
    /// The Hub id, `builtin`, or the folder's name.
    public let name: String
    /// Set when no model was named: which one is used and why.
    public let note: String?

    /// Resolves `--model`: nil means the default (the registry's default Hub model when it is in
    /// the cache, else the built-in model; nothing is downloaded unasked); `builtin` (unless a
    /// folder of that name exists) the built-in model; an existing path a folder; anything else
    /// a Hub id `ORG/NAME[@REVISION]`, from the cache or downloaded by `client`.
    public static func resolve(_ argument: String?, client: HubClient) async throws -> ModelChoice {
        guard let argument else {
            if let cached = cachedDefault(in: client.cache) {
                return ModelChoice(folder: cached, name: ModelRegistry.defaultModelID, note: nil)
            }
            let id = ModelRegistry.defaultModelID
            return ModelChoice(
                folder: try BuiltinModel.folder(), name: BuiltinModel.name,
                note: "No --model given and \(id) is not downloaded: using the built-in model "
                    + "(6.5M parameters, trained only on synthetic charts, shapes and UI sketches; see Models/builtin/README.md). "
                    + "`vqa pull` downloads \(id), which is then the default.")
        }
        if argument == BuiltinModel.name && !FileManager.default.fileExists(atPath: argument) {
            return ModelChoice(folder: try BuiltinModel.folder(), name: BuiltinModel.name, note: nil)
        }
        let reference: ModelReference
        do { reference = try ModelReference(parsing: argument) } catch {
            throw ModelChoiceError("--model \(error)")
        }
        switch reference {
        case .folder(let url):
            return ModelChoice(folder: url, name: url.standardizedFileURL.lastPathComponent, note: nil)
        case .hub(let repository):
            return ModelChoice(folder: try await client.model(repository), name: repository.id, note: nil)
        }
    }
}

extension ModelChoice {
    /// The registry's default Hub model, when a usable snapshot of it is in `cache`: what no
    /// `--model` means, before falling back to the built-in model.
    public static func cachedDefault(in cache: HubCache) -> URL? {
        (try? HubRepository(parsing: ModelRegistry.defaultModelID)).flatMap(cache.usableSnapshot)
    }
}

public struct ModelChoiceError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
