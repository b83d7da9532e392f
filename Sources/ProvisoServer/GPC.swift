import Hummingbird
import HTTPTypes
import NIOCore
import ProvisoCore

/// Global Privacy Control (https://privacycg.github.io/gpc-spec/): a signed-in member's
/// request carrying `Sec-GPC: 1` — exactly that value — is an opt-out preference signal,
/// recorded once in the ledger with channel `gpc` (see `ConsentService.honourGPC`). Anonymous
/// requests carry no one to record it for; the signal is never read as an opt-in.
struct GPCMiddleware<Context: RequestContext>: RouterMiddleware {
    let service: ConsentService
    let now: @Sendable () -> Micros

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let session = CurrentRequest.session, request.headers[values: secGPC] == ["1"] {
            // Best effort per request: if the store cannot record it now, the next request will.
            _ = try? await service.honourGPC(member: session.memberID, now: now())
        }
        return try await next(request, context)
    }
}

/// The signal's header; its only meaningful value is exactly `1`.
let secGPC = HTTPField.Name("Sec-GPC")!

/// `/.well-known/gpc.json` (GPC spec §5): the site's statement that it honours the signal;
/// `lastUpdate` is when this support last changed.
func gpcWellKnown() -> Response {
    Response(status: .ok, headers: [.contentType: "application/json"],
             body: .init(byteBuffer: ByteBuffer(string: #"{"gpc":true,"lastUpdate":"2026-11-29"}"#)))
}
