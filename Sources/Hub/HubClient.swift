import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Checksums

/// What a download is doing, for a progress display.
public struct DownloadProgress: Sendable {
    public enum Stage: Sendable {
        /// The file was already in the cache.
        case cached
        /// Bytes are arriving (`bytes` of `total` so far, counting a resumed part).
        case downloading
        /// The file is complete and verified.
        case finished
        /// Another process holds the lock on this file and is downloading it.
        case waitingForLock
    }

    public let file: String
    public let stage: Stage
    public let bytes: Int64
    public let total: Int64
    /// 1-based position of the file among those the runtime needs, and their count.
    public let index: Int
    public let count: Int
}

/// Downloads models from the HuggingFace Hub into the shared cache, and finds them there.
///
/// It does what `huggingface_hub.snapshot_download` does, restricted to the files the runtime
/// reads: resolve the revision to a commit, list the repository's files, and for each missing one
/// read its metadata from a `HEAD` on its resolve URL (`X-Repo-Commit`, `X-Linked-Etag`/`ETag`,
/// `X-Linked-Size`, the CDN `Location`), download it to `blobs/<etag>.incomplete` — resuming a
/// partial file with a `Range` request — verify its size and, for LFS files, its SHA-256, then move
/// it into place and link it from the snapshot.
public struct HubClient: Sendable {
    public let settings: HubSettings
    public let cache: HubCache
    private let progress: (@Sendable (DownloadProgress) -> Void)?

    public init(settings: HubSettings = .fromEnvironment(), progress: (@Sendable (DownloadProgress) -> Void)? = nil) {
        self.settings = settings
        self.cache = HubCache(root: settings.cacheDirectory)
        self.progress = progress
    }

    /// The model's snapshot folder: straight from the cache, without any request, when the cache
    /// holds a complete snapshot of the revision; downloaded otherwise.
    public func model(_ repository: HubRepository) async throws -> URL {
        if let folder = cache.usableSnapshot(repository) { return folder }
        return try await pull(repository)
    }

    /// Asks the Hub which commit the revision is at now and downloads whatever of it is missing.
    public func pull(_ repository: HubRepository) async throws -> URL {
        if settings.offline {
            if let folder = cache.usableSnapshot(repository) { return folder }
            throw HubError.offlineNotCached(repository, cache: cache.root.path)
        }
        let http = HTTPSession(timeout: settings.timeout)
        defer { http.close() }
        let commit = try await resolveCommit(repository, http)
        let files = try await listFiles(repository, commit: commit, http).filter { RuntimeFiles.isNeeded($0.path) }
        guard files.contains(where: { $0.path == "config.json" }) else {
            throw HubError.notAModel(repository: repository.id, reason: "the repository has no config.json at its top level; it is not a transformers model")
        }
        guard files.contains(where: { $0.path.hasSuffix(".safetensors") }) else {
            throw HubError.notAModel(repository: repository.id, reason: "the repository has no .safetensors weights (only other formats), which this runtime cannot read")
        }
        try checkFreeSpace(for: files, repository: repository, commit: commit)
        for (offset, file) in files.enumerated() {
            try await fetch(file, of: repository, commit: commit, position: (offset + 1, files.count), http)
        }
        try cache.recordRef(repository, commit: commit)
        let folder = cache.snapshotFolder(repository.id, commit: commit)
        guard RuntimeFiles.isComplete(folder) else {
            throw HubError.notAModel(repository: repository.id, reason: "the repository lacks tokenizer.json or some of its weight shards")
        }
        return folder
    }

    // MARK: - Hub API

    struct RemoteFile: Sendable {
        let path: String
        let size: Int64
        /// The SHA-256 of an LFS file's contents, from the tree listing.
        let sha256: String?
    }

