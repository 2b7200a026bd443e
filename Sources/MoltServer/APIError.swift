import Foundation
import Hummingbird
import MoltCore

/// An error answered in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, so
/// stock clients show the message.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let message: String
    /// The request field at fault, when one is.
    public let param: String?

    public init(_ status: HTTPResponse.Status, _ message: String, param: String? = nil) {
        self.status = status
        self.message = message
        self.param = param
    }

    /// 400 naming the field at fault.
    static func field(_ name: String, _ problem: String) -> APIError {
        APIError(.badRequest, "'\(name)' \(problem)", param: name)
    }

    /// nginx's 499: the client closed the connection before its answer was ready. It is never
    /// delivered; it is what `/metrics` counts for such a request.
    static let clientClosedRequest = APIError(
        HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request"), "the client closed the connection")

    /// OpenAI's error type for the status.
    var type: String {
        switch status.code {
        case 401: "authentication_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 503: "unavailable_error"
        case 500...: "server_error"
        default: "invalid_request_error"
        }
    }

    var json: JSON {
        .object([
            ("error", .object([
                ("message", .string(message)), ("type", .string(type)), ("param", param.map(JSON.string) ?? .null),
                ("code", .int(status.code)),
            ]))
        ])
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = Response.json(json, status: status)
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }

    /// Any error a handler or Hummingbird threw, as the response a client gets.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError: return error
        case let error as any HTTPResponseError where error.status == .notFound: return APIError(.notFound, "no such route")
        case let error as any HTTPResponseError where error.status == .contentTooLarge:
            return APIError(.contentTooLarge, "the request body is larger than the server accepts")
        case let error as HTTPError: return APIError(error.status, error.body ?? error.status.reasonPhrase)
        case let error as any HTTPResponseError: return APIError(error.status, error.status.reasonPhrase)
        case let error as MoltError: return APIError(.badRequest, error.message)
        default: return APIError(.internalServerError, "internal error: \(error)")
        }
    }
}

extension Response {
    /// A JSON body with its content type.
    static func json(_ value: JSON, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: value.serialized())))
    }
}
