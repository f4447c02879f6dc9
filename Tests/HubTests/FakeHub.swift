import Checksums
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// A HuggingFace Hub on loopback, answering the endpoints the Hub's clients use the way the Hub
/// answers them, and serving one model repository:
///
/// - `GET /api/models/ORG/NAME/revision/REV`: `{"id", "sha", "siblings"}`; 401 with
///   `X-Error-Code: RepoNotFound` for an unknown repository, 404 `RevisionNotFound` for an unknown revision.
/// - `GET /api/models/ORG/NAME/tree/COMMIT?recursive=true`: the file list, two entries a page,
///   linked by `Link: <...>; rel="next"`, with `lfs.oid` (SHA-256) for `.safetensors` files.
/// - `HEAD|GET /ORG/NAME/resolve/REV/PATH`: small files directly (`ETag` = a git blob id);
///   LFS files as a 302 to `/cdn/SHA256` with `X-Linked-Etag`, `X-Linked-Size`, `X-Repo-Commit`.
/// - `GET /cdn/SHA256`: the bytes, honouring `Range` with 206 and `Content-Range`.
///
/// Knobs make it misbehave the ways a real network does, and every request is logged.
final class FakeHub: @unchecked Sendable {
    struct File {
        let path: String
        let bytes: [UInt8]
        let isLFS: Bool
        let sha256: String
        /// Non-LFS files are named by their git blob id on the Hub; any stable 40-hex id will do here.
        var etag: String { isLFS ? sha256 : String(sha256.prefix(40)) }

        init(path: String, bytes: [UInt8], isLFS: Bool) {
            self.path = path
            self.bytes = bytes
            self.isLFS = isLFS
            sha256 = SHA256.hexDigest(of: bytes)
        }
    }

    struct LoggedRequest: Sendable {
        let method: String
        let path: String
        let authorization: String?
        let range: String?
    }

    let repository: String
    let commit = "0123456789abcdef0123456789abcdef01234567"
    let files: [File]

    private let lock = NSLock()
    private var log: [LoggedRequest] = []
    private var _requiredToken: String?
    private var _cutOffNextDownload = false
    private var _corruptDownloads = false
    private var _hugeSizes = false

    /// Requests must carry `Authorization: Bearer <token>` (a private repository).
    var requiredToken: String? {
        get { lock.withLock { _requiredToken } }
        set { lock.withLock { _requiredToken = newValue } }
    }
    /// The next CDN download stops after half of its bytes and drops the connection.
    var cutOffNextDownload: Bool {
        get { lock.withLock { _cutOffNextDownload } }
        set { lock.withLock { _cutOffNextDownload = newValue } }
    }
    /// CDN downloads serve the right number of bytes with one of them flipped.
    var corruptDownloads: Bool {
        get { lock.withLock { _corruptDownloads } }
        set { lock.withLock { _corruptDownloads = newValue } }
    }
    /// The listing announces a petabyte-sized weight file.
    var hugeSizes: Bool {
        get { lock.withLock { _hugeSizes } }
        set { lock.withLock { _hugeSizes = newValue } }
    }

    var requests: [LoggedRequest] { lock.withLock { log } }

    func clearLog() { lock.withLock { log.removeAll() } }

    private(set) var port = 0
    private var serverTask: Task<Void, Error>?

    init(repository: String, folder: URL) throws {
        self.repository = repository
        files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map { name in
            File(path: name, bytes: [UInt8](try Data(contentsOf: folder.appendingPathComponent(name))), isLFS: name.hasSuffix(".safetensors"))
        } + [File(path: "onnx/model.onnx", bytes: Array("not needed".utf8), isLFS: true),
             File(path: "pytorch_model.bin", bytes: Array("not needed".utf8), isLFS: true)]
    }

