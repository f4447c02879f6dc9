import ArgumentParser
import Foundation
import Hub
import ModelRegistry

/// `--model`: a model folder, or a Hub id `ORG/NAME[@REVISION]` taken from the cache (with no
/// network request) or downloaded on first use; when omitted, the registry's default model.
struct ModelOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A model folder, or a HuggingFace Hub id ORG/NAME[@REVISION], downloaded on first use (default: \(ModelRegistry.defaultModelID)).",
        valueName: "folder-or-id"), completion: .directory)
    var model: String?

    func folder() async throws -> URL {
        try await modelFolder(for: model)
    }

    /// The Hub id the option names (the default model's when omitted); nil for a folder.
    var hubID: String? {
        guard let model else { return ModelRegistry.defaultModelID }
        guard case .hub(let repository)? = try? ModelReference(parsing: model) else { return nil }
        return repository.id
    }
}

/// The model folder for a `--model` value. A path that exists (or starts with / or .) is a
/// folder; anything else must be a Hub id. No value means the registry's default model.
func modelFolder(for argument: String?) async throws -> URL {
    guard let argument else {
        return try await hubSnapshot(HubRepository(parsing: ModelRegistry.defaultModelID), isDefault: true)
    }
    let reference: ModelReference
    do { reference = try ModelReference(parsing: argument) } catch { throw CommandError("--model \(error)") }
    switch reference {
    case .folder(let url): return url
    case .hub(let repository): return try await hubSnapshot(repository, isDefault: false)
    }
}

private func hubSnapshot(_ repository: HubRepository, isDefault: Bool) async throws -> URL {
    let client = HubClient(progress: DownloadDisplay.standardError.show)
    if let cached = client.cache.usableSnapshot(repository) { return cached }
    if isDefault && !client.settings.offline {
        note("No --model given: using \(repository), downloading it once into \(client.cache.root.path).")
    }
    return try await client.model(repository)
}

/// A line on standard error for the person at the terminal.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
