import Foundation

/// The on-disk cache in `huggingface_hub`'s layout, so that a model downloaded by Python is found
/// here and the other way round:
///
///     <root>/models--ORG--NAME/blobs/<etag>                 file contents, named by ETag (SHA-256 for LFS files)
///     <root>/models--ORG--NAME/snapshots/<commit>/<path>    relative symlinks into blobs/
///     <root>/models--ORG--NAME/refs/<revision>              the commit a branch or tag pointed to
///     <root>/.locks/models--ORG--NAME/<etag>.lock           held while a blob is written
public struct HubCache: Sendable {
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    public func repositoryFolder(_ id: String) -> URL {
        root.appendingPathComponent("models--" + id.replacingOccurrences(of: "/", with: "--"))
    }

    func blob(_ id: String, etag: String) -> URL {
        repositoryFolder(id).appendingPathComponent("blobs").appendingPathComponent(etag)
    }

    func snapshotFolder(_ id: String, commit: String) -> URL {
        repositoryFolder(id).appendingPathComponent("snapshots").appendingPathComponent(commit)
    }

    func lockFile(_ id: String, etag: String) -> URL {
        root.appendingPathComponent(".locks").appendingPathComponent(repositoryFolder(id).lastPathComponent)
            .appendingPathComponent(etag + ".lock")
    }

    /// The commit a revision resolves to without asking the Hub: the revision itself when it is a
    /// commit hash, otherwise what `refs/<revision>` recorded at the last download.
    public func cachedCommit(_ repository: HubRepository) -> String? {
        if repository.revisionIsCommit { return repository.revision }
        let ref = repositoryFolder(repository.id).appendingPathComponent("refs").appendingPathComponent(repository.revision)
        guard let text = try? String(contentsOf: ref, encoding: .utf8) else { return nil }
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return commit.isEmpty ? nil : commit
    }

    /// The snapshot folder for `repository` if it holds everything the runtime needs; nil otherwise.
    public func usableSnapshot(_ repository: HubRepository) -> URL? {
        guard let commit = cachedCommit(repository) else { return nil }
        let folder = snapshotFolder(repository.id, commit: commit)
        return RuntimeFiles.isComplete(folder) ? folder : nil
    }

    func recordRef(_ repository: HubRepository, commit: String) throws(HubError) {
        guard !repository.revisionIsCommit else { return }
        let ref = repositoryFolder(repository.id).appendingPathComponent("refs").appendingPathComponent(repository.revision)
        do {
            try FileManager.default.createDirectory(at: ref.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(commit.utf8).write(to: ref, options: .atomic)
        } catch {
            throw HubError.filesystem(path: ref.path, reason: "cannot record the revision (\(error.localizedDescription))")
        }
    }

    /// Points `snapshots/<commit>/<path>` at the blob with a relative link, as huggingface_hub does
    /// (the cache keeps working when it is moved).
    func linkSnapshotFile(_ id: String, commit: String, path: String, etag: String) throws(HubError) {
        let pointer = snapshotFolder(id, commit: commit).appendingPathComponent(path)
        let depth = path.split(separator: "/").count - 1
        let target = String(repeating: "../", count: depth + 2) + "blobs/" + etag
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: pointer.deletingLastPathComponent(), withIntermediateDirectories: true)
            if (try? manager.destinationOfSymbolicLink(atPath: pointer.path)) != nil || manager.fileExists(atPath: pointer.path) {
                try manager.removeItem(at: pointer)
            }
            try manager.createSymbolicLink(atPath: pointer.path, withDestinationPath: target)
        } catch {
            throw HubError.filesystem(path: pointer.path, reason: "cannot create the snapshot link (\(error.localizedDescription))")
        }
    }

    /// A model repository found in the cache.
    public struct Entry: Sendable {
        public let id: String
        /// Revision names (from refs/) and the commits they point to.
        public let refs: [String: String]
        /// Commits whose snapshot holds everything the runtime needs.
        public let usableCommits: [String]
        /// Bytes of all blobs of the repository.
        public let bytes: Int64
    }

    /// Every model repository in the cache, sorted by id.
    public func entries() -> [Entry] {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: root.path) else { return [] }
        return names.filter { $0.hasPrefix("models--") }.sorted().compactMap { name in
            let parts = name.dropFirst("models--".count).components(separatedBy: "--")
            guard parts.count == 2 else { return nil }
            let folder = root.appendingPathComponent(name)
            var refs: [String: String] = [:]
            let refsFolder = folder.appendingPathComponent("refs")
            if let enumerator = manager.enumerator(atPath: refsFolder.path) {
                for case let ref as String in enumerator {
                    if let text = try? String(contentsOf: refsFolder.appendingPathComponent(ref), encoding: .utf8) {
                        refs[ref] = text.trimmingCharacters(in: .whitespacesAndNewlines)
                    }
                }
            }
            let snapshots = (try? manager.contentsOfDirectory(atPath: folder.appendingPathComponent("snapshots").path)) ?? []
            let usable = snapshots.sorted().filter { RuntimeFiles.isComplete(folder.appendingPathComponent("snapshots").appendingPathComponent($0)) }
            var bytes: Int64 = 0
            let blobs = folder.appendingPathComponent("blobs")
            for blob in (try? manager.contentsOfDirectory(atPath: blobs.path)) ?? [] {
                let size = (try? manager.attributesOfItem(atPath: blobs.appendingPathComponent(blob).path))?[.size] as? NSNumber
                bytes += size?.int64Value ?? 0
            }
            return Entry(id: parts.joined(separator: "/"), refs: refs, usableCommits: usable, bytes: bytes)
        }
    }
}

/// Which files of a model repository the runtime reads, and whether a folder has them all.
public enum RuntimeFiles {
    /// Top-level safetensors weights, JSON configs (model, generation, tokenizer, processor, chat
    /// template) and Jinja chat templates. Not the `.bin`, `.onnx`, `.gguf`, `.msgpack` or `.h5`
    /// copies of the same weights, nor sub-folders (SmolVLM's `onnx/` alone is gigabytes).
    public static func isNeeded(_ path: String) -> Bool {
        guard !path.contains("/") else { return false }
        return path.hasSuffix(".safetensors") || path.hasSuffix(".json") || path.hasSuffix(".jinja")
    }

    /// A folder is complete when it has `config.json`, `tokenizer.json` and its weights: a single
    /// `model.safetensors`, or an index whose every shard is present.
    public static func isComplete(_ folder: URL) -> Bool {
        let manager = FileManager.default
        func has(_ name: String) -> Bool { manager.fileExists(atPath: folder.appendingPathComponent(name).path) }
        guard has("config.json"), has("tokenizer.json") else { return false }
        if has("model.safetensors") { return true }
        guard let data = try? Data(contentsOf: folder.appendingPathComponent("model.safetensors.index.json")),
              let index = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let map = index["weight_map"] as? [String: String], !map.isEmpty else { return false }
        return Set(map.values).allSatisfy { !$0.contains("/") && has($0) }
    }
}