    var endpoint: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Starts listening on an ephemeral loopback port.
    func start() async throws {
        let router = Router()
        router.on("**", method: .get) { request, context in try await self.respond(request, context, head: false) }
        router.on("**", method: .head) { request, context in try await self.respond(request, context, head: true) }
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
            logger: Logger(label: "fake-hub", factory: { _ in SwiftLogNoOpLogHandler() }))
        serverTask = Task { try await application.runService(gracefulShutdownSignals: []) }
        for await port in portStream {
            self.port = port
            break
        }
    }

    func stop() {
        serverTask?.cancel()
    }

    private func respond(_ request: Request, _ context: BasicRequestContext, head: Bool) async throws -> Response {
        let path = request.uri.path
        lock.withLock {
            log.append(LoggedRequest(method: head ? "HEAD" : "GET", path: request.uri.description,
                                     authorization: request.headers[.authorization], range: request.headers[.range]))
        }
        if path.hasPrefix("/cdn/") {
            return cdn(String(path.dropFirst(5)), range: request.headers[.range], head: head)
        }
        if let token = requiredToken, request.headers[.authorization] != "Bearer \(token)" {
            return error(.unauthorized, code: nil, message: "Invalid credentials in Authorization header")
        }
        let segments = path.split(separator: "/").map(String.init)
        if segments.count >= 6, segments[0] == "api", segments[1] == "models" {
            guard "\(segments[2])/\(segments[3])" == repository else {
                return error(.unauthorized, code: "RepoNotFound", message: "Repository not found")
            }
            let revision = segments[5...].joined(separator: "/").removingPercentEncoding ?? ""
            guard revision == "main" || revision == commit else {
                return error(.notFound, code: "RevisionNotFound", message: "Invalid rev id: \(revision)")
            }
            if segments[4] == "revision" {
                return json(["id": repository, "sha": commit, "siblings": files.map { ["rfilename": $0.path] }])
            }
            if segments[4] == "tree" {
                return tree(cursor: request.uri.queryParameters.get("cursor").flatMap { Int($0) } ?? 0)
            }
        }
        if segments.count >= 5, "\(segments[0])/\(segments[1])" == repository, segments[2] == "resolve" {
            guard segments[3] == "main" || segments[3] == commit else {
                return error(.notFound, code: "RevisionNotFound", message: "Invalid rev id")
            }
            let filePath = segments[4...].joined(separator: "/")
            guard let file = files.first(where: { $0.path == filePath }) else {
                return error(.notFound, code: "EntryNotFound", message: "\(filePath) does not exist on \"main\"")
            }
            var headers = HTTPFields()
            headers[HTTPField.Name("X-Repo-Commit")!] = commit
            if file.isLFS {
                headers[HTTPField.Name("X-Linked-Etag")!] = "\"\(file.etag)\""
                headers[HTTPField.Name("X-Linked-Size")!] = "\(file.bytes.count)"
                // The CDN is another host name for the same server, so that a token sent to it shows.
                headers[.location] = "http://localhost:\(port)/cdn/\(file.sha256)"
                return Response(status: .found, headers: headers)
            }
            headers[.eTag] = "\"\(file.etag)\""
            headers[.contentLength] = "\(file.bytes.count)"
            return Response(status: .ok, headers: headers, body: head ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes)))
        }
        return error(.notFound, code: nil, message: "Not Found")
    }

    private func tree(cursor: Int) -> Response {
        let page = Array(files.dropFirst(cursor).prefix(2))
        let entries: [[String: Any]] = page.map { file in
            var entry: [String: Any] = ["type": "file", "oid": String(file.sha256.prefix(40)), "path": file.path,
                                        "size": hugeSizes && file.isLFS ? 1_000_000_000_000_000 : file.bytes.count]
            if file.isLFS { entry["lfs"] = ["oid": file.sha256, "size": file.bytes.count, "pointerSize": 134] }
            return entry
        }
        var response = json(entries)
        if cursor + 2 < files.count {
            response.headers[HTTPField.Name("Link")!] =
                "<\(endpoint.absoluteString)/api/models/\(repository)/tree/\(commit)?recursive=true&cursor=\(cursor + 2)>; rel=\"next\""
        }
        return response
    }

    private func cdn(_ sha256: String, range: String?, head: Bool) -> Response {
        guard let file = files.first(where: { $0.isLFS && $0.sha256 == sha256 }) else { return error(.notFound, code: nil, message: "NoSuchKey") }
        var bytes = file.bytes
        if corruptDownloads, !bytes.isEmpty { bytes[bytes.count / 2] ^= 0xFF }
        var start = 0
        var headers = HTTPFields()
        var status = HTTPResponse.Status.ok
        if let range, range.hasPrefix("bytes="), range.hasSuffix("-"), let from = Int(range.dropFirst(6).dropLast()) {
            guard from < bytes.count else {
                headers[.contentRange] = "bytes */\(bytes.count)"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            }
            start = from
            status = .partialContent
            headers[.contentRange] = "bytes \(from)-\(bytes.count - 1)/\(bytes.count)"
        }
        let body = Array(bytes[start...])
        headers[.contentLength] = "\(body.count)"
        if head { return Response(status: status, headers: headers) }
        let cut = lock.withLock {
            defer { _cutOffNextDownload = false }
            return _cutOffNextDownload
        }
        guard cut else { return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))) }
        return Response(status: status, headers: headers, body: ResponseBody(contentLength: body.count) { writer in
            try await writer.write(ByteBuffer(bytes: body[..<(body.count / 2)]))
            throw CancellationError()
        })
    }

    private func json(_ object: Any) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    private func error(_ status: HTTPResponse.Status, code: String?, message: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if let code { headers[HTTPField.Name("X-Error-Code")!] = code }
        headers[HTTPField.Name("X-Error-Message")!] = message
        let body = (try? JSONSerialization.data(withJSONObject: ["error": message])) ?? Data()
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
