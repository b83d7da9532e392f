internal import Crypto

/// What a service token may do. Each API operation names the scope it needs.
public enum Scope: String, CaseIterable, Sendable, Hashable {
    case decisionsRead = "decisions:read"
    case membersAdmin = "members:admin"
    case policyAdmin = "policy:admin"
    case gateRun = "gate:run"
    /// Compliance reports: aggregate figures only, never one member's record.
    case reportsRead = "reports:read"
}

/// Service token secrets: random, shown once, stored only as a hash.
public enum TokenSecret {
    /// Prefix that makes a leaked token recognisable to secret scanners.
    public static let prefix = "pvs_"

    /// A new secret: 32 bytes from the system's cryptographic generator, base64url.
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        return prefix + Base64URL.encode(bytes)
    }

    /// SHA-256 of the secret. Secrets carry 256 bits of entropy, so a fast hash is enough:
    /// there is nothing to brute-force, unlike a password.
    public static func hash(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }
}
