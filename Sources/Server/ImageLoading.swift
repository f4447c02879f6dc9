import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ImageCodec
import Runtime

/// A request's image: its encoded bytes, fetched and its header checked, not yet decoded.
struct EncodedImage: Sendable {
    let bytes: [UInt8]
    /// Where the request holds it (`messages[0].content[1].image_url`), for errors.
    let field: String
}

/// Turns the image parts of a request into pixels under the server's rules: `data:` URIs
/// always; local files only inside the folder `--allow-local-images` names (after resolving
/// symlinks and `..`); http(s) URLs only with `--allow-remote-images`, size- and time-limited.
/// In two steps: `fetch` gets each image's bytes and checks its header (format, pixel limit)
/// when the request arrives; `decode` makes the pixels once the request has a generation slot,
/// so that waiting requests hold no more than what they were sent, and decoding runs on the
/// generation's thread rather than the server's.
struct ImageLoader: Sendable {
    let decoding: DecodingOptions
    let maxImages: Int
    /// The allowed folder, already resolved (no symlinks, no `..`), or nil for none.
    let localFolder: String?
    let remote: RemoteImageFetcher?

    init(options: ServerOptions) throws {
        decoding = DecodingOptions(maxPixels: options.maxImagePixels)
        maxImages = options.maxImages
        if let folder = options.localImageFolder {
            guard let resolved = Self.resolve(folder.path) else { throw ServerError("--allow-local-images \(folder.path): no such folder") }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ServerError("--allow-local-images \(folder.path): not a folder")
            }
            localFolder = resolved
        } else {
            localFolder = nil
        }
        remote = options.allowRemoteImages ? RemoteImageFetcher(maxBytes: options.remoteImageMaxBytes, timeout: options.remoteImageTimeout) : nil
    }

    func fetch(_ parts: [ConversationMessages.ImagePart]) async throws(APIError) -> [EncodedImage] {
        guard parts.count <= maxImages else {
            throw APIError.invalid("the messages hold \(parts.count) images, more than the limit of \(maxImages) (--max-images)", param: "messages",
                                   code: "too_many_images")
        }
        var images: [EncodedImage] = []
        for part in parts {
            let bytes: [UInt8]
            switch part.reference {
            case .data(let data): bytes = data
            case .file(let path): bytes = try readLocal(path, field: part.field)
            case .remote(let url):
                guard let remote else {
                    throw Self.invalid(part.field, "http(s) images are not fetched by this server (start it with --allow-remote-images); send the image as a data: URI")
                }
                bytes = try await remote.fetch(url, field: part.field)
            }
            do { _ = try ImageDecoder.header(of: bytes, source: part.field, options: decoding) } catch {
                throw Self.undecodable(error, field: part.field)
            }
            images.append(EncodedImage(bytes: bytes, field: part.field))
        }
        return images
    }

    func decode(_ images: [EncodedImage]) throws(APIError) -> [Image] {
        var decoded: [Image] = []
        for image in images {
            do { decoded.append(try ImageDecoder.decode(image.bytes, source: image.field, options: decoding)) } catch {
                throw Self.undecodable(error, field: image.field)
            }
        }
        return decoded
    }

    private static func undecodable(_ error: ImageDecodingError, field: String) -> APIError {
        APIError.invalid(error.description, param: field, code: "invalid_image")
    }

    private func readLocal(_ path: String, field: String) throws(APIError) -> [UInt8] {
        guard let root = localFolder else {
            throw Self.invalid(field, "local files are not read by this server (start it with --allow-local-images DIR); send the image as a data: URI")
        }
        // One answer for missing files and files outside the folder, so that requests cannot
        // probe what exists elsewhere on the machine.
        let refusal = Self.invalid(field, "not a readable file inside the folder allowed by --allow-local-images")
        guard path.hasPrefix("/"), let resolved = Self.resolve(path), resolved.hasPrefix(root == "/" ? "/" : root + "/") else { throw refusal }
        do { return try ImageDecoder.read(URL(fileURLWithPath: resolved)) } catch { throw refusal }
    }

    /// The canonical absolute path (symlinks and `..` resolved), or nil when it does not exist.
    static func resolve(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func invalid(_ field: String, _ reason: String) -> APIError {
        APIError.invalid("\(field): \(reason)", param: field, code: "invalid_image")
    }
}

/// Downloads images over http(s), stopping at `maxBytes` (announced or received) and after
/// `timeout` seconds, so that a request cannot make the server hold a huge or endless download.
final class RemoteImageFetcher: Sendable {
    let maxBytes: Int
    let timeout: TimeInterval

    init(maxBytes: Int, timeout: TimeInterval) {
        self.maxBytes = maxBytes
        self.timeout = timeout
    }

    func fetch(_ url: URL, field: String) async throws(APIError) -> [UInt8] {
        let download = Download(maxBytes: maxBytes)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        let session = URLSession(configuration: configuration, delegate: download, delegateQueue: nil)
        defer { session.invalidateAndCancel() }
        let task = session.dataTask(with: url)
        let result: Result<[UInt8], FetchFailure> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                download.start(task, continuation: continuation)
            }
        } onCancel: {
            task.cancel()
        }
        switch result {
        case .success(let bytes): return bytes
        case .failure(let reason): throw ImageLoader.invalid(field, "cannot fetch \(url.absoluteString): \(reason.message)")
        }
    }

    /// One download's state; URLSession calls it on its own queue.
    private final class Download: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        let maxBytes: Int
        private let lock = NSLock()
        private var data: [UInt8] = []
        private var failure: String?
        private var continuation: CheckedContinuation<Result<[UInt8], FetchFailure>, Never>?

        init(maxBytes: Int) {
            self.maxBytes = maxBytes
        }

        func start(_ task: URLSessionDataTask, continuation: CheckedContinuation<Result<[UInt8], FetchFailure>, Never>) {
            lock.withLock { self.continuation = continuation }
            task.resume()
        }

        private func fail(_ reason: String, _ task: URLSessionTask) {
            lock.withLock { if failure == nil { failure = reason } }
            task.cancel()
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
            if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
                fail("HTTP status \(http.statusCode)", dataTask)
                completionHandler(.cancel)
            } else if response.expectedContentLength > maxBytes {
                fail("\(response.expectedContentLength) bytes is over the limit of \(maxBytes) (--remote-image-max-bytes)", dataTask)
                completionHandler(.cancel)
            } else {
                completionHandler(.allow)
            }
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive chunk: Data) {
            let over = lock.withLock {
                data += chunk
                return data.count > maxBytes
            }
            if over { fail("more than \(maxBytes) bytes (--remote-image-max-bytes)", dataTask) }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            let (continuation, result): (CheckedContinuation<Result<[UInt8], FetchFailure>, Never>?, Result<[UInt8], FetchFailure>) = lock.withLock {
                defer { self.continuation = nil }
                if let failure { return (self.continuation, .failure(FetchFailure(message: failure))) }
                if let error {
                    let reason = (error as NSError).code == NSURLErrorTimedOut ? "timed out (--remote-image-timeout)" : error.localizedDescription
                    return (self.continuation, .failure(FetchFailure(message: reason)))
                }
                return (self.continuation, .success(data))
            }
            continuation?.resume(returning: result)
        }
    }
}

/// Why a download failed, in words.
struct FetchFailure: Error {
    let message: String
}
