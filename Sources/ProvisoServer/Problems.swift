public import Hummingbird
import Foundation
import HTTPTypes
import Logging
import NIOCore
import OpenAPIRuntime

/// An error meant for the client, mapped to RFC 9457 problem details at the edge.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var detail: String

    public init(_ status: HTTPResponse.Status, _ detail: String) {
        self.status = status
        self.detail = detail
    }

    static func unauthorized(_ detail: String = "a bearer token is required") -> APIError { APIError(.unauthorized, detail) }
    static func forbidden(_ detail: String) -> APIError { APIError(.forbidden, detail) }
    static func badRequest(_ detail: String) -> APIError { APIError(.badRequest, detail) }

    /// The most decisions one batch may ask for.
    static let maxBatch = 10_000

    /// A batch over `maxBatch`, refused the same way by every path that serves batches.
    static func checkBatch(_ count: Int) throws(APIError) {
        guard count <= maxBatch else {
            throw APIError(.contentTooLarge, "a batch holds at most 10,000 requests; this one has \(count)")
        }
    }
}

/// Turns every error into `application/problem+json` with a useful `detail`, and never a
/// stack trace: unexpected errors are logged and answered with a generic 500.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Renders errors as HTML pages for people (anything outside the API's paths).
    let pages: WebPages?

    static func isAPI(_ path: String) -> Bool {
        path.hasPrefix("/v1/") || path.hasPrefix("/.well-known/") || path == "/healthz" || path == "/readyz" || path == "/metrics"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let pages, !Self.isAPI(request.uri.path) else { return try await problems(request, context: context, next: next) }
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return pages.errorPage(error.status, error.detail)
        } catch let error as HTTPError {
            let message = error.status == .notFound ? "There is no page at this address." : "Something went wrong with this request."
            return pages.errorPage(error.status, message)
        } catch {
            context.logger.error("unhandled error on a page: \(String(reflecting: type(of: error)))")
            return pages.errorPage(.internalServerError, "Something went wrong on our side. It has been logged; please try again.")
        }
    }

    func problems(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return Self.problem(error.status, error.detail, authenticate: error.status == .unauthorized)
        } catch let error as ServerError {
            if let api = error.underlyingError as? APIError {
                return Self.problem(api.status, api.detail, authenticate: api.status == .unauthorized)
            }
            if error.underlyingError is DecodingError {
                return Self.problem(.badRequest, "the request body could not be read: \(Self.describe(error.underlyingError))")
            }
            if (400..<500).contains(error.httpStatus.code) {
                return Self.problem(error.httpStatus, error.causeDescription)
            }
            context.logger.error("unhandled error in \(error.operationID): \(error.causeDescription)")
            return Self.problem(.internalServerError, "an internal error occurred; it has been logged")
        } catch let error as HTTPError {
            return Self.problem(error.status, error.body ?? error.status.reasonPhrase)
        } catch {
            context.logger.error("unhandled error: \(String(reflecting: type(of: error)))")
            return Self.problem(.internalServerError, "an internal error occurred; it has been logged")
        }
    }

    static func describe(_ error: any Error) -> String {
        guard let d = error as? DecodingError else { return "invalid request" }
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "" : " at \(p.hasPrefix(".") ? String(p.dropFirst()) : p)"
        }
        switch d {
        case let .typeMismatch(_, c): return "wrong type\(path(c)): \(c.debugDescription)"
        case let .valueNotFound(_, c): return "missing value\(path(c))"
        case let .keyNotFound(key, c): return "missing field \"\(key.stringValue)\"\(path(c))"
        case let .dataCorrupted(c): return "\(c.debugDescription)\(path(c))"
        @unknown default: return "invalid request"
        }
    }

    /// An RFC 9457 problem response.
    static func problem(_ status: HTTPResponse.Status, _ detail: String, authenticate: Bool = false) -> Response {
        var json = "{\"type\":\"about:blank\",\"title\":"
        json += quoted(status.reasonPhrase)
        json += ",\"status\":\(status.code),\"detail\":"
        json += quoted(detail)
        json += "}"
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if authenticate { headers[.wwwAuthenticate] = "Bearer realm=\"proviso\"" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    static func quoted(_ s: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [s])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}

/// Refuses bodies over a limit with 413 before any handler reads them, whether the client
/// sent a Content-Length or streamed the body.
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw APIError(.contentTooLarge, "the body is \(length) bytes; the limit is \(limit)")
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch let e as HTTPError where e.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "the body is over the limit of \(limit) bytes")
        }
        request.body = .init(buffer: buffer)
        return try await next(request, context)
    }
}
