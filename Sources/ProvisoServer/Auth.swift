import Hummingbird
import HTTPTypes
import Synchronization
public import ProvisoCore
import ProvisoStore

/// Who is calling. Members (sessions) join this when the web pages arrive.
public enum Principal: Sendable, Equatable {
    case service(name: String, scopes: Set<Scope>)
    /// A member signed in with a session cookie.
    case member(id: String)
}

/// The authenticated caller of the current request, for the OpenAPI handlers (which do not
/// see the router's context): set by `BearerAuthMiddleware` for the request's task.
enum CurrentPrincipal {
    @TaskLocal static var value: Principal?

    /// The caller, who must hold `scope`: 401 without credentials, 403 without the scope.
    static func require(_ scope: Scope) throws(APIError) -> Principal {
        guard let p = value else { throw .unauthorized() }
        switch p {
        case let .service(name, scopes):
            guard scopes.contains(scope) else { throw .forbidden("token \"\(name)\" lacks the scope \(scope.rawValue)") }
        case .member:
            throw .forbidden("members cannot use this operation; it needs a service token with \(scope.rawValue)")
        }
        return p
    }

    /// A member reaches only their own data; a service needs `members:admin`.
    static func requireAccess(toMember member: String) throws(APIError) -> Principal {
        guard let p = value else { throw .unauthorized() }
        switch p {
        case let .member(id):
            guard id == member else { throw .forbidden("members can reach only their own settings and history") }
        case let .service(name, scopes):
            guard scopes.contains(.membersAdmin) else { throw .forbidden("token \"\(name)\" lacks the scope members:admin") }
        }
        return p
    }

    /// The actor recorded in the ledger for this caller.
    static func actor(_ p: Principal) -> String {
        switch p {
        case let .member(id): "member:\(id)"
        case let .service(name, _): "token:\(name)"
        }
    }

    /// Any authenticated caller.
    static func requireAny() throws(APIError) -> Principal {
        guard let p = value else { throw .unauthorized() }
        return p
    }
}

/// Per-request values the OpenAPI handlers need beyond their typed input: the raw session
/// cookie (to end it at logout) and cookies to set on the response. Cookies are set here, not
/// through the generated headers, because those percent-encode `;` and `=`.
enum CurrentRequest {
    @TaskLocal static var cookie: String?
    @TaskLocal static var jar: CookieJar?
    @TaskLocal static var session: MemberSession?

    static func setCookie(_ value: String) { jar?.cookies.withLock { $0.append(value) } }
}

final class CookieJar: Sendable {
    let cookies = Mutex<[String]>([])
}

/// The session cookie's name.
let sessionCookie = "proviso_session"

/// Resolves the caller: `Authorization: Bearer …` to a service, else the session cookie to a
/// member. Everything under `/v1/` (but signing in) needs credentials, checked before the
/// body is read, so an anonymous caller learns nothing but 401. A token that is unknown or
/// revoked is a 401 even on open endpoints: a client sending a bad credential should learn
/// it. A request authenticated by cookie that changes anything must carry the session's CSRF
/// token. Scopes and member access are checked by each operation.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let store: any ConsentStore
    let now: @Sendable () -> Micros
    let tokens: TokenCache

    static func isSafe(_ m: HTTPRequest.Method) -> Bool { m == .get || m == .head || m == .options }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Only signing in and out sets cookies from a generated handler; other requests (the
        // decision hot path among them) skip the jar.
        guard request.uri.path == "/v1/session" else { return try await authenticate(request, context: context, next: next) }
        let jar = CookieJar()
        var response = try await CurrentRequest.$jar.withValue(jar) { try await authenticate(request, context: context, next: next) }
        for cookie in jar.cookies.withLock({ $0 }) { response.headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return response
    }

    func authenticate(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            if let cookie = request.cookies[sessionCookie]?.value {
                let session: MemberSession?
                do { session = try await store.session(idHash: TokenSecret.hash(cookie), now: now()) } catch {
                    throw APIError(.serviceUnavailable, "the session cannot be checked right now")
                }
                if let session {
                    // The JSON API takes the CSRF token in a header; the web forms carry it as a
                    // field, checked by the page controller.
                    if !Self.isSafe(request.method), request.uri.path.hasPrefix("/v1/") {
                        guard let sent = request.headers[csrfHeader], constantTimeEqual(sent, session.csrfToken) else {
                            throw APIError.forbidden("missing or invalid CSRF token (send the X-CSRF-Token header)")
                        }
                    }
                    return try await CurrentPrincipal.$value.withValue(.member(id: session.memberID)) {
                        try await CurrentRequest.$cookie.withValue(cookie) {
                            try await CurrentRequest.$session.withValue(session) { try await next(request, context) }
                        }
                    }
                }
            }
            if request.uri.path.hasPrefix("/v1/"), request.uri.path != "/v1/session" || request.method != .post {
                throw APIError.unauthorized()
            }
            return try await next(request, context)
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw APIError.unauthorized("the Authorization header must be \"Bearer <token>\"")
        }
        let hash = TokenSecret.hash(String(parts[1]))
        let token: ServiceToken?
        if let cached = tokens.lookup(hash, now: now()) {
            token = cached
        } else {
            do {
                token = try await store.activeToken(hash: hash)
            } catch {
                // Only decisions may go on, and they fail closed on a stale view; anything
                // else needs the store and says so.
                guard let known = tokens.lastKnown(hash), request.uri.path.hasPrefix("/v1/decisions") else {
                    throw APIError(.serviceUnavailable, "credentials cannot be checked right now")
                }
                token = known
            }
            if let token { tokens.remember(hash, token, now: now()) }
        }
        guard let token else { throw APIError.unauthorized("the token is unknown or revoked") }
        return try await CurrentPrincipal.$value.withValue(.service(name: token.name, scopes: token.scopes)) {
            try await next(request, context)
        }
    }
}

/// The header that carries the CSRF token on unsafe requests made with the session cookie.
let csrfHeader = HTTPField.Name("X-CSRF-Token")!

/// Compares secrets without an early exit, so timing does not leak how much matched.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<x.count { diff |= x[i] ^ y[i] }
    return diff == 0
}

/// Recently verified service tokens, so a pipeline calling thousands of times a second does
/// not read the store on every request. Only valid tokens are kept, for `ttl`: a revoked
/// token stops working within that time on every instance.
final class TokenCache: Sendable {
    let entries = Mutex<[[UInt8]: (token: ServiceToken, until: Micros)]>([:])
    let ttl: Micros

    init(ttl: Micros = 2 * Time.microsPerSecond) { self.ttl = ttl }

    func lookup(_ hash: [UInt8], now: Micros) -> ServiceToken? {
        entry(hash, now: now)?.token
    }

    /// A verified token and until when it may be used without reading the store again.
    func entry(_ hash: [UInt8], now: Micros) -> (token: ServiceToken, until: Micros)? {
        entries.withLock { e in
            guard let hit = e[hash], hit.until > now else { return nil }
            return hit
        }
    }

    /// A token verified before, however long ago: used only while the store cannot be read,
    /// so that a service keeps getting answers — which are then denials with
    /// `state-unavailable` — rather than errors. It grants nothing a decision could allow.
    func lastKnown(_ hash: [UInt8]) -> ServiceToken? {
        entries.withLock { $0[hash]?.token }
    }

    func remember(_ hash: [UInt8], _ token: ServiceToken, now: Micros) {
        entries.withLock { e in
            if e.count > 10_000 { e.removeAll() }
            e[hash] = (token, now + ttl)
        }
    }
}
