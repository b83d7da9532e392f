import Hummingbird
import HTTPTypes
import NIOCore
import ProvisoCore
import ProvisoStore

/// Publishing policy versions over HTTP (`POST /v1/policies`, scope `policy:admin`). The body
/// is the policy file itself; its bytes are kept as sent, so the digest a client computes over
/// its file is the digest recorded in the ledger.
enum PolicyAdmin {
    static func publish(text: String, service: ConsentService, now: Micros, actor: String) async throws(APIError) -> (PublishedPolicy, [Widening]) {
        let policy: Policy
        do { policy = try Policy.parse(text) } catch {
            throw APIError(.unprocessableContent, "not a valid policy: " + error.problems.map(\.description).joined(separator: "; "))
        }
        do {
            let publication = try await service.publish(policy, at: now, actor: actor)
            return (publication.published, publication.widenings)
        } catch {
            switch error {
            case .insufficientNotice, .effectiveDate: throw APIError(.unprocessableContent, error.description)
            case .duplicate: throw APIError(.conflict, error.description)
            case .store: throw APIError(.serviceUnavailable, "the policy could not be published right now; nothing was published")
            }
        }
    }

    static func json(_ p: PublishedPolicy, _ widenings: [Widening]) -> String {
        JSON.object([
            ("version", .string(p.version)),
            ("digest", .string(p.digest)),
            ("effective_from", .string(p.effectiveFrom.map(Time.formatDate(dayNumber:)) ?? Time.formatRFC3339(p.publishedAt))),
            ("published_at", .string(Time.formatRFC3339(p.publishedAt))),
            ("ledger_seq", .number(String(p.seq))),
            ("widenings", .array(widenings.map { w in
                .object([("purpose", .string(w.purpose.code)), ("region", .string(w.region.code)), ("change", .string(w.kind.code)),
                         ("notice_days", .number(String(w.noticeDays)))])
            })),
        ]).serialized
    }
}

/// Takes `POST /v1/policies` before the generated layer so the file's bytes reach the parser
/// untouched (the generic layer would decode and re-encode them, changing the digest).
struct PolicyPublishMiddleware<Context: RequestContext>: RouterMiddleware {
    let service: ConsentService
    let limit: Int
    let now: @Sendable () -> Micros

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, request.uri.path == "/v1/policies" else { return try await next(request, context) }
        let principal = try CurrentPrincipal.require(.policyAdmin)
        if let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/json") {
            throw APIError(.unsupportedMediaType, "send the policy file as application/json")
        }
        let body = try await request.body.collect(upTo: limit)
        let text = String(buffer: body)
        let (published, widenings) = try await PolicyAdmin.publish(text: text, service: service, now: now(),
                                                                   actor: CurrentPrincipal.actor(principal))
        return Response(status: .created, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: PolicyAdmin.json(published, widenings))))
    }
}
