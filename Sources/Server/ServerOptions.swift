import Foundation
import Runtime

/// How `vqa serve` runs: where it listens, how much work it admits, which images it reads.
public struct ServerOptions: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (the startup line says which).
    public var port = 8080
    /// The model id `/v1/models` lists and responses name (requests may name any model: one is served).
    public var modelName = "model"
    /// Generations that run at once.
    public var parallel = ServerOptions.defaultParallel
    /// Requests that may wait for a slot; more are answered 429 at once.
    public var queueLimit = 64
    /// Largest request body accepted (data: URIs included), checked before it is read.
    public var maxBodyBytes = 32 << 20
    /// Most images one request may hold.
    public var maxImages = 8
    /// Largest width × height of an image, checked from its header before decoding.
    public var maxImagePixels = 25_000_000
    /// Fetch http(s) image URLs (off: only data: URIs and allowed local files).
    public var allowRemoteImages = false
    public var remoteImageMaxBytes = 20 << 20
    public var remoteImageTimeout: TimeInterval = 10
    /// file:// images are read only inside this folder (nil: never).
    public var localImageFolder: URL?
    /// When set, /v1/chat/completions needs `Authorization: Bearer <key>`.
    public var apiKey: String?
    /// Memory for vision-encoder outputs of images seen before (0: no cache).
    public var imageCacheBytes = 256 << 20
    /// nil: the model's processor setting; false: one frame per image.
    public var imageSplitting: Bool?
    /// At most this many tiles per image (nil: the processor's own limit).
    public var maxTiles: Int?
    /// The sampling parameters a request starts from (what it leaves out).
    public var defaults = GenerationParameters()

    public init() {}

    /// One generation per 8 cores: each one's matrix products already spread over every core
    /// (OpenBLAS), so more at once mostly overlaps the single-token decode steps, which use the
    /// cores poorly; on small machines one at a time keeps latency lowest.
    public static var defaultParallel: Int {
        max(1, min(4, ProcessInfo.processInfo.activeProcessorCount / 8))
    }

    /// Checks the numbers, naming the option at fault.
    public func validate() throws {
        for (name, value, minimum) in [("--port", port, 0), ("--parallel", parallel, 1), ("--queue-limit", queueLimit, 0),
                                       ("--max-body-bytes", maxBodyBytes, 1), ("--max-images", maxImages, 0),
                                       ("--max-image-pixels", maxImagePixels, 1), ("--remote-image-max-bytes", remoteImageMaxBytes, 1),
                                       ("--image-cache-mb", imageCacheBytes, 0)] where value < minimum {
            throw ServerError("\(name) must be at least \(minimum)")
        }
        if port > 65535 { throw ServerError("--port must be at most 65535") }
        if !(remoteImageTimeout > 0) { throw ServerError("--remote-image-timeout must be positive") }
        if apiKey?.isEmpty == true { throw ServerError("--api-key must not be empty") }
    }
}

/// A setting that keeps the server from starting.
public struct ServerError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
