import HummingbirdBcrypt
import Synchronization
import NIOPosix
import ProvisoCore
import ProvisoStore

/// Member sign-in, shared by the JSON API and the login form: one place that checks
/// passwords and creates sessions.
struct SignIn {
    let store: any ConsentStore
    let sessionSeconds: Int64
    let throttle: LoginThrottle

    /// A bcrypt hash nobody's password matches, verified when the member is unknown so that
    /// timing does not tell which members exist.
    static let decoyHash = Bcrypt.hash("proviso-decoy-password", cost: 10)

    /// Checks the password and opens a new session (a new id at every sign-in, so a session
    /// id can never be fixed in advance). Returns the cookie value and the session.
    func signIn(member login: String, password: String, now: Micros) async throws(APIError) -> (cookie: String, session: MemberSession) {
        if let wait = throttle.blocked(login, now: now) {
            throw APIError(.tooManyRequests, "too many failed sign-ins for this member; try again in \(wait / Time.microsPerSecond + 1) s")
        }
        let memberID: String?
        let stored: String?
        do {
            memberID = try await store.member(login) != nil ? login : try await store.memberID(handle: login)
            stored = try await memberID.asyncFlatMap { try await store.passwordHash(member: $0) }
        } catch {
            throw APIError(.serviceUnavailable, "sign-in is unavailable right now")
        }
        let hash = stored ?? Self.decoyHash
        // bcrypt is deliberately slow: run it on the thread pool, not the cooperative pool.
        let matches = (try? await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }) ?? false
        guard matches, stored != nil, let memberID else {
            throttle.failed(login, now: now)
            throw APIError.unauthorized("unknown member or wrong password")
        }
        throttle.succeeded(login)
        let cookie = TokenSecret.generate()
        let session = MemberSession(memberID: memberID, csrfToken: TokenSecret.generate(), createdAt: now,
                                    expiresAt: now + sessionSeconds * Time.microsPerSecond)
        do {
            try await store.createSession(session, idHash: TokenSecret.hash(cookie))
        } catch {
            throw APIError(.serviceUnavailable, "sign-in is unavailable right now")
        }
        return (cookie, session)
    }

    /// The session cookie: HttpOnly (no script reads it), SameSite=Lax (no cross-site posts),
    /// and Secure when the server is reached over TLS.
    static func cookie(_ value: String, maxAge: Int64, secure: Bool) -> String {
        "\(sessionCookie)=\(value); Path=/; HttpOnly; SameSite=Lax; Max-Age=\(maxAge)" + (secure ? "; Secure" : "")
    }
}

/// Slows password guessing: after `limit` failed sign-ins for one login name within `window`,
/// further attempts are refused until the window has passed. Kept per server instance (an
/// attacker spreading guesses over instances is still slowed by bcrypt on each).
final class LoginThrottle: Sendable {
    let failures = Mutex<[String: [Micros]]>([:])
    let limit: Int
    let window: Micros

    init(limit: Int = 5, window: Micros = 15 * 60 * Time.microsPerSecond) {
        self.limit = limit
        self.window = window
    }

    /// How long until `login` may try again, or nil if it may now.
    func blocked(_ login: String, now: Micros) -> Micros? {
        failures.withLock { f in
            let recent = (f[login] ?? []).filter { $0 > now - window }
            f[login] = recent.isEmpty ? nil : recent
            guard recent.count >= limit, let oldest = recent.first else { return nil }
            return oldest + window - now
        }
    }

    func failed(_ login: String, now: Micros) {
        failures.withLock { f in
            if f.count > 100_000 { f.removeAll() }
            f[login, default: []].append(now)
        }
    }

    func succeeded(_ login: String) { _ = failures.withLock { $0.removeValue(forKey: login) } }
}
