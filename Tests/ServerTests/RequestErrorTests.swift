import Foundation
import Hummingbird
import Logging
import Server
import Testing
import TestSupport

/// Every bad request gets OpenAI's error shape with the right status and field, and the server
/// answers the next request as usual.
@Suite(.serialized) struct RequestErrorTests {
    let wide = try! dataURI("processor/images/wide-513x77.png")
    let hello: [[String: Any]] = [["role": "user", "content": "Hello"]]

    struct Case {
        let name: String
        let body: Data
        let status: Int
        let param: String?
        let message: String
    }

    func json(_ object: [String: Any]) -> Data {
        try! JSONSerialization.data(withJSONObject: object)
    }

    @Test func badRequestsGetOpenAIErrors() async throws {
        let server = try await TestServer { options in
            options.maxImages = 2
            options.maxImagePixels = 40_000
            options.maxBodyBytes = 200_000
        }
        let chart = try dataURI("processor/images/landscape-chart.png")  // 640×480: over the pixel limit
        // Its header passes when the request arrives; its pixels fail to decode once it has a slot.
        let cut = "data:image/jpeg;base64," + Data(try Fixtures.bytes("jpeg/testorig.jpg").prefix(3000)).base64EncodedString()
        let cases = [
            Case(name: "malformed JSON", body: Data("{\"messages\": [".utf8), status: 400, param: nil, message: "not valid JSON"),
            Case(name: "not an object", body: Data("[1, 2]".utf8), status: 400, param: nil, message: "must be a JSON object"),
            Case(name: "no messages", body: json(["model": "x"]), status: 400, param: "messages", message: "'messages' is required"),
            Case(name: "wrong type", body: json(["messages": hello, "temperature": "hot"]), status: 400, param: "temperature",
                 message: "'temperature' must be a number"),
            Case(name: "wrong type of a known field", body: json(["messages": hello, "stream": "yes"]), status: 400, param: "stream",
                 message: "'stream' must be true or false"),
            Case(name: "bad role", body: json(["messages": [["role": "tool", "content": "x"]]]), status: 400, param: "messages[0].role",
                 message: "'tool' is not supported"),
            Case(name: "bad part", body: json(["messages": [["role": "user", "content": [["type": "input_audio"]]]]]), status: 400,
                 param: "messages[0].content[0].type", message: "'input_audio' is not supported"),
            Case(name: "out of range", body: json(["messages": hello, "top_p": 0]), status: 400, param: "top_p", message: "top_p must be in (0, 1]"),
            Case(name: "max_tokens 0", body: json(["messages": hello, "max_tokens": 0]), status: 400, param: "max_tokens", message: "at least 1"),
            Case(name: "n > 1", body: json(["messages": hello, "n": 2]), status: 400, param: "n", message: "must be 1"),
            Case(name: "tools", body: json(["messages": hello, "tools": [["type": "function"]]]), status: 400, param: "tools", message: "not supported"),
            Case(name: "penalty", body: json(["messages": hello, "presence_penalty": 0.5]), status: 400, param: "presence_penalty", message: "not supported"),
            Case(name: "top_logprobs alone", body: json(["messages": hello, "top_logprobs": 2]), status: 400, param: "top_logprobs",
                 message: "needs 'logprobs': true"),
            Case(name: "stop", body: json(["messages": hello, "stop": 3]), status: 400, param: "stop", message: "'stop' must be a string"),
            Case(name: "stream_options without stream", body: json(["messages": hello, "stream_options": ["include_usage": true]]), status: 400,
                 param: "stream_options", message: "only allowed with 'stream': true"),
            Case(name: "too many images", body: json(["messages": [imageMessage(wide, "a"), imageMessage(wide, "b"), imageMessage(wide, "c")]]),
                 status: 400, param: "messages", message: "3 images, more than the limit of 2"),
            Case(name: "not an image", body: json(["messages": [imageMessage("data:image/png;base64," + Data("hello".utf8).base64EncodedString(), "?")]]),
                 status: 400, param: "messages[0].content[0].image_url.url", message: "not a PNG or JPEG image"),
            Case(name: "not base64", body: json(["messages": [imageMessage("data:image/png,plain", "?")]]), status: 400,
                 param: "messages[0].content[0].image_url.url", message: "must hold base64 data"),
            Case(name: "too many pixels", body: json(["messages": [imageMessage(chart, "?")]]), status: 400,
                 param: "messages[0].content[0].image_url.url", message: "over the limit of 40000"),
            Case(name: "truncated image", body: json(["messages": [imageMessage(cut, "?")]]), status: 400,
                 param: "messages[0].content[0].image_url.url", message: "truncated image"),
            Case(name: "remote image not allowed", body: json(["messages": [imageMessage("https://example.com/a.png", "?")]]), status: 400,
                 param: "messages[0].content[0].image_url.url", message: "--allow-remote-images"),
            Case(name: "local image not allowed", body: json(["messages": [imageMessage("file:///etc/hostname", "?")]]), status: 400,
                 param: "messages[0].content[0].image_url.url", message: "--allow-local-images"),
            Case(name: "prompt over the context", body: json(["messages": [["role": "user", "content": String(repeating: "word ", count: 1500)]]]),
                 status: 400, param: "messages", message: "the model's context holds 1024"),
            Case(name: "body too large", body: json(["messages": hello, "padding": String(repeating: "x", count: 300_000)]), status: 413, param: nil,
                 message: "larger than the limit of 200000 bytes"),
        ]
        for item in cases {
            let (status, data) = try await server.send("v1/chat/completions", body: item.body)
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            let error = object.flatMap(errorObject)
            #expect(status == item.status, "\(item.name): \(String(decoding: data, as: UTF8.self))")
            #expect((error?["message"] as? String)?.contains(item.message) == true, "\(item.name): \(String(decoding: data, as: UTF8.self))")
            #expect(error?["type"] as? String == "invalid_request_error", "\(item.name)")
            #expect((error?["param"] as? String) == item.param && error?.keys.contains("param") == true && error?.keys.contains("code") == true,
                    "\(item.name): \(String(decoding: data, as: UTF8.self))")
        }
        #expect(errorObject(try await server.complete(["messages": [["role": "user", "content": String(repeating: "word ", count: 1500)]]]).json)?["code"]
                as? String == "context_length_exceeded")
        let (status, data) = try await server.send("v1/nothing", method: "GET")
        #expect(status == 404 && String(decoding: data, as: UTF8.self).contains("not_found_error"))
        // Still serving.
        let (okStatus, ok) = try await server.complete(["messages": hello, "max_tokens": 2])
        #expect(okStatus == 200 && content(ok) != nil)
        #expect(try await server.health()["slots_processing"] as? Int == 0)
        try await server.stop()
    }

    @Test func apiKeyIsRequiredWhenSet() async throws {
        let server = try await TestServer { $0.apiKey = "sesame" }
        let body: [String: Any] = ["messages": hello, "max_tokens": 1]
        for headers in [[:], ["Authorization": "Bearer sesam"], ["Authorization": "Bearer sesame2"], ["Authorization": "sesame"]] {
            let (status, json) = try await server.complete(body, headers: headers)
            #expect(status == 401 && errorObject(json)?["code"] as? String == "invalid_api_key", "\(headers)")
        }
        #expect(try await server.complete(body, headers: ["Authorization": "Bearer sesame"]).status == 200)
        #expect(try await server.send("v1/models", method: "GET").status == 401)
        #expect(try await server.send("health", method: "GET").status == 200)
        try await server.stop()
    }

    /// file:// images: read inside the allowed folder, refused outside it, through `..` or a
    /// symlink alike, with one message that does not tell whether the file exists.
    @Test func localImagesStayInsideTheirFolder() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("server-images-\(UUID())")
        let allowed = root.appendingPathComponent("allowed")
        try FileManager.default.createDirectory(at: allowed, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Fixtures.url("processor/images/wide-513x77.png"), to: allowed.appendingPathComponent("wide.png"))
        try FileManager.default.copyItem(at: Fixtures.url("processor/images/wide-513x77.png"), to: root.appendingPathComponent("secret.png"))
        try FileManager.default.createSymbolicLink(at: allowed.appendingPathComponent("link.png"), withDestinationURL: root.appendingPathComponent("secret.png"))
        defer { try? FileManager.default.removeItem(at: root) }

        let server = try await TestServer { $0.localImageFolder = allowed }
        let (status, json) = try await server.complete(["messages": [imageMessage("file://" + allowed.appendingPathComponent("wide.png").path, "?")], "max_tokens": 3])
        #expect(status == 200, "\(json)")
        #expect(content(json) == (try libraryAnswer([imageMessage(wide, "?")], .init(maxNewTokens: 3)).text))
        for path in [allowed.path + "/../secret.png", allowed.appendingPathComponent("link.png").path, root.appendingPathComponent("secret.png").path,
                     allowed.appendingPathComponent("missing.png").path, "/etc/passwd"] {
            let (status, json) = try await server.complete(["messages": [imageMessage("file://" + path, "?")]])
            #expect(status == 400 && (errorObject(json)?["message"] as? String)?.contains("not a readable file inside the folder") == true, "\(path): \(json)")
        }
        try await server.stop()
    }

    /// http(s) images with --allow-remote-images, from a real HTTP server on loopback: fetched
    /// and answered like the same image as a data: URI; too large or missing, a 400.
    @Test func remoteImagesAreFetchedWithinLimits() async throws {
        let png = try Fixtures.bytes("processor/images/wide-513x77.png")
        let router = Router()
        router.get("/wide.png") { _, _ in Response(status: .ok, headers: [.contentType: "image/png"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: png))) }
        router.get("/big.png") { _, _ in ByteBuffer(bytes: [UInt8](repeating: 0, count: 100_000)) }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var quiet = Logger(label: "image-server")
        quiet.logLevel = .critical
        let images = Application(router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
                                 onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: quiet)
        let imageServer = Task { try await images.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())

        let server = try await TestServer { options in
            options.allowRemoteImages = true
            options.remoteImageMaxBytes = 40_000
        }
        let (status, json) = try await server.complete(["messages": [imageMessage("http://127.0.0.1:\(port)/wide.png", "?")], "max_tokens": 3])
        #expect(status == 200, "\(json)")
        #expect(content(json) == (try libraryAnswer([imageMessage(wide, "?")], .init(maxNewTokens: 3)).text))
        for (path, message) in [("big.png", "over the limit of 40000"), ("missing.png", "HTTP status 404")] {
            let (status, json) = try await server.complete(["messages": [imageMessage("http://127.0.0.1:\(port)/\(path)", "?")]])
            #expect(status == 400 && (errorObject(json)?["message"] as? String)?.contains(message) == true, "\(path): \(json)")
        }
        try await server.stop()
        imageServer.cancel()
    }
}
