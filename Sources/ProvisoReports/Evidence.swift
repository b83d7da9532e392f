import Crypto
import Foundation
public import ProvisoCore
public import ProvisoStore
import ProvisoGate

/// One member's full record as a signed archive a regulator can verify offline, with nothing
/// but `tar`, `sha256sum` and `openssl` (README.txt inside says how), or with
/// `proviso evidence verify`. The archive is a ustar file:
///
/// - `member.json`, `settings.json` (effective settings as of the export, with source and why),
/// - `ledger.jsonl`: every ledger event about the member, with the fields their hashes cover,
/// - `receipts/<seq>.jws`: a signed receipt for each setting change,
/// - `notices.json` (policy notices and organisation reminders), `snapshots.json` (datasets
///   that used the member's data, with their retraction status),
/// - `jwks.json` and `signing-key.pem`: the public key, to compare with the published JWKS,
/// - `SHA256SUMS` (sha256sum format) over all of the above, and `SHA256SUMS.sig`, its raw
///   Ed25519 signature.
public enum Evidence {
    public static let format = "proviso-evidence/1"

    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// What a verification established.
    public struct Verified: Sendable, Equatable {
        public var member: String
        public var files: Int
        public var events: Int
        public var receipts: Int
        public var kid: String
    }

    // MARK: ledger events with everything their hash covers

    /// An event as the archive stores it: exact integers and the payload as recorded, so
    /// anyone can recompute its hash (docs/evidence.md gives the hash input).
    public static func eventJSON(_ e: LedgerEvent) -> JSON {
        let d = e.draft
        var f: [(key: String, value: JSON)] = [
            ("seq", .number(String(e.seq))), ("recorded_at_us", .number(String(e.recordedAt))),
            ("recorded_at", .string(Time.formatRFC3339(e.recordedAt))), ("kind", .string(d.kind.rawValue)),
            ("member", d.memberID.map(JSON.string) ?? .null), ("setting", d.setting.map { .string($0.code) } ?? .null),
            ("value", d.value.map { .string($0 ? "on" : "off") } ?? .null),
            ("effective_at_us", d.effectiveAt.map { .number(String($0)) } ?? .null), ("channel", d.channel.map { .string($0.code) } ?? .null),
            ("actor", .string(d.actor)), ("policy_version", d.policyVersion.map(JSON.string) ?? .null), ("payload", d.payload.map(JSON.string) ?? .null),
            ("prev_hash", .string(LedgerHash.hex(e.prevHash))), ("hash", .string(e.hashHex)),
        ]
        f.removeAll { $0.value == .null }
        return .object(f)
    }

