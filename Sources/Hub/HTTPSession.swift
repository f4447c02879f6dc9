import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Plain HTTP exchanges over URLSession (libcurl on Linux, so TLS comes from the system), with
/// redirects left to the caller — the Hub's metadata lives in the headers of the redirect itself,
/// and a token must not follow a redirect to another host — and bodies either collected (small
/// JSON answers, with a size cap) or streamed to a consumer (file downloads).
final class HTTPSession: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    struct Response: Sendable {
        let status: Int
        let headers: [String: String]
        let body: Data

        func header(_ name: String) -> String? {
            headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
    }

    /// The state of one request, touched only from the session's serial delegate queue.
    private final class Exchange: @unchecked Sendable {
        let consume: BodyConsumer?
        let bodyLimit: Int
        var response: HTTPURLResponse?
        var body = Data()
        var failure: Error?
        let continuation: CheckedContinuation<Response, Error>

        init(consume: BodyConsumer?, bodyLimit: Int, continuation: CheckedContinuation<Response, Error>) {
            self.consume = consume
            self.bodyLimit = bodyLimit
            self.continuation = continuation
        }
    }

    struct BodyTooLarge: Error {}

    private let lock = NSLock()
    private var exchanges: [Int: Exchange] = [:]
    private var session: URLSession!

    init(timeout: TimeInterval) {
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
    }

    /// Lets in-flight requests finish, then releases the session (which holds this delegate).
    func close() {
        session.finishTasksAndInvalidate()
    }

    /// Sends `request`; a redirect comes back as the response. With `consume`, a 2xx body is
    /// handed over piece by piece instead of collected; a throwing consumer cancels the request.
    func send(_ request: URLRequest, bodyLimit: Int = 16 << 20, consume: BodyConsumer? = nil) async throws -> Response {
        let task = session.dataTask(with: request)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                lock.withLock {
                    exchanges[task.taskIdentifier] = Exchange(consume: consume, bodyLimit: bodyLimit, continuation: continuation)
                }
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
    }

    private func exchange(_ task: URLSessionTask) -> Exchange? {
        lock.withLock { exchanges[task.taskIdentifier] }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let exchange = exchange(dataTask), let response = response as? HTTPURLResponse else {
            completionHandler(.allow)
            return
        }
        exchange.response = response
        if let consume = exchange.consume, (200..<300).contains(response.statusCode) {
            do {
                try consume.begin(status: response.statusCode) { response.value(forHTTPHeaderField: $0) }
            } catch {
                exchange.failure = error
                completionHandler(.cancel)
                return
            }
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let exchange = exchange(dataTask), exchange.failure == nil else { return }
        let status = exchange.response?.statusCode ?? 0
        do {
            if let consume = exchange.consume, (200..<300).contains(status) {
                try consume.consume(data)
            } else {
                guard exchange.body.count + data.count <= exchange.bodyLimit else { throw BodyTooLarge() }
                exchange.body.append(data)
            }
        } catch {
            exchange.failure = error
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        guard let exchange = lock.withLock({ exchanges.removeValue(forKey: task.taskIdentifier) }) else { return }
        if let failure = exchange.failure ?? error {
            exchange.continuation.resume(throwing: failure)
            return
        }
        guard let response = exchange.response ?? task.response as? HTTPURLResponse else {
            exchange.continuation.resume(throwing: URLError(.badServerResponse))
            return
        }
        var headers: [String: String] = [:]
        for (key, value) in response.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key] = value }
        }
        exchange.continuation.resume(returning: Response(status: response.statusCode, headers: headers, body: exchange.body))
    }
}

/// Where a streamed response body goes.
protocol BodyConsumer: AnyObject, Sendable {
    /// Called once with the 2xx status and headers before any body bytes; throwing cancels.
    func begin(status: Int, header: (String) -> String?) throws
    func consume(_ data: Data) throws
}
