import ArgumentParser
import Foundation
import Logging
import Runtime
import Server

/// `vqa serve`: the OpenAI-compatible HTTP server.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a model over HTTP with OpenAI's chat-completions API (/v1/chat/completions, /v1/models, /health).",
        discussion: """
            The sampling options set the defaults a request starts from; a request's own fields \
            (temperature, top_p, max_tokens, seed, stop...) override them. Stops gracefully on \
            SIGINT or SIGTERM: waiting requests get 503, running ones finish.
            """)

    @OptionGroup var model: ModelOption

    @OptionGroup var weights: WeightsOption

    @Option(name: .long, help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(name: .long, help: "Port to listen on (0: any free port).")
    var port = 8080

    @Option(name: .customLong("model-name"), help: "The model id /v1/models reports (default: the Hub id, or the folder's name).")
    var modelName: String?

    @Option(name: .long, help: "Generations that run at once (default for this machine: \(ServerOptions.defaultParallel)).")
    var parallel = ServerOptions.defaultParallel

    @Option(name: .customLong("queue-limit"), help: "Requests that may wait for a slot; more get 429 at once.")
    var queueLimit = ServerOptions().queueLimit

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body (images as data: URIs included).")
    var maxBodyBytes = ServerOptions().maxBodyBytes

    @Option(name: .customLong("max-images"), help: "Most images in one request.")
    var maxImages = ServerOptions().maxImages

    @Option(name: .customLong("max-image-pixels"), help: "Largest width × height of an image (checked before decoding).")
    var maxImagePixels = ServerOptions().maxImagePixels

    @Flag(name: .customLong("allow-remote-images"), help: "Fetch http(s) image URLs (any address the client names: trusted clients only).")
    var allowRemoteImages = false

    @Option(name: .customLong("remote-image-max-bytes"), help: "Largest image download.")
    var remoteImageMaxBytes = ServerOptions().remoteImageMaxBytes

    @Option(name: .customLong("remote-image-timeout"), help: "Seconds an image download may take.")
    var remoteImageTimeout = ServerOptions().remoteImageTimeout

    @Option(name: .customLong("allow-local-images"), help: "Read file:// images, but only inside this folder.", completion: .directory)
    var allowLocalImages: String?

    @Option(name: .customLong("api-key"), help: "Require 'Authorization: Bearer KEY' (default: the VQA_API_KEY environment variable, if set).")
    var apiKey: String?

    @Option(name: .customLong("image-cache-mb"), help: "Memory for the encodings of images seen before (0: off).")
    var imageCacheMB = ServerOptions().imageCacheBytes >> 20

    @OptionGroup var detail: ImageDetailOptions

    @OptionGroup var sampling: SamplingOptions

    func validate() throws {
        if sampling.ignoreEOS { throw ValidationError("--ignore-eos is for benchmarks; a server's answers end at the end-of-sequence token") }
        if imageCacheMB < 0 || imageCacheMB > Int.max >> 20 { throw ValidationError("--image-cache-mb must be between 0 and \(Int.max >> 20)") }
    }

    func run() async throws {
        var options = ServerOptions()
        options.host = host
        options.port = port
        let chosen = try await model.choice()
        let folder = chosen.folder
        options.modelName = modelName ?? chosen.name
        options.parallel = parallel
        options.queueLimit = queueLimit
        options.maxBodyBytes = maxBodyBytes
        options.maxImages = maxImages
        options.maxImagePixels = maxImagePixels
        options.allowRemoteImages = allowRemoteImages
        options.remoteImageMaxBytes = remoteImageMaxBytes
        options.remoteImageTimeout = remoteImageTimeout
        options.localImageFolder = allowLocalImages.map { URL(fileURLWithPath: $0) }
        options.apiKey = apiKey ?? ProcessInfo.processInfo.environment["VQA_API_KEY"]
        options.imageCacheBytes = imageCacheMB << 20
        options.imageSplitting = detail.imageSplitting
        options.maxTiles = detail.maxTiles
        options.defaults = sampling.parameters()
        do { try options.validate() } catch { throw ValidationError("\(error)") }

        let logger = Logger(label: "vqa-serve") { StreamLogHandler.standardError(label: $0) }
        let server = try ChatCompletionServer(model: try weights.loadModel(folder), options: options, logger: logger)
        try await server.run()
        logger.info("stopped")
    }
}
