internal import Crypto
import Foundation

/// base64url without padding (RFC 4648 §5), as JOSE uses it.
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 }) else { return nil }
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map(Array.init)
    }
}

/// An Ed25519 key that signs consent receipts. The private half never leaves the store
/// and the process; the public half is published as a JWK.
public struct ReceiptKey: Sendable, Equatable {
    /// RFC 7638 thumbprint of the public key: the `kid` in receipts and the JWKS.
    public let kid: String
    public let publicKey: [UInt8]
    let privateKey: [UInt8]?

    /// A new random key.
    public static func generate() -> ReceiptKey {
        let key = Curve25519.Signing.PrivateKey()
        return ReceiptKey(privateKey: Array(key.rawRepresentation))!
    }

    /// A signing key from its 32 private bytes.
    public init?(privateKey: [UInt8]) {
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: privateKey) else { return nil }
        self.privateKey = privateKey
        publicKey = Array(key.publicKey.rawRepresentation)
        kid = ReceiptKey.thumbprint(publicKey)
    }

    /// A verification-only key (from a JWKS).
    public init?(publicKey: [UInt8]) {
        guard publicKey.count == 32 else { return nil }
        self.privateKey = nil
        self.publicKey = publicKey
        kid = ReceiptKey.thumbprint(publicKey)
    }

    /// The private bytes, for the store only.
    public var privateKeyBytes: [UInt8]? { privateKey }

    static func thumbprint(_ publicKey: [UInt8]) -> String {
        let canonical = #"{"crv":"Ed25519","kty":"OKP","x":"\#(Base64URL.encode(publicKey))"}"#
        return Base64URL.encode(Array(SHA256.hash(data: Array(canonical.utf8))))
    }

    /// The public JWK.
    public var jwk: JSON {
        .object([("kty", .string("OKP")), ("crv", .string("Ed25519")), ("x", .string(Base64URL.encode(publicKey))),
                 ("kid", .string(kid)), ("use", .string("sig")), ("alg", .string("EdDSA"))])
    }

    /// A JWKS document of public keys.
    public static func jwks(_ keys: [ReceiptKey]) -> String {
        JSON.object([("keys", .array(keys.map(\.jwk)))]).serialized
    }

    /// Reads the Ed25519 keys of a JWKS document (others are ignored).
    public static func keys(fromJWKS text: String) throws(InputError) -> [ReceiptKey] {
        guard let doc = try? JSON.parse(text), case let .array(items)? = doc["keys"] else {
            throw InputError("not a JWKS document (expected {\"keys\":[…]})")
        }
        return items.compactMap { k in
            guard k["kty"] == .string("OKP"), k["crv"] == .string("Ed25519"), case let .string(x)? = k["x"],
                  let bytes = Base64URL.decode(x) else { return nil }
            return ReceiptKey(publicKey: bytes)
        }
    }
}

/// What a receipt proves: this change was recorded in the ledger at this position, with
/// this hash, under this policy. Signed as a compact JWS (EdDSA), verifiable offline.
public struct Receipt: Sendable, Equatable {
    public var issuer: String
    public var member: String
    public var seq: Int64
    /// Recorded time.
    public var time: Micros
    public var effectiveAt: Micros
    public var setting: SettingID
    public var on: Bool
    public var policyVersion: String
    public var channel: Channel
    public var eventHash: String

    /// The receipt of a recorded setting event; `nil` for other kinds of event.
    public init?(event e: LedgerEvent, issuer: String) {
        guard e.kind == .settingChanged, let member = e.memberID, let s = e.draft.setting, let v = e.draft.value,
              let c = e.draft.channel, let at = e.draft.effectiveAt else { return nil }
        self.init(issuer: issuer, member: member, seq: e.seq, time: e.recordedAt, effectiveAt: at, setting: s, on: v,
                  policyVersion: e.draft.policyVersion ?? "", channel: c, eventHash: e.hashHex)
    }

    public init(issuer: String, member: String, seq: Int64, time: Micros, effectiveAt: Micros, setting: SettingID, on: Bool,
                policyVersion: String, channel: Channel, eventHash: String) {
        self.issuer = issuer
        self.member = member
        self.seq = seq
        self.time = time
        self.effectiveAt = effectiveAt
        self.setting = setting
        self.on = on
        self.policyVersion = policyVersion
        self.channel = channel
        self.eventHash = eventHash
    }

    var claims: JSON {
        .object([
            ("iss", .string(issuer)), ("sub", .string(member)), ("iat", .number(String(time / Time.microsPerSecond))),
            ("time", .string(Time.formatRFC3339(time))), ("ledger_seq", .number(String(seq))),
            ("setting", .string(setting.code)), ("value", .string(on ? "on" : "off")),
            ("effective_at", .string(Time.formatRFC3339(effectiveAt))), ("policy_version", .string(policyVersion)),
            ("channel", .string(channel.code)), ("event_hash", .string(eventHash)),
        ])
    }

    /// The compact JWS: header.claims.signature, each base64url.
    public func sign(with key: ReceiptKey) -> String {
        precondition(key.privateKey != nil, "signing needs a private key")
        let header = JSON.object([("alg", .string("EdDSA")), ("typ", .string("proviso-receipt+jwt")), ("kid", .string(key.kid))])
        let input = Base64URL.encode(Array(header.serialized.utf8)) + "." + Base64URL.encode(Array(claims.serialized.utf8))
        let signer = try! Curve25519.Signing.PrivateKey(rawRepresentation: key.privateKey!)
        let signature = try! signer.signature(for: Array(input.utf8))
        return input + "." + Base64URL.encode(Array(signature))
    }

    /// Verifies a compact JWS against known public keys; returns the receipt it carries.
    public static func verify(_ jws: String, keys: [ReceiptKey]) throws(InputError) -> Receipt {
        let parts = jws.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(String(parts[0])), let claimBytes = Base64URL.decode(String(parts[1])),
              let signature = Base64URL.decode(String(parts[2])),
              let header = try? JSON.parse(String(decoding: headerBytes, as: UTF8.self)),
              let claims = try? JSON.parse(String(decoding: claimBytes, as: UTF8.self))
        else { throw InputError("not a compact JWS receipt") }
        guard header["alg"] == .string("EdDSA") else { throw InputError("unsupported algorithm (receipts are EdDSA)") }
        guard case let .string(kid)? = header["kid"], let key = keys.first(where: { $0.kid == kid }) else {
            throw InputError("signed by an unknown key (kid not in the key set)")
        }
        guard let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: key.publicKey),
              publicKey.isValidSignature(signature, for: Array((parts[0] + "." + parts[1]).utf8))
        else { throw InputError("the signature does not match: the receipt was altered or not issued with this key") }
        func str(_ k: String) -> String? { if case let .string(s)? = claims[k] { s } else { nil } }
        guard let iss = str("iss"), let sub = str("sub"), case let .number(seqText)? = claims["ledger_seq"], let seq = Int64(seqText),
              let time = str("time").flatMap(Time.parseRFC3339), let eff = str("effective_at").flatMap(Time.parseRFC3339),
              let setting = str("setting").flatMap(SettingID.init(code:)), let value = str("value"),
              let policy = str("policy_version"), let channel = str("channel").flatMap(Channel.init(code:)), let hash = str("event_hash")
        else { throw InputError("the receipt's claims are incomplete") }
        return Receipt(issuer: iss, member: sub, seq: seq, time: time, effectiveAt: eff, setting: setting, on: value == "on",
                       policyVersion: policy, channel: channel, eventHash: hash)
    }
}
