import ChatTemplates
import Foundation
import ImageCodec
import Runtime
import Tokenizers

/// What a generation reports to the request that started it, in order.
enum JobEvent: Sendable {
    case generation(GenerationEvent)
    /// The last event: token counts and timings.
    case done(GenerationReport)
}

/// One request's work on the model, on a thread of its own: the cooperative thread pool that
/// Swift tasks (and so Hummingbird's handlers) share has one thread per core, and a generation
/// holds its thread for seconds, so running it there would leave the server unable to answer
/// even `/health` or a 429 while the model works.
///
/// The job holds a queue slot from start to end: the thread releases it when it stops, which is
/// only after a cancelled generation has really stopped computing.
final class GenerationJob: @unchecked Sendable {
    let events: AsyncThrowingStream<JobEvent, Error>
    private let continuation: AsyncThrowingStream<JobEvent, Error>.Continuation
    private let lock = NSLock()
    private var cancelled = false

    private init() {
        (events, continuation) = AsyncThrowingStream.makeStream()
    }

    var isCancelled: Bool { lock.withLock { cancelled } }

    /// Stops the generation at its next token (the vision encoder and the prefill run to their
    /// end first); the event stream then ends with `CancellationError`.
    func cancel() {
        lock.withLock { cancelled = true }
    }

    /// Decodes the images, prepares the prompt (chat template, image processing, tokens, context
    /// check) and starts generating, on a new thread that owns the slot already taken from
    /// `queue`. Returns the job once the prompt is prepared, or throws what was wrong with the
    /// request; the slot is released either way.
    static func start(model: VisionLanguageModel, messages: [ChatMessage], images: @escaping @Sendable () throws -> [Image], parameters: GenerationParameters,
                      imageSplitting: Bool?, maxTiles: Int?, imageCache: ImageFeatureCache?, releasing queue: GenerationQueue) async throws -> GenerationJob {
        let job = GenerationJob()
        job.continuation.onTermination = { [weak job] _ in job?.cancel() }
        try await withCheckedThrowingContinuation { (prepared: CheckedContinuation<Void, Error>) in
            let thread = Thread {
                defer { queue.release() }
                let prompt: PreparedPrompt
                do {
                    prompt = try model.prepare(messages: messages, images: images(), imageSplitting: imageSplitting, maxTiles: maxTiles)
                    try model.check(prompt, parameters: parameters)
                } catch {
                    prepared.resume(throwing: error)
                    return
                }
                prepared.resume()
                do {
                    if job.isCancelled { throw CancellationError() }
                    let report = try model.generate(prompt, parameters: parameters, imageCache: imageCache) { event in
                        if job.isCancelled { throw CancellationError() }
                        job.continuation.yield(.generation(event))
                    }
                    job.continuation.yield(.done(report))
                    job.continuation.finish()
                } catch {
                    job.continuation.finish(throwing: error)
                }
            }
            thread.name = "generation"
            thread.start()
        }
        return job
    }
}
