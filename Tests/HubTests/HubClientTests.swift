import Checksums
import Foundation
@testable import Hub
import Testing
import TestSupport

/// `HubClient` against a Hub on loopback serving the tiny SmolVLM fixture.
@Suite(.serialized) struct HubClientTests {
    let hub: FakeHub
    let cacheRoot = FileManager.default.temporaryDirectory.appendingPathComponent("hub-tests-\(UUID())")
    let repository = try! HubRepository(parsing: "fixtures/tiny-smolvlm")

    init() async throws {
        hub = try FakeHub(repository: "fixtures/tiny-smolvlm", folder: Fixtures.url("smolvlm/idefics3-f32"))
        try await hub.start()
    }

    func client(token: String? = nil, offline: Bool = false) -> HubClient {
        HubClient(settings: HubSettings(endpoint: hub.endpoint, cacheDirectory: cacheRoot, token: token, offline: offline))
    }

    func cleanUp() {
        hub.stop()
        try? FileManager.default.removeItem(at: cacheRoot)
    }

    @Test func downloadsIntoHuggingFaceHubLayoutThenServesFromCacheWithoutRequests() async throws {
        defer { cleanUp() }
        let folder = try await client().model(repository)
        let repoFolder = cacheRoot.appendingPathComponent("models--fixtures--tiny-smolvlm")
        #expect(folder.path == repoFolder.appendingPathComponent("snapshots/\(hub.commit)").path)
        #expect(try String(contentsOf: repoFolder.appendingPathComponent("refs/main"), encoding: .utf8) == hub.commit)
        for file in hub.files where RuntimeFiles.isNeeded(file.path) {
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: folder.appendingPathComponent(file.path).path)
            #expect(link == "../../blobs/\(file.etag)", "\(file.path)")
            #expect([UInt8](try Data(contentsOf: folder.appendingPathComponent(file.path))) == file.bytes, "\(file.path)")
        }
        // Only what the runtime reads: no sub-folders, no .bin duplicates.
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("pytorch_model.bin").path))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("onnx").path))
        #expect(!hub.requests.contains { $0.path.contains("pytorch_model.bin") || $0.path.contains("onnx") })
        // LFS files came from the CDN through the redirect, the listing was paged.
        #expect(hub.requests.contains { $0.path.hasPrefix("/cdn/") })
        #expect(hub.requests.contains { $0.path.contains("cursor=") })

        hub.clearLog()
        #expect(try await client().model(repository) == folder)
        #expect(hub.requests.isEmpty, "a complete cached snapshot is used without asking the Hub")
        #expect(try await client(offline: true).pull(repository) == folder)
        #expect(hub.requests.isEmpty)

        // `pull` asks for the current commit but downloads nothing it has.
        #expect(try await client().pull(repository) == folder)
        #expect(!hub.requests.contains { $0.path.contains("/resolve/") || $0.path.hasPrefix("/cdn/") })
    }

    @Test func resumesAnInterruptedDownloadWithARangeRequest() async throws {
        defer { cleanUp() }
        hub.cutOffNextDownload = true
        await #expect(throws: (any Error).self) { try await client().model(repository) }
        let weights = hub.files.first { $0.path == "model.safetensors" }!
        let partial = cacheRoot.appendingPathComponent("models--fixtures--tiny-smolvlm/blobs/\(weights.etag).incomplete")
        let kept = try FileManager.default.attributesOfItem(atPath: partial.path)[.size] as! NSNumber
        #expect(kept.intValue > 0 && kept.intValue < weights.bytes.count, "half of the file stays on disk")

        hub.clearLog()
        let folder = try await client().model(repository)
        #expect(hub.requests.contains { $0.path.hasPrefix("/cdn/") && $0.range == "bytes=\(kept.intValue)-" })
        #expect([UInt8](try Data(contentsOf: folder.appendingPathComponent("model.safetensors"))) == weights.bytes)
        #expect(!FileManager.default.fileExists(atPath: partial.path))
    }

    @Test func rejectsACorruptedBlobByItsHash() async throws {
        defer { cleanUp() }
        hub.corruptDownloads = true
        let weights = hub.files.first { $0.path == "model.safetensors" }!
        do {
            _ = try await client().model(repository)
            Issue.record("a corrupted download was accepted")
        } catch let error as HubError {
            guard case .checksumMismatch(let file, let expected, _) = error else { throw error }
            #expect(file == "fixtures/tiny-smolvlm/model.safetensors")
            #expect(expected == weights.sha256)
            #expect(error.description.contains("Run the command again"))
        }
        let blobs = try FileManager.default.contentsOfDirectory(atPath: cacheRoot.appendingPathComponent("models--fixtures--tiny-smolvlm/blobs").path)
        #expect(!blobs.contains { $0.hasPrefix(weights.etag) }, "neither the blob nor its partial file is kept")
        #expect(client().cache.usableSnapshot(repository) == nil)

        hub.corruptDownloads = false
        _ = try await client().model(repository)
    }

    @Test func unknownRepositoryAndRevision() async throws {
        defer { cleanUp() }
        await #expect(throws: HubError.unauthorized(repository: "fixtures/no-such-model", tokenSent: false)) {
            try await client().model(HubRepository(parsing: "fixtures/no-such-model"))
        }
        #expect(HubError.unauthorized(repository: "a/b", tokenSent: false).description.contains("HF_TOKEN"))
        await #expect(throws: HubError.repositoryNotFound("fixtures/no-such-model")) {
            try await client(token: "hf_valid").model(HubRepository(parsing: "fixtures/no-such-model"))
        }
        await #expect(throws: HubError.revisionNotFound(repository: repository.id, revision: "v9")) {
            try await client().model(HubRepository(parsing: "fixtures/tiny-smolvlm@v9"))
        }
    }

    @Test func privateRepositoryNeedsTheTokenWhichNeverReachesTheCDN() async throws {
        defer { cleanUp() }
        hub.requiredToken = "hf_secret"
        await #expect(throws: HubError.unauthorized(repository: repository.id, tokenSent: false)) { try await client().model(repository) }
        await #expect(throws: HubError.unauthorized(repository: repository.id, tokenSent: true)) {
            try await client(token: "hf_wrong").model(repository)
        }
        hub.clearLog()
        _ = try await client(token: "hf_secret").model(repository)
        #expect(hub.requests.filter { !$0.path.hasPrefix("/cdn/") }.allSatisfy { $0.authorization == "Bearer hf_secret" })
        let cdn = hub.requests.filter { $0.path.hasPrefix("/cdn/") }
        #expect(!cdn.isEmpty && cdn.allSatisfy { $0.authorization == nil }, "the token stays with the Hub's host")
    }

    @Test func offlineWithoutACachedCopyAndAnUnreachableHubSayWhatToDo() async throws {
        defer { cleanUp() }
        await #expect(throws: HubError.offlineNotCached(repository, cache: cacheRoot.path)) { try await client(offline: true).model(repository) }
        let closed = HubClient(settings: HubSettings(endpoint: URL(string: "http://127.0.0.1:9")!, cacheDirectory: cacheRoot))
        do {
            _ = try await closed.model(repository)
            Issue.record("no error from a closed port")
        } catch let error as HubError {
            guard case .unreachable = error else { throw error }
            #expect(error.description.contains("HF_HUB_OFFLINE=1"))
        }
    }

    @Test func refusesADownloadLargerThanTheFreeSpaceBeforeFetchingAnything() async throws {
        defer { cleanUp() }
        hub.hugeSizes = true
        do {
            _ = try await client().model(repository)
            Issue.record("a petabyte download was started")
        } catch let error as HubError {
            guard case .insufficientSpace = error else { throw error }
        }
        #expect(!hub.requests.contains { $0.path.hasPrefix("/cdn/") || $0.path.contains("/resolve/") })
    }
}

