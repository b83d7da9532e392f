import Testing
import ProvisoCore

@Suite struct ReceiptTests {
    static let receipt = Receipt(issuer: "proviso-test", member: "m1", seq: 42, time: at("2026-01-05T10:00:01Z"),
                                 effectiveAt: at("2026-01-05T10:00:00Z"), setting: .genaiImprovement, on: false,
                                 policyVersion: "seed-2025-11-03", channel: .web, eventHash: String(repeating: "ab", count: 32))

    @Test func keyIdsAreRFC7638ThumbprintsAsInRFC8037() throws {
        // RFC 8037, appendix A.1–A.3.
        let d = try #require(Base64URL.decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"))
        let key = try #require(ReceiptKey(privateKey: d))
        #expect(Base64URL.encode(key.publicKey) == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
        #expect(key.kid == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
    }

    @Test func aSignedReceiptVerifiesWithThePublishedKeySet() throws {
        let key = ReceiptKey.generate()
        let jws = Self.receipt.sign(with: key)
        #expect(jws.split(separator: ".").count == 3)
        let published = try ReceiptKey.keys(fromJWKS: ReceiptKey.jwks([key]))
        #expect(published.first?.privateKeyBytes == nil, "a JWKS must carry public keys only")
        #expect(try Receipt.verify(jws, keys: published) == Self.receipt)
        #expect(!ReceiptKey.jwks([key]).contains(Base64URL.encode(key.privateKeyBytes!)))
    }

    @Test func anAlteredReceiptIsRejected() throws {
        let key = ReceiptKey.generate()
        let parts = Self.receipt.sign(with: key).split(separator: ".").map(String.init)
        var claims = String(decoding: Base64URL.decode(parts[1])!, as: UTF8.self)
        claims = claims.replacingOccurrences(of: #""value":"off""#, with: #""value":"on""#)
        let forged = parts[0] + "." + Base64URL.encode(Array(claims.utf8)) + "." + parts[2]
        #expect(throws: InputError.self) { try Receipt.verify(forged, keys: [key]) }
    }

    @Test func aReceiptFromAnotherKeyIsRejected() {
        let jws = Self.receipt.sign(with: .generate())
        #expect(throws: InputError.self) { try Receipt.verify(jws, keys: [.generate()]) }
        #expect(throws: InputError.self) { try Receipt.verify("not.a.jws", keys: []) }
    }
}