    private func resolveCommit(_ repository: HubRepository, _ http: HTTPSession) async throws -> String {
        let url = endpoint("api/models/" + repository.id, ["revision", repository.revision])
        let response = try await send(request(url), for: repository, http)
        guard let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any],
              let sha = object["sha"] as? String, sha.count == 40 else {
            throw HubError.server(url: url.absoluteString, status: response.status, message: "the answer has no commit 'sha'")
        }
        return sha
    }

    /// Every file of the commit (the tree API pages its answer with `Link: <...>; rel="next"`).
    private func listFiles(_ repository: HubRepository, commit: String, _ http: HTTPSession) async throws -> [RemoteFile] {
        var next: URL? = endpoint("api/models/" + repository.id, ["tree", commit], query: "recursive=true")
        var files: [RemoteFile] = []
        var pages = 0
        while let url = next {
            pages += 1
            guard pages <= 1000 else { throw HubError.server(url: url.absoluteString, status: 200, message: "the file listing does not end") }
            let response = try await send(request(url), for: repository, http)
            guard let entries = (try? JSONSerialization.jsonObject(with: response.body)) as? [[String: Any]] else {
                throw HubError.server(url: url.absoluteString, status: response.status, message: "the file listing is not a JSON array")
            }
            for entry in entries where entry["type"] as? String == "file" {
                guard let path = entry["path"] as? String, let size = (entry["size"] as? NSNumber)?.int64Value, size >= 0,
                      Self.isSafeRelativePath(path) else {
                    throw HubError.server(url: url.absoluteString, status: response.status, message: "a file entry lacks a valid path or size")
                }
                let lfs = entry["lfs"] as? [String: Any]
                files.append(RemoteFile(path: path, size: size, sha256: (lfs?["oid"] as? String).flatMap(Self.sha256Hex)))
            }
            next = response.header("Link").flatMap { Self.nextPage(in: $0, relativeTo: url) }
        }
        return files
    }

    /// Metadata of one file from a `HEAD` on its resolve URL, following redirects on the Hub's own
    /// host (a renamed repository) but not to the CDN, whose address is the download location.
    private struct FileMetadata {
        let etag: String
        let size: Int64?
        let location: URL
    }

    private func metadata(_ file: RemoteFile, of repository: HubRepository, commit: String, _ http: HTTPSession) async throws -> FileMetadata {
        var url = endpoint(repository.id, ["resolve", commit] + file.path.split(separator: "/").map(String.init))
        for _ in 0..<10 {
            var head = request(url)
            head.httpMethod = "HEAD"
            let response = try await send(head, for: repository, http, acceptRedirects: true)
            let location = response.header("Location").flatMap { URL(string: $0, relativeTo: url)?.absoluteURL }
            let isRedirect = (300..<400).contains(response.status)
            if isRedirect, let location, location.host == url.host, location.port == url.port,
               response.header("X-Linked-Etag") == nil, response.header("ETag") == nil {
                url = location
                continue
            }
            guard let rawEtag = response.header("X-Linked-Etag") ?? response.header("ETag") else {
                throw HubError.server(url: url.absoluteString, status: response.status, message: "no ETag header; is HF_ENDPOINT a Hub?")
            }
            if let served = response.header("X-Repo-Commit"), served != commit {
                throw HubError.server(url: url.absoluteString, status: response.status,
                                      message: "served commit \(served) while \(commit) was asked for")
            }
            let etag = Self.normalizedEtag(rawEtag)
            guard !etag.isEmpty, !etag.contains("/"), etag != ".", etag != ".." else {
                throw HubError.server(url: url.absoluteString, status: response.status, message: "unusable ETag \(rawEtag)")
            }
            let size = (response.header("X-Linked-Size") ?? (isRedirect ? nil : response.header("Content-Length"))).flatMap { Int64($0) }
            return FileMetadata(etag: etag, size: size, location: isRedirect ? (location ?? url) : url)
        }
        throw HubError.server(url: url.absoluteString, status: 310, message: "too many redirects")
    }

    // MARK: - Files

    private func fetch(_ file: RemoteFile, of repository: HubRepository, commit: String, position: (Int, Int), _ http: HTTPSession) async throws {
        let pointer = cache.snapshotFolder(repository.id, commit: commit).appendingPathComponent(file.path)
        if FileManager.default.fileExists(atPath: pointer.path) {
            report(file.path, .cached, file.size, file.size, position)
            return
        }
        let meta = try await metadata(file, of: repository, commit: commit, http)
        let expectedSize = meta.size ?? file.size
        let blob = cache.blob(repository.id, etag: meta.etag)
        let lock = try await FileLock.acquire(cache.lockFile(repository.id, etag: meta.etag)) {
            report(file.path, .waitingForLock, 0, expectedSize, position)
        }
        defer { lock.release() }
        if !FileManager.default.fileExists(atPath: blob.path) {
            try await download(file, from: meta.location, to: blob, expectedSize: expectedSize,
                               sha256: file.sha256 ?? Self.sha256Hex(meta.etag), repository: repository, position: position, http)
        }
        try cache.linkSnapshotFile(repository.id, commit: commit, path: file.path, etag: meta.etag)
        report(file.path, .finished, expectedSize, expectedSize, position)
    }

    private func download(_ file: RemoteFile, from location: URL, to blob: URL, expectedSize: Int64, sha256: String?,
                          repository: HubRepository, position: (Int, Int), _ http: HTTPSession) async throws {
        let partial = blob.appendingPathExtension("incomplete")
        let manager = FileManager.default
        let writer = try BlobWriter(partial) { done in report(file.path, .downloading, done, expectedSize, position) }
        defer { writer.close() }
        if writer.offset > expectedSize { try writer.restart() }
        if writer.offset < expectedSize {
            let resumeFrom = writer.offset
            let response = try await get(location, range: resumeFrom > 0 ? resumeFrom : nil, into: writer, repository: repository, http)
            if response.status == 416 {
                // The server cannot continue from our offset: start the file again.
                try writer.restart()
                _ = try await get(location, range: nil, into: writer, repository: repository, http)
            }
        }
        guard writer.offset == expectedSize else {
            throw HubError.sizeMismatch(file: "\(repository.id)/\(file.path)", expected: expectedSize, actual: writer.offset)
        }
        writer.close()
        if let sha256 {
            let actual = try Self.sha256(of: partial)
            guard actual == sha256 else {
                try? manager.removeItem(at: partial)
                throw HubError.checksumMismatch(file: "\(repository.id)/\(file.path)", expected: sha256, actual: actual)
            }
        }
        do { try manager.moveItem(at: partial, to: blob) } catch {
            throw HubError.filesystem(path: blob.path, reason: "cannot move the finished download into place (\(error.localizedDescription))")
        }
    }

    /// GETs `location` into `writer`, following redirects; the token goes only to the Hub's own
    /// host, never to the CDN a file redirects to.
    private func get(_ location: URL, range: Int64?, into writer: BlobWriter, repository: HubRepository,
                     _ http: HTTPSession) async throws -> HTTPSession.Response {
        var url = location
        for _ in 0..<10 {
            var get = request(url, authorized: url.host == settings.endpoint.host && url.port == settings.endpoint.port)
            if let range { get.setValue("bytes=\(range)-", forHTTPHeaderField: "Range") }
            let response = try await send(get, for: repository, http, acceptRedirects: true, allowRangeError: range != nil, consume: writer)
            if (300..<400).contains(response.status), let next = response.header("Location").flatMap({ URL(string: $0, relativeTo: url)?.absoluteURL }) {
                url = next
                continue
            }
            return response
        }
        throw HubError.server(url: location.absoluteString, status: 310, message: "too many redirects")
    }

    private func checkFreeSpace(for files: [RemoteFile], repository: HubRepository, commit: String) throws(HubError) {
        let manager = FileManager.default
        let snapshot = cache.snapshotFolder(repository.id, commit: commit)
        let needed = files.filter { !manager.fileExists(atPath: snapshot.appendingPathComponent($0.path).path) }
            .reduce(Int64(0)) { $0 + $1.size }
        do { try manager.createDirectory(at: cache.root, withIntermediateDirectories: true) } catch {
            throw HubError.filesystem(path: cache.root.path, reason: "cannot create the cache folder (\(error.localizedDescription))")
        }
        guard let free = (try? manager.attributesOfFileSystem(forPath: cache.root.path))?[.systemFreeSize] as? NSNumber else { return }
        if needed > free.int64Value {
            throw HubError.insufficientSpace(path: cache.root.path, needed: needed, available: free.int64Value)
        }
    }

    // MARK: - Requests

    /// `HF_ENDPOINT/<repository-or-api-route>/<segments>`, each segment percent-encoded on its own
    /// (a revision such as `refs/pr/1` is one segment). Repository ids are validated, so their
    /// one slash goes in as it is.
    private func endpoint(_ route: String, _ segments: [String], query: String? = nil) -> URL {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#;")
        let path = ([route] + segments.map { $0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0 }).joined(separator: "/")
        return URL(string: settings.endpoint.absoluteString + "/" + path + (query.map { "?" + $0 } ?? ""))!
    }

    private func request(_ url: URL, authorized: Bool = true) -> URLRequest {
        var request = URLRequest(url: url)
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        request.setValue("swift-vlm/0.1", forHTTPHeaderField: "User-Agent")
        if authorized, let token = settings.token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        return request
    }

    /// Sends a request and turns failures into errors a person can act on.
    private func send(_ request: URLRequest, for repository: HubRepository, _ http: HTTPSession, acceptRedirects: Bool = false,
                      allowRangeError: Bool = false, consume: BodyConsumer? = nil) async throws -> HTTPSession.Response {
        let response: HTTPSession.Response
        do {
            response = try await http.send(request, consume: consume)
        } catch let error as HubError {
            throw error
        } catch let error as URLError {
            throw HubError.unreachable(endpoint: request.url?.host.map { "\(request.url!.scheme ?? "https")://\($0)" } ?? settings.endpoint.absoluteString,
                                       reason: error.localizedDescription)
        } catch is HTTPSession.BodyTooLarge {
            throw HubError.server(url: request.url!.absoluteString, status: 200, message: "the answer is larger than expected")
        }
        let status = response.status
        if (200..<300).contains(status) || (acceptRedirects && (300..<400).contains(status)) || (allowRangeError && status == 416) {
            return response
        }
        let code = response.header("X-Error-Code")
        let message = response.header("X-Error-Message")
        switch status {
        case 401:
            if code == "RepoNotFound" && settings.token != nil { throw HubError.repositoryNotFound(repository.id) }
            throw HubError.unauthorized(repository: repository.id, tokenSent: settings.token != nil)
        case 403:
            throw HubError.forbidden(repository: repository.id, message: message)
        case 404:
            if code == "RevisionNotFound" { throw HubError.revisionNotFound(repository: repository.id, revision: repository.revision) }
            if code == "EntryNotFound" {
                throw HubError.notAModel(repository: repository.id, reason: "\(request.url!.lastPathComponent) is listed but cannot be found (404)")
            }
            throw HubError.repositoryNotFound(repository.id)
        default:
            throw HubError.server(url: request.url!.absoluteString, status: status, message: message)
        }
    }

    private func report(_ file: String, _ stage: DownloadProgress.Stage, _ bytes: Int64, _ total: Int64, _ position: (Int, Int)) {
        progress?(DownloadProgress(file: file, stage: stage, bytes: bytes, total: total, index: position.0, count: position.1))
    }

    // MARK: - Small parsers

    /// `W/"abc"` and `"abc"` → `abc`, as huggingface_hub names blobs.
    static func normalizedEtag(_ etag: String) -> String {
        var text = Substring(etag)
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        return text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    static func sha256Hex(_ text: String) -> String? {
        text.count == 64 && text.allSatisfy({ $0.isHexDigit }) ? text.lowercased() : nil
    }

    static func isSafeRelativePath(_ path: String) -> Bool {
        !path.isEmpty && !path.hasPrefix("/") && !path.split(separator: "/", omittingEmptySubsequences: false)
            .contains(where: { $0.isEmpty || $0 == "." || $0 == ".." })
    }

    static func nextPage(in link: String, relativeTo url: URL) -> URL? {
        for part in link.split(separator: ",") where part.contains("rel=\"next\"") {
            guard let open = part.firstIndex(of: "<"), let close = part.firstIndex(of: ">"), open < close else { continue }
            return URL(string: String(part[part.index(after: open)..<close]), relativeTo: url)?.absoluteURL
        }
        return nil
    }

    static func sha256(of file: URL) throws(HubError) -> String {
        guard let handle = try? FileHandle(forReadingFrom: file) else {
            throw HubError.filesystem(path: file.path, reason: "cannot be read back for its checksum")
        }
        defer { try? handle.close() }
        var hash = SHA256()
        while true {
            let chunk: Data?
            do { chunk = try handle.read(upToCount: 4 << 20) } catch {
                throw HubError.filesystem(path: file.path, reason: "cannot be read back for its checksum (\(error.localizedDescription))")
            }
            guard let chunk, !chunk.isEmpty else { break }
            chunk.withUnsafeBytes { hash.update($0) }
        }
        return hash.finalizeHex()
    }
}

