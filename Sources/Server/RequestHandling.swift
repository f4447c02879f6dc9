import Checksums
import Foundation
import Hummingbird
import Logging
import NIOCore
import Runtime

/// The per-request context: Hummingbird's, plus the connection (to notice a client that
/// leaves) and the record the access log is written from.
struct ServerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    let record = RequestRecord()

    init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        channel = source.channel
    }
}

/// What a request did, filled in by its handler and read for its access-log line once the
/// response has been written (for a stream, at its end).
final class RequestRecord: @unchecked Sendable {
    private let lock = NSLock()
    private var stream = false
    private var images = 0
    private var queueSeconds: Double?
    private var report: GenerationReport?
    private var failure: String?

    func note(stream: Bool, images: Int) { lock.withLock { (self.stream, self.images) = (stream, images) } }
    func note(queueSeconds: Double) { lock.withLock { self.queueSeconds = queueSeconds } }
    func note(report: GenerationReport) { lock.withLock { self.report = report } }
    func note(failure: String) { lock.withLock { self.failure = failure } }

    /// ` queue 0.00s prompt 96 completion 12 ...`, the generation part of the access-log line.
    var summary: String {
        lock.withLock {
            var parts: [String] = []
            if let queueSeconds { parts.append(String(format: "queue %.2fs", queueSeconds)) }
            if images > 0 { parts.append("images \(images)") }
            if let report {
                parts.append("prompt \(report.promptTokens) completion \(report.completionTokens) finish \(report.finish.rawValue)")
                parts.append(String(format: "vision %.2fs prefill %.2fs decode %.1f tok/s", report.visionSeconds, report.prefillSeconds,
                                    report.decodeTokensPerSecond))
            }
            if stream { parts.append("stream") }
            if let failure { parts.append("error: \(failure)") }
            return parts.map { " " + $0 }.joined()
        }
    }
}

/// Around every request: the API key check, errors turned into OpenAI's shape, and one
/// access-log line with the status and timings once the response is written.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let server: ChatCompletionServer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response: Response
        do {
            try authorize(request)
            response = try await next(request, context)
        } catch {
            response = Self.response(for: error, request: request)
        }
        let status = response.status.code
        let logger = server.logger
        let record = context.record
        let line = "\(request.method) \(request.uri.path) \(status)"
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            do {
                try await body.write(writer)
                logger.info("\(line) \(String(format: "%.2fs", start.duration(to: .now).seconds))\(record.summary)")
            } catch {
                // A client that leaves mid-stream: nginx's 499, "client closed request".
                logger.info("\(line) \(String(format: "%.2fs", start.duration(to: .now).seconds))\(record.summary) (client closed: 499) \(error)")
                throw error
            }
        }
        return response
    }

    /// Only `/health` is open: everything else needs the key when one is set.
    private func authorize(_ request: Request) throws {
        guard let key = server.options.apiKey, request.uri.path != "/health" else { return }
        let header = request.headers[.authorization] ?? ""
        let prefix = "bearer "
        let given = header.lowercased().hasPrefix(prefix) ? String(header.dropFirst(prefix.count)) : ""
        guard Self.constantTimeEqual(given, key) else { throw APIError.unauthorized }
    }

    /// Compares the SHA-256 digests of both strings, byte by byte without stopping early, so
    /// the time taken says nothing about how much of the key (or its length) was right.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(SHA256.hexDigest(of: a.utf8).utf8), y = Array(SHA256.hexDigest(of: b.utf8).utf8)
        var difference: UInt8 = 0
        for (p, q) in zip(x, y) { difference |= p ^ q }
        return difference == 0
    }

    static func response(for error: Error, request: Request) -> Response {
        switch error {
        case let error as APIError:
            return error.response
        case let error as HTTPError where error.status == .notFound:
            return APIError.notFound(request).response
        case let error as HTTPError:
            return APIError(status: error.status, message: error.body ?? error.status.reasonPhrase, type: "invalid_request_error",
                            param: nil, code: nil).response
        case is CancellationError:
            return Response(status: HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request"))
        default:
            return APIError.server("\(error)").response
        }
    }
}

/// Closes a connection as soon as its client closes its side: Hummingbird keeps half-closed
/// connections open, but a client that stops sending has almost always gone (llama.cpp's server
/// judges it the same way), and closing completes the channel's `closeFuture`, which cancels
/// that client's queued or running generation.
final class DisconnectObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}
