import Foundation
import Testing
import TestSupport

/// `vqa pull`, `vqa models` and `vqa --model ORG/NAME` as a user runs them, against a Hub on loopback.
@Suite(.serialized) struct PullCommandTests {
    let hub: FakeHub
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("hf-home-\(UUID())")

    init() async throws {
        hub = try FakeHub(repository: "fixtures/tiny-smolvlm", folder: Fixtures.url("smolvlm/idefics3-f32"))
        try await hub.start()
    }

    var environment: [String: String] {
        ["HF_HOME": home.path, "HF_ENDPOINT": hub.endpoint.absoluteString, "HF_HUB_CACHE": "", "HF_TOKEN": "", "HF_HUB_OFFLINE": ""]
    }

    @Test func pullThenAskFromTheCacheOfflineThenList() async throws {
        defer {
            hub.stop()
            try? FileManager.default.removeItem(at: home)
        }
        let pull = try await VQAProcess.running(["pull", "fixtures/tiny-smolvlm"], environment: environment)
        #expect(pull.status == 0, "\(pull.stderr)")
        let snapshot = home.appendingPathComponent("hub/models--fixtures--tiny-smolvlm/snapshots/\(hub.commit)").path
        #expect(pull.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == snapshot)
        #expect(pull.stderr.contains("model.safetensors"), "plain progress lines off a terminal: \(pull.stderr)")
        #expect(!pull.stderr.contains("\r"))

        hub.clearLog()
        var offline = environment
        offline["HF_HUB_OFFLINE"] = "1"
        let ask = try await VQAProcess.running(["--model", "fixtures/tiny-smolvlm", "--max-tokens", "3", "Assets/chart.png", "What is this?"],
                                               environment: offline)
        #expect(ask.status == 0, "\(ask.stderr)")
        let local = try await VQAProcess.running(["--model", "Tests/Fixtures/smolvlm/idefics3-f32", "--max-tokens", "3", "Assets/chart.png", "What is this?"])
        #expect(ask.stdout == local.stdout, "the downloaded copy answers as the fixture folder does")
        #expect(hub.requests.isEmpty)

        let models = try await VQAProcess.running(["models"], environment: environment)
        #expect(models.status == 0)
        #expect(models.stdout.contains("HuggingFaceTB/SmolVLM-256M-Instruct"))
        #expect(models.stdout.contains("fixtures/tiny-smolvlm  cached"))
    }

    /// `vqa pull` with no id fetches the registry's default model, which from then on answers
    /// when no --model is given (instead of the built-in model).
    @Test func pulledDefaultModelBecomesTheDefault() async throws {
        let defaultHub = try FakeHub(repository: "HuggingFaceTB/SmolVLM-256M-Instruct", folder: Fixtures.url("smolvlm/idefics3-f32"))
        try await defaultHub.start()
        defer {
            hub.stop()
            defaultHub.stop()
            try? FileManager.default.removeItem(at: home)
        }
        var environment = environment
        environment["HF_ENDPOINT"] = defaultHub.endpoint.absoluteString
        let pull = try await VQAProcess.running(["pull"], environment: environment)
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(pull.stdout.contains("models--HuggingFaceTB--SmolVLM-256M-Instruct/snapshots/\(defaultHub.commit)"))

        let ask = try await VQAProcess.running(["--max-tokens", "3", "Assets/chart.png", "What is this?"], environment: environment)
        let local = try await VQAProcess.running(["--model", "Tests/Fixtures/smolvlm/idefics3-f32", "--max-tokens", "3", "Assets/chart.png", "What is this?"])
        #expect(ask.status == 0, "\(ask.stderr)")
        #expect(ask.stdout == local.stdout && !ask.stderr.contains("built-in"))
        let models = try await VQAProcess.running(["models"], environment: environment)
        #expect(models.stdout.contains("Default: HuggingFaceTB/SmolVLM-256M-Instruct\n"))
    }

    @Test func errorsNameTheRepositoryAndWhatToDo() async throws {
        defer {
            hub.stop()
            try? FileManager.default.removeItem(at: home)
        }
        let missing = try await VQAProcess.running(["pull", "fixtures/no-such-model"], environment: environment)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("fixtures/no-such-model") && missing.stderr.contains("HF_TOKEN"))

        let revision = try await VQAProcess.running(["pull", "fixtures/tiny-smolvlm@v9"], environment: environment)
        #expect(revision.status != 0)
        #expect(revision.stderr.contains("no revision 'v9'"))

        var offline = environment
        offline["HF_HUB_OFFLINE"] = "1"
        let notCached = try await VQAProcess.running(["--model", "fixtures/tiny-smolvlm", "Assets/chart.png", "What?"], environment: offline)
        #expect(notCached.status != 0)
        #expect(notCached.stderr.contains("HF_HUB_OFFLINE") && notCached.stderr.contains("vqa pull fixtures/tiny-smolvlm"))

        let neither = try await VQAProcess.running(["--model", "no-such-folder", "Assets/chart.png", "What?"], environment: environment)
        #expect(neither.status != 0)
        #expect(neither.stderr.contains("no such folder, and not a Hub id"))
    }
}