/// Writes a download into `<blob>.incomplete`, appending to what an earlier, interrupted run
/// left there when the server answers a Range request with 206, starting over when it answers
/// 200, and reporting progress at most ten times a second. After `begin`, only touched from the
/// HTTP session's serial delegate queue.
private final class BlobWriter: BodyConsumer, @unchecked Sendable {
    private let path: URL
    private let handle: FileHandle
    private(set) var offset: Int64
    private var lastReport = Date.distantPast
    private let report: (Int64) -> Void
    private var closed = false

    init(_ path: URL, report: @escaping (Int64) -> Void) throws(HubError) {
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
            if !manager.fileExists(atPath: path.path) { _ = manager.createFile(atPath: path.path, contents: nil) }
            handle = try FileHandle(forUpdating: path)
            offset = Int64(try handle.seekToEnd())
        } catch {
            throw HubError.filesystem(path: path.path, reason: "cannot open the download file (\(error.localizedDescription))")
        }
        self.path = path
        self.report = report
    }

    func begin(status: Int, header: (String) -> String?) throws {
        if status == 206 {
            // Appending is only right when the server continues exactly where the file ends.
            guard let range = header("Content-Range")?.split(separator: " ").last, let dash = range.firstIndex(of: "-"),
                  Int64(range[..<dash]) == offset else {
                throw HubError.server(url: path.lastPathComponent, status: 206, message: "the partial answer does not continue the file")
            }
        } else if offset > 0 {
            try restart()
        }
    }

    func consume(_ data: Data) throws {
        do { try handle.write(contentsOf: data) } catch {
            throw HubError.filesystem(path: path.path, reason: "cannot write (\(error.localizedDescription)); is the disk full?")
        }
        offset += Int64(data.count)
        let now = Date()
        if now.timeIntervalSince(lastReport) >= 0.1 {
            lastReport = now
            report(offset)
        }
    }

    func restart() throws(HubError) {
        do {
            try handle.truncate(atOffset: 0)
            try handle.seek(toOffset: 0)
        } catch {
            throw HubError.filesystem(path: path.path, reason: "cannot restart the download file (\(error.localizedDescription))")
        }
        offset = 0
    }

    func close() {
        guard !closed else { return }
        closed = true
        try? handle.synchronize()
        try? handle.close()
    }
}

/// An exclusive `flock` on a lock file, the same lock huggingface_hub's `filelock` takes, so a
/// Python download and ours (or two shards of one batch) never write the same blob at once.
final class FileLock {
    private let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    static func acquire(_ url: URL, onWait: () -> Void) async throws -> FileLock {
        do { try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true) } catch {
            throw HubError.filesystem(path: url.path, reason: "cannot create the lock folder (\(error.localizedDescription))")
        }
        let descriptor = open(url.path, O_RDWR | O_CREAT, 0o644)
        guard descriptor >= 0 else { throw HubError.filesystem(path: url.path, reason: "cannot open the lock file (\(String(cString: strerror(errno))))") }
        var waited = false
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            if !waited {
                waited = true
                onWait()
            }
            do { try await Task.sleep(nanoseconds: 200_000_000) } catch {
                close(descriptor)
                throw error
            }
        }
        return FileLock(descriptor: descriptor)
    }

    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