    static func bytes(hex: String) -> [UInt8]? {
        let b = Array(hex.utf8)
        guard b.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            guard let v = UInt8(String(decoding: b[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(v)
            i += 2
        }
        return out
    }

    /// Reads an archived event back; nil if a field is missing or unreadable.
    public static func event(from json: JSON) -> LedgerEvent? {
        func str(_ k: String) -> String? { if case let .string(s)? = json[k] { s } else { nil } }
        func int(_ k: String) -> Int64? { if case let .number(n)? = json[k] { Int64(n) } else { nil } }
        guard let seq = int("seq"), let recorded = int("recorded_at_us"), let kind = str("kind").flatMap(EventKind.init(rawValue:)),
              let actor = str("actor"), let prev = str("prev_hash").flatMap(bytes(hex:)), let hash = str("hash").flatMap(bytes(hex:)) else { return nil }
        let draft = EventDraft(kind: kind, memberID: str("member"), setting: str("setting").flatMap(SettingID.init(code:)),
                               value: str("value").map { $0 == "on" }, effectiveAt: int("effective_at_us"),
                               channel: str("channel").flatMap(Channel.init(code:)), actor: actor, policyVersion: str("policy_version"),
                               payload: str("payload"))
        return LedgerEvent(seq: seq, recordedAt: recorded, draft: draft, prevHash: prev, hash: hash)
    }

    /// The public key as a PEM SubjectPublicKeyInfo, for `openssl pkeyutl -verify`.
    public static func pem(_ publicKey: [UInt8]) -> String {
        let der: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00] + publicKey
        return "-----BEGIN PUBLIC KEY-----\n" + Data(der).base64EncodedString() + "\n-----END PUBLIC KEY-----\n"
    }

    static func hex(_ d: some Sequence<UInt8>) -> String { LedgerHash.hex(Array(d)) }

    // MARK: building

    /// Builds the archive of `member` as of `at`. `.unknownMember` if there is no such member.
    public static func archive(member id: String, store: some ConsentStore, engine: DecisionEngine, state: ConsentState,
                               issuer: String, key: ReceiptKey, at: Micros) async throws(StoreError) -> [UInt8] {
        guard let member = try await store.member(id) else { throw .unknownMember(id) }
        let policy = engine.policy(at: at)
        let events = try await store.events(member: id)
        var files: [Tar.Entry] = []
        func add(_ name: String, _ text: String) { files.append(Tar.Entry(name: name, bytes: Array(text.utf8))) }
        let meta: [(key: String, value: JSON)] = [("format", .string(format)), ("member", .string(id)),
                                                  ("exported_at", .string(Time.formatRFC3339(at))), ("issuer", .string(issuer)),
                                                  ("policy_version", .string(policy.version)), ("ledger_seq", .number(String(state.ledgerSeq)))]
        let record: JSON = (try? JSON.parse(member.payload)) ?? .null
        add("member.json", JSON.object(meta + [("record", record)]).pretty + "\n")
        let index = state.memberIndex(id)
        let statuses = index >= 0 ? engine.settings(member: index, at: at, in: state) : []
        let settings: [JSON] = statuses.map { s in settingJSON(s, label: policy.label(of: s.setting)) }
        add("settings.json", JSON.array(settings).pretty + "\n")
        add("ledger.jsonl", events.map { eventJSON($0).serialized + "\n" }.joined())
        for e in events {
            if let r = Receipt(event: e, issuer: issuer) { add("receipts/\(e.seq).jws", r.sign(with: key) + "\n") }
        }
        let notices: [JSON] = try await store.notices(member: id).map(noticeJSON)
        let reminders: [JSON] = try await store.campaignNotices(member: id).map(reminderJSON)
        add("notices.json", JSON.object([("policy_notices", .array(notices)), ("organisation_reminders", .array(reminders))]).pretty + "\n")
        var uses: [JSON] = []
        for u in try await store.snapshotUses(member: id) {
            let retraction = RetractionCheck(engine: engine, state: state, snapshot: u.snapshot, at: at)
                .check(SnapshotMember(memberID: id, counts: u.counts))
            uses.append(useJSON(u, retraction: retraction))
        }
        add("snapshots.json", JSON.array(uses).pretty + "\n")
        add("jwks.json", ReceiptKey.jwks([key]) + "\n")
        add("signing-key.pem", pem(key.publicKey))
        add("README.txt", readme(member: id, kid: key.kid))
        let sums = files.map { "\(hex(SHA256.hash(data: $0.bytes)))  \($0.name)\n" }.joined()
        files.append(Tar.Entry(name: "SHA256SUMS", bytes: Array(sums.utf8)))
        let signer = try! Curve25519.Signing.PrivateKey(rawRepresentation: key.privateKeyBytes!)
        files.append(Tar.Entry(name: "SHA256SUMS.sig", bytes: Array(try! signer.signature(for: Array(sums.utf8)))))
        return Tar.write(files, mtime: Int(at / Time.microsPerSecond))
    }

    static func time(_ t: Micros?) -> JSON { t.map { .string(Time.formatRFC3339($0)) } ?? .null }

    static func settingJSON(_ s: SettingStatus, label: String) -> JSON {
        let fields: [(key: String, value: JSON)] = [
            ("setting", .string(s.setting.code)), ("label", .string(label)), ("value", .string(s.on ? "on" : "off")),
            ("source", .string(s.source.code)), ("since", time(s.since)), ("explanation", .string(s.explanation)),
        ]
        return .object(fields)
    }

    static func noticeJSON(_ n: Notice) -> JSON {
        let fields: [(key: String, value: JSON)] = [
            ("policy_version", .string(n.policyVersion)), ("purpose", .string(n.purpose.code)), ("region_group", .string(n.region.code)),
            ("changes", .array(n.changes.map(JSON.string))), ("effective", .string(Time.formatDate(dayNumber: n.effectiveDay))),
            ("delivered_at", time(n.deliveredAt)), ("read_at", time(n.readAt)), ("asks_confirmation", .bool(n.asksConfirmation)),
            ("confirmed_at", time(n.confirmedAt)),
        ]
        return .object(fields)
    }

    static func reminderJSON(_ r: CampaignNotice) -> JSON {
        let fields: [(key: String, value: JSON)] = [
            ("organisation", .string(r.orgName)), ("message", .string(r.message)), ("delivered_at", time(r.deliveredAt)),
            ("read_at", time(r.readAt)), ("acknowledged_at", time(r.acknowledgedAt)),
        ]
        return .object(fields)
    }

    static func useJSON(_ u: SnapshotUse, retraction: Retraction?) -> JSON {
        let records: [(key: String, value: JSON)] = u.counts.map { ($0.category.code, .number(String($0.count))) }
        let reasons: JSON = retraction.map { .array($0.reasons.codes.map(JSON.string)) } ?? .null
        let fields: [(key: String, value: JSON)] = [
            ("snapshot", .string(u.snapshot.id)), ("name", u.snapshot.name.map(JSON.string) ?? .null), ("purpose", .string(u.snapshot.purpose)),
            ("as_of", time(u.snapshot.asOf)), ("records", .object(records)), ("output_sha256", .string(u.snapshot.outputSHA256)),
            ("retraction", reasons),
        ]
        return .object(fields)
    }

    static func readme(member: String, kid: String) -> String {
        """
        Evidence archive (\(format)) for member \(member), signed with key \(kid).

        To verify without Proviso:
          1. Compare signing-key.pem / jwks.json with the platform's published key set
             (/.well-known/jwks.json): the kid must be listed there.
          2. openssl pkeyutl -verify -pubin -inkey signing-key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig
          3. sha256sum -c SHA256SUMS
        Each line of ledger.jsonl carries the fields its hash covers; receipts/*.jws are JWS
        (EdDSA) receipts naming each event's hash. With Proviso: proviso evidence verify FILE --jwks jwks.json

        """
    }

    // MARK: verifying

    /// Checks an archive: signature over SHA256SUMS by a key in `keys` (the published set; when
    /// nil, the archive's own jwks.json, which proves integrity but not origin), every file's
    /// hash, every ledger event's hash, and every receipt against the key and the ledger slice.
    public static func verify(_ archive: [UInt8], keys published: [ReceiptKey]?) throws(Failure) -> Verified {
        let entries: [Tar.Entry]
        do { entries = try Tar.read(archive) } catch { throw Failure(error.description) }
        var byName: [String: [UInt8]] = [:]
        for e in entries {
            guard byName[e.name] == nil else { throw Failure("\(e.name) appears twice") }
            byName[e.name] = e.bytes
        }
        guard let sums = byName["SHA256SUMS"], let sig = byName["SHA256SUMS.sig"], let jwks = byName["jwks.json"] else {
            throw Failure("SHA256SUMS, SHA256SUMS.sig and jwks.json are required")
        }
        let own: [ReceiptKey]
        do { own = try ReceiptKey.keys(fromJWKS: String(decoding: jwks, as: UTF8.self)) } catch { throw Failure("jwks.json: \(error)") }
        let keys = published ?? own
        guard let key = keys.first(where: { k in
            (try? Curve25519.Signing.PublicKey(rawRepresentation: k.publicKey))?.isValidSignature(sig, for: sums) == true
        }) else { throw Failure("the signature over SHA256SUMS does not verify with \(published == nil ? "the archive's key" : "the given keys")") }
        var listed: Set<String> = ["SHA256SUMS", "SHA256SUMS.sig"]
        for line in String(decoding: sums, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[1].hasPrefix(" ") else { throw Failure("SHA256SUMS has a malformed line: \(line)") }
            let name = String(parts[1].dropFirst())
            guard let bytes = byName[name] else { throw Failure("\(name) is listed but missing") }
            guard hex(SHA256.hash(data: bytes)) == parts[0] else { throw Failure("\(name) was altered (hash mismatch)") }
            listed.insert(name)
        }
        if let extra = byName.keys.sorted().first(where: { !listed.contains($0) }) { throw Failure("\(extra) is not covered by SHA256SUMS") }
        guard let memberFile = byName["member.json"], case let .string(member)? = (try? JSON.parse(String(decoding: memberFile, as: UTF8.self)))?["member"] else {
            throw Failure("member.json is missing or unreadable")
        }
        var hashes: Set<String> = []
        var count = 0
        for line in String(decoding: byName["ledger.jsonl"] ?? [], as: UTF8.self).split(separator: "\n") {
            guard let json = try? JSON.parse(String(line)), let e = event(from: json) else { throw Failure("ledger.jsonl line \(count + 1) is unreadable") }
            guard LedgerHash.compute(seq: e.seq, recordedAt: e.recordedAt, draft: e.draft, prevHash: e.prevHash) == e.hash else {
                throw Failure("ledger event \(e.seq) does not match its hash")
            }
            guard e.memberID == member else { throw Failure("ledger event \(e.seq) is about another member") }
            hashes.insert(e.hashHex)
            count += 1
        }
        var receipts = 0
        for (name, bytes) in byName where name.hasPrefix("receipts/") {
            let r: Receipt
            do { r = try Receipt.verify(String(decoding: bytes, as: UTF8.self), keys: keys) } catch { throw Failure("\(name): \(error)") }
            guard r.member == member, hashes.contains(r.eventHash) else { throw Failure("\(name) does not match an event of the ledger slice") }
            receipts += 1
        }
        return Verified(member: member, files: byName.count, events: count, receipts: receipts, kid: key.kid)
    }
}
