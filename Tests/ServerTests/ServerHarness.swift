import ChatTemplates
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ImageCodec
import Logging
import Runtime
import Server
import Testing
import TestSupport

/// The fixture model, loaded once for every test.
let fixtureModel: VisionLanguageModel = try! VisionLanguageModel(folder: Fixtures.url("smolvlm/idefics3-f32"))

/// A real server on a free loopback port, in this process.
final class TestServer: Sendable {
    let server: ChatCompletionServer
    let port: Int
    private let task: Task<Void, Error>

    init(_ configure: (inout ServerOptions) -> Void = { _ in }) async throws {
        var options = ServerOptions()
        options.port = 0
        options.modelName = "fixture"
        options.defaults.maxNewTokens = 4
        configure(&options)
        var logger = Logger(label: "server-tests")
        logger.logLevel = .error
        let server = try ChatCompletionServer(model: fixtureModel, options: options, logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        task = Task { try await server.run(handlingSignals: false) { continuation.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        port = try #require(await iterator.next())
        self.server = server
    }

    func stop() async throws {
        await server.shutDown()
        try await task.value
    }

    var base: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Sends a request and returns the status and body.
    func send(_ path: String, method: String = "POST", body: Data? = nil, headers: [String: String] = [:]) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: base.appendingPathComponent(path))
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = 60
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, data)
    }

    /// POSTs a chat-completions body (a JSON object) and decodes the JSON answer.
    func complete(_ body: [String: Any], headers: [String: String] = [:]) async throws -> (status: Int, json: [String: Any]) {
        let (status, data) = try await send("v1/chat/completions", body: try JSONSerialization.data(withJSONObject: body), headers: headers)
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(String(decoding: data, as: UTF8.self))")
        return (status, json)
    }

    /// `/health`'s counts.
    func health() async throws -> [String: Any] {
        let (_, data) = try await send("health", method: "GET")
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Polls `/health` until `condition` holds, for at most `seconds`; whether it did.
    func waitForHealth(seconds: Double = 10, _ condition: ([String: Any]) -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition(try await health()) { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}

/// The answer's message text.
func content(_ json: [String: Any]) -> String? {
    ((json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
}

/// The OpenAI error object of an error response.
func errorObject(_ json: [String: Any]) -> [String: Any]? {
    json["error"] as? [String: Any]
}

/// A data: URI of a fixture image.
func dataURI(_ fixture: String, type: String = "image/png") throws -> String {
    "data:\(type);base64," + Data(try Fixtures.bytes(fixture)).base64EncodedString()
}

/// A user message with an image and a question.
func imageMessage(_ url: String, _ text: String) -> [String: Any] {
    ["role": "user", "content": [["type": "image_url", "image_url": ["url": url]], ["type": "text", "text": text]]]
}

/// What the library answers for the same conversation, greedily.
func libraryAnswer(_ messages: [[String: Any]], _ parameters: GenerationParameters) throws -> (text: String, tokens: [GeneratedToken], report: GenerationReport) {
    let conversation = try ConversationMessages(json: try Value(json: try JSONSerialization.data(withJSONObject: messages)))
    let images = try conversation.images.map { part -> Image in
        guard case .data(let bytes) = part.reference else { throw ServerTestError("only data: URIs in library answers") }
        return try ImageDecoder.decode(bytes, source: part.field)
    }
    let prompt = try fixtureModel.prepare(messages: conversation.messages, images: images)
    var text = "", tokens: [GeneratedToken] = []
    let report = try fixtureModel.generate(prompt, parameters: parameters) { event in
        switch event {
        case .text(let piece): text += piece
        case .token(let token): tokens.append(token)
        case .finished: break
        }
    }
    return (text, tokens, report)
}

struct ServerTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A raw HTTP/1.1 connection: for requests a client abandons half way.
final class RawConnection {
    private let socket: Int32

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw ServerTestError("cannot connect to port \(port)") }
    }

    /// Sends a POST of `body` to /v1/chat/completions.
    func post(_ body: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: body)
        let head = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(data.count)\r\n\r\n"
        let bytes = Array(head.utf8) + [UInt8](data)
        let sent = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { throw ServerTestError("short send") }
    }

    /// Reads until `marker` has arrived (or the connection ends); returns what came.
    func read(until marker: String) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: received, as: UTF8.self).contains(marker) {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    func close() {
        Glibc.close(socket)
    }
}
