import HummingbirdBcrypt
import NIOPosix
import ProvisoCore
import ProvisoStore

/// Member sign-in, shared by the JSON API and the login form: one place that checks
/// passwords and creates sessions.
struct SignIn {
    let store: any ConsentStore
    let sessionSeconds: Int64

    /// A bcrypt hash nobody's password matches, verified when the member is unknown so that
    /// timing does not tell which members exist.
    static let decoyHash = Bcrypt.hash("proviso-decoy-password", cost: 10)

    /// Checks the password and opens a new session (a new id at every sign-in, so a session
    /// id can never be fixed in advance). Returns the cookie value and the session.
    func signIn(member login: String, password: String, now: Micros) async throws(APIError) -> (cookie: String, session: MemberSession) {
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
        guard matches, stored != nil, let memberID else { throw APIError.unauthorized("unknown member or wrong password") }
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
