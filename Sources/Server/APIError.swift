import Foundation
import Hummingbird

/// An error as OpenAI's API reports it: an HTTP status and
/// `{"error": {"message", "type", "param", "code"}}`, with llama.cpp's server's types.
struct APIError: Error, CustomStringConvertible {
    let status: HTTPResponse.Status
    let message: String
    let type: String
    /// The request field at fault (a JSON path such as `messages[0].content[1].image_url.url`).
    let param: String?
    let code: String?
    /// Extra response headers (Retry-After on 429 and 503).
    var headers: HTTPFields = [:]

    var description: String { message }

    static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    static func unsupported(_ param: String, _ why: String) -> APIError {
        invalid("'\(param)' \(why)", param: param, code: "unsupported_parameter")
    }

    static let unauthorized = APIError(status: .unauthorized, message: "invalid or missing API key (send Authorization: Bearer KEY)",
                                       type: "authentication_error", param: nil, code: "invalid_api_key")

    static func tooLarge(limit: Int) -> APIError {
        APIError(status: .contentTooLarge, message: "the request body is larger than the limit of \(limit) bytes (--max-body-bytes)",
                 type: "invalid_request_error", param: nil, code: "request_too_large")
    }

    static func queueFull(limit: Int) -> APIError {
        APIError(status: .tooManyRequests, message: "the server is busy: \(limit) requests are already waiting (--queue-limit); retry later",
                 type: "rate_limit_error", param: nil, code: "queue_full", headers: [.retryAfter: "1"])
    }

    static let shuttingDown = APIError(status: .serviceUnavailable, message: "the server is shutting down",
                                       type: "unavailable_error", param: nil, code: nil, headers: [.retryAfter: "5"])

    static func notFound(_ request: Request) -> APIError {
        APIError(status: .notFound, message: "no route for \(request.method) \(request.uri.path)", type: "not_found_error", param: nil, code: nil)
    }

    static func server(_ message: String) -> APIError {
        APIError(status: .internalServerError, message: message, type: "server_error", param: nil, code: nil)
    }

    /// The JSON body.
    var body: Data {
        let object = ErrorBody(error: .init(message: message, type: type, param: param, code: code))
        return (try? JSONEncoder.api.encode(object)) ?? Data()
    }

    var response: Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    private struct ErrorBody: Encodable {
        struct Detail: Encodable {
            let message: String
            let type: String
            let param: String?
            let code: String?

            // OpenAI sends `param` and `code` as null rather than leaving them out.
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(message, forKey: .message)
                try container.encode(type, forKey: .type)
                try container.encode(param, forKey: .param)
                try container.encode(code, forKey: .code)
            }

            enum CodingKeys: String, CodingKey { case message, type, param, code }
        }
        let error: Detail
    }
}

extension JSONEncoder {
    /// Compact output with keys in a fixed order, and `/` left alone (URLs and base64 read as written).
    static var api: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
