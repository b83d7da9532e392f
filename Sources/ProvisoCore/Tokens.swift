internal import Crypto

/// What a service token may do. Each API operation names the scope it needs.
public enum Scope: String, CaseIterable, Sendable, Hashable {
    case decisionsRead = "decisions:read"
    case membersAdmin = "members:admin"
    case policyAdmin = "policy:admin"
    case gateRun = "gate:run"
}

/// Service token secrets: random, shown once, stored only as a hash.
public enum TokenSecret {
    /// Prefix that makes a leaked token recognisable to secret scanners.
    public static let prefix = "pvs_"

    /// A new secret: 32 bytes from the system's cryptographic generator, base64url.
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        return prefix + base64url(bytes)
    }

    /// SHA-256 of the secret. Secrets carry 256 bits of entropy, so a fast hash is enough:
    /// there is nothing to brute-force, unlike a password.
    public static func hash(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], table[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)]]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)]]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
