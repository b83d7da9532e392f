public import Hummingbird
public import ProvisoCore
import ProvisoStore

/// Who is calling. Members (sessions) join this when the web pages arrive.
public enum Principal: Sendable, Equatable {
    case service(name: String, scopes: Set<Scope>)
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
        }
        return p
    }

    /// Any authenticated caller.
    static func requireAny() throws(APIError) -> Principal {
        guard let p = value else { throw .unauthorized() }
        return p
    }
}

/// Resolves `Authorization: Bearer …` to a service principal. Everything under `/v1/` needs
/// credentials, checked before the body is read, so an anonymous caller learns nothing but
/// 401. A token that is unknown or revoked is a 401 even on open endpoints: a client sending
/// a bad credential should learn it. Scopes are checked by each operation.
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: any TokenStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            if request.uri.path.hasPrefix("/v1/") { throw APIError.unauthorized() }
            return try await next(request, context)
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw APIError.unauthorized("the Authorization header must be \"Bearer <token>\"")
        }
        let token: ServiceToken?
        do {
            token = try await tokens.activeToken(hash: TokenSecret.hash(String(parts[1])))
        } catch {
            throw APIError(.serviceUnavailable, "credentials cannot be checked right now")
        }
        guard let token else { throw APIError.unauthorized("the token is unknown or revoked") }
        return try await CurrentPrincipal.$value.withValue(.service(name: token.name, scopes: token.scopes)) {
            try await next(request, context)
        }
    }
}