@Suite struct HubSettingsTests {
    @Test func readsTheSameVariablesAsHuggingFaceHub() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hf-home-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("hf_from_file\n".utf8).write(to: folder.appendingPathComponent("token"))

        let defaults = HubSettings.fromEnvironment(["HOME": "/home/u"])
        #expect(defaults.cacheDirectory.path == "/home/u/.cache/huggingface/hub")
        #expect(defaults.endpoint.absoluteString == "https://huggingface.co")
        #expect(defaults.offline == false)
        #expect(HubSettings.fromEnvironment(["HOME": "/home/u", "XDG_CACHE_HOME": "/x"]).cacheDirectory.path == "/x/huggingface/hub")

        let home = HubSettings.fromEnvironment(["HF_HOME": folder.path, "HF_ENDPOINT": "http://mirror.local:8080/", "HF_HUB_OFFLINE": "yes"])
        #expect(home.cacheDirectory.path == folder.appendingPathComponent("hub").path)
        #expect(home.token == "hf_from_file")
        #expect(home.endpoint.absoluteString == "http://mirror.local:8080")
        #expect(home.offline)

        let explicit = HubSettings.fromEnvironment(["HF_HOME": folder.path, "HF_HUB_CACHE": "/c", "HF_TOKEN": "hf_env", "HF_HUB_OFFLINE": "0"])
        #expect(explicit.cacheDirectory.path == "/c")
        #expect(explicit.token == "hf_env")
        #expect(!explicit.offline)
    }

    @Test func parsesModelReferences() throws {
        let plain = try HubRepository(parsing: "HuggingFaceTB/SmolVLM-256M-Instruct")
        #expect(plain.id == "HuggingFaceTB/SmolVLM-256M-Instruct" && plain.revision == "main")
        let pinned = try HubRepository(parsing: "org/name@0123456789abcdef0123456789abcdef01234567")
        #expect(pinned.revisionIsCommit)
        #expect(try HubRepository(parsing: "org/name@refs/pr/1").revision == "refs/pr/1")
        for bad in ["name", "a/b/c", "org/na me", "org/..", "org--x/name", "/name", "org/name@", "org/name@../x"] {
            #expect(throws: HubError.self, "\(bad)") { try HubRepository(parsing: bad) }
        }
    }
}
