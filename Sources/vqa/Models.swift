import ArgumentParser
import Foundation
import Hub
import ModelRegistry

/// `vqa pull ORG/NAME[@REVISION]`: download a model (or bring a cached one up to date).
struct Pull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a model from the HuggingFace Hub into the shared cache.",
        discussion: """
            Only the files the runtime reads are downloaded (safetensors weights, JSON configs, \
            tokenizer and chat template), into the cache huggingface_hub uses (HF_HUB_CACHE, else \
            HF_HOME/hub, else ~/.cache/huggingface/hub), so Python finds them too. An interrupted \
            download resumes. Honours HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE.
            """)

    @Argument(help: ArgumentHelp("The model: ORG/NAME, optionally @BRANCH, @TAG or @COMMIT.", valueName: "id"))
    var id: String = ModelRegistry.defaultModelID

    func run() async throws {
        let repository = try HubRepository(parsing: id)
        let client = HubClient(progress: DownloadDisplay.standardError.show)
        let folder = try await client.pull(repository)
        if ModelRegistry.model(repository.id) == nil {
            note("Note: \(repository.id) is not in the registry of checked models (vqa models); it loads if its family is supported.")
        }
        print(folder.path)
    }
}

/// `vqa models`: the checked models and what the cache holds.
struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the models this runtime has checked, and the models in the local cache.")

    func run() async throws {
        let cache = HubClient().cache
        let entries = Dictionary(cache.entries().map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let defaultCached = ModelChoice.cachedDefault(in: cache) != nil
        print("Default: \(defaultCached ? ModelRegistry.defaultModelID : "\(BuiltinModel.name) (\(ModelRegistry.defaultModelID) once it is downloaded)")")
        print("Built in:")
        let builtinState = (try? BuiltinModel.folder()).map { "in \($0.path)" } ?? "missing (reinstall vqa with its resources)"
        show(ModelRegistry.builtin, state: builtinState)
        print("Checked models on the Hub:")
        for model in ModelRegistry.models {
            show(model, state: entries[model.id].map { cachedText($0) } ?? "not downloaded (~\(model.downloadMegabytes) MB)")
        }
        let others = entries.values.filter { ModelRegistry.model($0.id) == nil }.sorted { $0.id < $1.id }
        if !others.isEmpty {
            print("Other models in the cache (not checked here; they load if their family is supported):")
            for entry in others { print("  \(entry.id)  \(cachedText(entry))") }
        }
        print("Cache: \(cache.root.path)")
    }

    private func show(_ model: RegisteredModel, state: String) {
        print("  \(model.id)  [\(model.family), \(model.parameters)]  \(state)")
        print("      \(model.summary)")
        print("      tip: \(model.recommendedOptions)")
        print("      checked: \(model.verification)")
    }

    private func cachedText(_ entry: HubCache.Entry) -> String {
        let size = String(format: "%.0f MB", Double(entry.bytes) / 1e6)
        guard !entry.usableCommits.isEmpty else { return "incomplete in the cache (\(size)); vqa pull \(entry.id) finishes it" }
        let revisions = entry.refs.filter { entry.usableCommits.contains($0.value) }.keys.sorted()
        return "cached, \(size)" + (revisions.isEmpty ? "" : " (\(revisions.joined(separator: ", ")))")
    }
}
