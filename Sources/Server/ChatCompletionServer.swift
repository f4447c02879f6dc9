import ChatTemplates
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Runtime
import ServiceLifecycle
import Tokenizers

/// The OpenAI-compatible HTTP server: `POST /v1/chat/completions` (plain and streamed),
/// `GET /v1/models`, `GET /health`, for one loaded model.
public final class ChatCompletionServer: Sendable {
    let model: VisionLanguageModel
    let options: ServerOptions
    let logger: Logger
    let queue: GenerationQueue
    let images: ImageLoader
    let imageCache: ImageFeatureCache?
    /// When the server was made: the `created` time `/v1/models` reports.
    let created = Int(Date().timeIntervalSince1970)
    private let group = Locked<ServiceGroup?>(nil)

    public init(model: VisionLanguageModel, options: ServerOptions, logger: Logger) throws {
        try options.validate()
        self.model = model
        self.options = options
        self.logger = logger
        queue = GenerationQueue(parallel: options.parallel, limit: options.queueLimit)
        images = try ImageLoader(options: options)
        imageCache = options.imageCacheBytes > 0 ? ImageFeatureCache(capacityBytes: options.imageCacheBytes) : nil
    }

    /// The features cache shared by all requests (nil when turned off).
    public var imageFeatureCache: ImageFeatureCache? { imageCache }

    /// Serves until SIGINT or SIGTERM (with `handlingSignals`) or `shutDown()`, then stops
    /// gracefully: no new connections, waiting requests answered 503, running generations
    /// finished. `onListening` receives the port once the socket is bound (useful with port 0).
    public func run(handlingSignals: Bool = true, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let router = Router(context: ServerContext.self)
        router.add(middleware: AccessLogMiddleware(server: self))
        router.get("/health") { _, _ in self.health() }
        router.get("/v1/models") { _, _ in
            try self.json(OpenAI.ModelList(data: [OpenAI.Model(id: self.options.modelName, created: self.created)]))
        }
        router.post("/v1/chat/completions") { request, context in try await self.chatCompletion(request, context: context) }

        // Hummingbird's own startup and connection messages only above `info`: the server
        // writes its own startup line and one line per request.
        var frameworkLogger = logger
        frameworkLogger.logLevel = max(logger.logLevel, .notice)
        let options = options
        let application = Application(
            router: router,
            server: .http1(configuration: HTTP1Channel.Configuration(additionalChannelHandlers: [DisconnectObserver()])),
            configuration: ApplicationConfiguration(address: .hostname(options.host, port: options.port), serverName: "swift-vlm"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? options.port
                self.logger.info("listening on http://\(options.host):\(port) with model \(options.modelName) (\(self.model.folder.path)); \(options.parallel) parallel, queue limit \(options.queueLimit)")
                await onListening(port)
            },
            logger: frameworkLogger)
        // Services stop in reverse order: the queue closes first, so that waiting requests are
        // answered at once instead of holding the server's graceful shutdown.
        let serviceGroup = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [application, QueueCloser(queue: queue)],
            gracefulShutdownSignals: handlingSignals ? [.sigterm, .sigint] : [],
            logger: frameworkLogger))
        group.value = serviceGroup
        try await serviceGroup.run()
    }

    /// Starts the graceful shutdown of a running server.
    public func shutDown() async {
        await group.value?.triggerGracefulShutdown()
    }

    private func health() -> Response {
        let load = queue.load
        struct Health: Encodable {
            let status: String
            let slots_processing: Int
            let slots_idle: Int
            let requests_waiting: Int
        }
        return (try? json(Health(status: "ok", slots_processing: load.running, slots_idle: max(0, queue.parallel - load.running),
                                 requests_waiting: load.waiting))) ?? Response(status: .ok)
    }

    func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: try JSONEncoder.api.encode(value))))
    }

    // MARK: - /v1/chat/completions

    func chatCompletion(_ request: Request, context: ServerContext) async throws -> Response {
        let limit = options.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit { throw APIError.tooLarge(limit: limit) }
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: limit) } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.tooLarge(limit: limit)
        }
        let parsed = try ChatCompletionRequest(body: Data(buffer: body), defaults: options.defaults)
        let images = try await self.images.fetch(parsed.conversation.images)
        context.record.note(stream: parsed.stream, images: images.count)
        let loader = self.images

        // From here on the request waits for the model; a client that goes away cancels it,
        // whether it is still queued, being prepared or generating.
        let channel = context.channel
        let record = context.record
        let starting = Task { () throws -> GenerationJob in
            let queued = ContinuousClock.now
            do { try await queue.acquire() } catch GenerationQueue.Refusal.full {
                throw APIError.queueFull(limit: queue.limit)
            } catch GenerationQueue.Refusal.shuttingDown {
                throw APIError.shuttingDown
            }
            record.note(queueSeconds: queued.duration(to: .now).seconds)
            if Task.isCancelled {
                queue.release()
                throw CancellationError()
            }
            do {
                return try await GenerationJob.start(model: model, messages: parsed.conversation.messages, images: { try loader.decode(images) },
                                                     parameters: parsed.parameters, imageSplitting: options.imageSplitting, maxTiles: options.maxTiles,
                                                     imageCache: imageCache, releasing: queue)
            } catch {
                throw Self.requestError(error)
            }
        }
        channel.closeFuture.whenComplete { _ in starting.cancel() }
        let job = try await withTaskCancellationHandler { try await starting.value } onCancel: { starting.cancel() }
        channel.closeFuture.whenComplete { _ in job.cancel() }

        let reply = Reply(id: "chatcmpl-\(UUID().uuidString.lowercased())", created: Int(Date().timeIntervalSince1970),
                          model: options.modelName, logprobs: parsed.logprobs, includeUsage: parsed.includeUsage, tokenizer: model.tokenizer, endOfSequence: Set(model.specialTokens.eos))
        if parsed.stream {
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                            body: ResponseBody { writer in try await reply.stream(job, to: &writer, record: record, logger: self.logger) })
        }
        return try json(try await reply.complete(job, record: record))
    }

    /// What went wrong preparing a request, as the client's error (400) or the server's (500).
    static func requestError(_ error: Error) -> Error {
        switch error {
        case let error as APIError: return error
        case is CancellationError: return error
        case GenerationError.contextOverflow:
            return APIError.invalid("\(error)", param: "messages", code: "context_length_exceeded")
        case let error as GenerationError: return APIError.invalid(error.description)
        case let error as ChatTemplateError: return APIError.invalid("the model's chat template refused the conversation: \(error)", param: "messages")
        case let error as TokenizerError: return APIError.invalid(error.description, param: "messages")
        case let error as RuntimeError: return APIError.invalid(error.description, param: "messages")
        default: return APIError.server("\(error)")
        }
    }
}

/// Stops admitting generations when graceful shutdown begins.
private struct QueueCloser: Service {
    let queue: GenerationQueue

    func run() async throws {
        try? await gracefulShutdown()
        queue.close()
    }
}

/// A value behind a lock.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) {
        stored = value
    }

    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
