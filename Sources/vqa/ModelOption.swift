import ArgumentParser
import Foundation
import Hub
import ModelRegistry

/// `--model` and `--offline`: a model folder, `builtin`, or a Hub id `ORG/NAME[@REVISION]` taken
/// from the cache (with no network request) or downloaded on first use. When `--model` is
/// omitted: the registry's default Hub model if it is cached, else the built-in model.
struct ModelOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A model folder, 'builtin', or a HuggingFace Hub id ORG/NAME[@REVISION], downloaded on first use (default: \(ModelRegistry.defaultModelID) if downloaded, else builtin).",
        valueName: "folder-or-id"), completion: .directory)
    var model: String?

    @Flag(name: .long, help: "Make no network request (as HF_HUB_OFFLINE=1): only cached Hub models, folders and the built-in model.")
    var offline = false

    /// The chosen model; says on standard error when it was chosen for the user.
    func choice() async throws -> ModelChoice {
        try await chooseModel(model, offline: offline)
    }

    func folder() async throws -> URL {
        try await choice().folder
    }
}

/// The model for a `--model` value (see `ModelChoice.resolve`), downloading with a progress
/// display on standard error.
func chooseModel(_ argument: String?, offline: Bool = false) async throws -> ModelChoice {
    var settings = HubSettings.fromEnvironment()
    if offline { settings.offline = true }
    let choice = try await ModelChoice.resolve(argument, client: HubClient(settings: settings, progress: DownloadDisplay.standardError.show))
    if let text = choice.note { note(text) }
    return choice
}

/// A line on standard error for the person at the terminal.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
