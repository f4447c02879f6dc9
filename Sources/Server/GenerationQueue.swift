import Foundation

/// Admission to the model: at most `parallel` generations run at once; the others wait in
/// arrival order (first come, first served); past `limit` waiting requests, more are refused at
/// once instead of piling up. A waiter that is cancelled (its client left) gives up its place.
final class GenerationQueue: @unchecked Sendable {
    let parallel: Int
    let limit: Int
    private let lock = NSLock()
    private var running = 0
    private var waiting: [(id: UInt64, continuation: CheckedContinuation<Void, Error>)] = []
    /// Waiters between taking a number and joining `waiting`, and those of them already
    /// cancelled (the cancellation handler can run before the continuation exists).
    private var joining: Set<UInt64> = []
    private var cancelledEarly: Set<UInt64> = []
    private var nextID: UInt64 = 0
    private var closed = false

    enum Refusal: Error {
        case full
        case shuttingDown
    }

    init(parallel: Int, limit: Int) {
        self.parallel = max(1, parallel)
        self.limit = max(0, limit)
    }

    /// Waits for a slot; the caller must `release()` it. Throws `Refusal.full` at once when the
    /// queue is full, `Refusal.shuttingDown` after `close()`, and `CancellationError` when the
    /// task is cancelled while waiting.
    func acquire() async throws {
        let id: UInt64 = try lock.withLock {
            if closed { throw Refusal.shuttingDown }
            if running < parallel && waiting.isEmpty {
                running += 1
                return 0
            }
            if waiting.count >= limit { throw Refusal.full }
            nextID += 1
            joining.insert(nextID)
            return nextID
        }
        if id == 0 { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                let refusal: Error? = lock.withLock {
                    joining.remove(id)
                    if cancelledEarly.remove(id) != nil { return CancellationError() }
                    if closed { return Refusal.shuttingDown }
                    waiting.append((id, continuation))
                    return nil
                }
                if let refusal { continuation.resume(throwing: refusal) }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, Error>? = lock.withLock {
                guard let index = waiting.firstIndex(where: { $0.id == id }) else {
                    if joining.contains(id) { cancelledEarly.insert(id) }
                    return nil
                }
                return waiting.remove(at: index).continuation
            }
            continuation?.resume(throwing: CancellationError())
        }
        // A slot handed over as the waiter was cancelled still belongs to it: the caller
        // releases it as usual, so nothing leaks.
    }

    /// Frees a slot: the longest-waiting request gets it.
    func release() {
        let next: CheckedContinuation<Void, Error>? = lock.withLock {
            if waiting.isEmpty {
                running -= 1
                return nil
            }
            return waiting.removeFirst().continuation
        }
        next?.resume()
    }

    /// Refuses new requests and sends the waiting ones away; running generations finish.
    func close() {
        let sent: [CheckedContinuation<Void, Error>] = lock.withLock {
            closed = true
            defer { waiting = [] }
            return waiting.map(\.continuation)
        }
        for continuation in sent { continuation.resume(throwing: Refusal.shuttingDown) }
    }

    /// Running generations and waiting requests, now.
    var load: (running: Int, waiting: Int) {
        lock.withLock { (running, waiting.count) }
    }
}
