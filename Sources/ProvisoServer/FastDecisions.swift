import Hummingbird
import HTTPTypes
import NIOCore
import ProvisoCore

/// Serves `POST /v1/decisions` and `/v1/decisions/batch` — the hot paths — with Proviso's own
/// strict JSON reader and writer instead of the generic Codable layer, which costs more than
/// the decisions themselves. Same contract as `openapi.yaml` (unknown fields refused, the
/// same answers and errors); the router tests and the schemathesis run hold it to that.
struct FastDecisionsMiddleware<Context: RequestContext>: RouterMiddleware {
    let endpoints: DecisionEndpoints

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard request.method == .post, path == DecisionEndpoints.single || path == DecisionEndpoints.batch else {
            return try await next(request, context)
        }
        _ = try CurrentPrincipal.require(.decisionsRead)
        if let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/json") {
            throw APIError(.unsupportedMediaType, "send the request as application/json")
        }
        let body = try await request.body.collect(upTo: endpoints.limit)
        switch endpoints.answer(path: path, body: body) {
        case let .success(out): return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: out))
        case let .failure(problem): throw problem
        }
    }
}

/// The decision endpoints' answers, bytes in and bytes out, shared by the router middleware and
/// the channel handler that answers single decisions on the event loop.
struct DecisionEndpoints: Sendable {
    static let single = "/v1/decisions"
    static let batch = "/v1/decisions/batch"

    let service: ConsentService
    let metrics: ServerMetrics
    let limit: Int
    let now: @Sendable () -> Micros

    /// The JSON answer for a request body already authorised for `decisions:read`, or the
    /// problem to answer instead (nothing is decided or counted for a refused body).
    func answer(path: String, body: ByteBuffer) -> Result<ByteBuffer, APIError> {
        if path == Self.batch, let bytes = fastBatch(body) {
            return .success(ByteBuffer(bytes: bytes))
        }
        let json: JSON
        do {
            json = try body.withUnsafeReadableBytes { try JSON.parse($0) }
        } catch let e as JSONError {
            return .failure(.badRequest("the request body is not valid JSON: \(e.description)"))
        } catch {
            return .failure(.badRequest("the request body is not valid JSON"))
        }
        let t = now()
        var out = ""
        if path == Self.single {
            let request: DecisionRequest
            do { request = try DecisionRequest.from(json: json) } catch { return .failure(.badRequest(error.message)) }
            let d = service.decide(request, now: t)
            metrics.decided(Purpose(code: request.purpose), allowed: d.allowed)
            out = d.json
        } else {
            guard case let .object(fields) = json else { return .failure(.badRequest("expected an object {\"requests\":[…]}")) }
            for f in fields where f.key != "requests" { return .failure(.badRequest("unknown field \"\(f.key)\" (expected: requests)")) }
            guard case let .array(items)? = json["requests"] else { return .failure(.badRequest("requests must be an array of decision requests")) }
            do { try APIError.checkBatch(items.count) } catch { return .failure(error) }
            var requests: [DecisionRequest] = []
            requests.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                do { requests.append(try DecisionRequest.from(json: item)) } catch {
                    return .failure(.badRequest("requests[\(i)]: \(error.message)"))
                }
            }
            let decisions = service.decide(requests, now: t)
            out.reserveCapacity(decisions.count * 96 + 16)
            out += "{\"decisions\":["
            for (i, d) in decisions.enumerated() {
                if i > 0 { out += "," }
                out += d.json
                metrics.decided(Purpose(code: requests[i].purpose), allowed: d.allowed)
            }
            out += "]}"
        }
        return .success(ByteBuffer(string: out))
    }

    /// The one-pass batch: bytes in, bytes out, against one snapshot of the projection.
    /// `nil` when the body is not in the strict common form; the generic path then answers.
    func fastBatch(_ body: ByteBuffer) -> [UInt8]? {
        let t = now()
        let state = service.snapshot(at: t)
        let engine = service.engine
        var out: [UInt8] = []
        out.reserveCapacity(body.readableBytes + 64)
        out.append(contentsOf: #"{"decisions":["#.utf8)
        var counts = [Int](repeating: 0, count: (Purpose.allCases.count + 1) * 2)
        var lastVersion = ""
        var quotedVersion: [UInt8] = []
        var first = true
        let ok = body.withUnsafeReadableBytes { raw in
            var scanner = BatchScanner(raw)
            return scanner.scan(state: state, now: t) { q in
                let d = engine.decide(q, in: state)
                if d.policyVersion != lastVersion {
                    lastVersion = d.policyVersion
                    quotedVersion = Array(JSON.quoted(d.policyVersion).utf8)
                }
                if !first { out.append(0x2C) }
                first = false
                d.write(to: &out, version: quotedVersion)
                counts[Int(q.purpose?.rawValue ?? UInt8(Purpose.allCases.count)) * 2 + (d.allowed ? 0 : 1)] += 1
            }
        }
        guard ok else { return nil }
        out.append(contentsOf: "]}".utf8)
        metrics.decided(counts: counts)
        return out
    }
}
