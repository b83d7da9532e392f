internal import Crypto

/// What happened, as recorded in the append-only ledger.
public enum EventKind: String, Sendable, CaseIterable {
    case memberRegistered = "member-registered"
    case memberChanged = "member-changed"
    case settingChanged = "setting-changed"
    case policyActivated = "policy-activated"
    /// A policy version was published (its effective date may be later): the notice clock starts.
    case policyPublished = "policy-published"
}

/// An event before the store has given it a place (sequence, time, hashes).
public struct EventDraft: Sendable, Equatable {
    public var kind: EventKind
    public var memberID: String?
    public var setting: SettingID?
    public var value: Bool?
    /// When the choice takes effect; differs from the recorded time for backfilled events.
    public var effectiveAt: Micros?
    public var channel: Channel?
    /// Who caused the event (`member:<id>`, `cli`, `token:<name>` …).
    public var actor: String
    public var policyVersion: String?
    /// Canonical JSON for member and policy events.
    public var payload: String?

    public init(kind: EventKind, memberID: String? = nil, setting: SettingID? = nil, value: Bool? = nil,
                effectiveAt: Micros? = nil, channel: Channel? = nil, actor: String, policyVersion: String? = nil,
                payload: String? = nil) {
        self.kind = kind
        self.memberID = memberID
        self.setting = setting
        self.value = value
        self.effectiveAt = effectiveAt
        self.channel = channel
        self.actor = actor
        self.policyVersion = policyVersion
        self.payload = payload
    }

    /// A member's choice for one setting.
    public static func choice(member: String, setting: SettingID, on: Bool, at: Micros, channel: Channel,
                              actor: String, policyVersion: String) -> EventDraft {
        EventDraft(kind: .settingChanged, memberID: member, setting: setting, value: on, effectiveAt: at,
                   channel: channel, actor: actor, policyVersion: policyVersion)
    }
}

/// A recorded ledger event. Its hash covers every field and the previous event's hash, so
/// altering, removing or reordering any row breaks the chain from that row on.
public struct LedgerEvent: Sendable, Equatable {
    public var seq: Int64
    public var recordedAt: Micros
    public var draft: EventDraft
    public var prevHash: [UInt8]
    public var hash: [UInt8]

    public init(seq: Int64, recordedAt: Micros, draft: EventDraft, prevHash: [UInt8], hash: [UInt8]) {
        self.seq = seq
        self.recordedAt = recordedAt
        self.draft = draft
        self.prevHash = prevHash
        self.hash = hash
    }

    /// Seals a draft at a position of the chain, computing its hash.
    public init(sealing draft: EventDraft, seq: Int64, recordedAt: Micros, prevHash: [UInt8]) {
        self.init(seq: seq, recordedAt: recordedAt, draft: draft, prevHash: prevHash,
                  hash: LedgerHash.compute(seq: seq, recordedAt: recordedAt, draft: draft, prevHash: prevHash))
    }

    public var kind: EventKind { draft.kind }
    public var memberID: String? { draft.memberID }
    public var hashHex: String { LedgerHash.hex(hash) }
}

/// The hash chain's rules, kept in one place so every store and verifier agrees.
public enum LedgerHash {
    /// The previous hash of the first event.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// SHA-256 over length-prefixed fields (absent fields are marked, so "" ≠ absent):
    /// `<byte length>:<UTF-8>;` per field, `~;` for an absent one, integers in decimal, the
    /// previous hash in lowercase hex. Written straight into one buffer — no `String` per
    /// field — since a ledger verification recomputes this for every event.
    public static func compute(seq: Int64, recordedAt: Micros, draft: EventDraft, prevHash: [UInt8]) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(256 + (draft.payload?.utf8.count ?? 0))
        func field(_ s: String?) {
            guard var s else { buffer.append(0x7E); buffer.append(0x3B); return }
            s.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
        }
        func bytes(_ b: UnsafeRawBufferPointer) {
            DecimalText.withDigits(Int64(b.count)) { buffer.append(contentsOf: $0) }
            buffer.append(0x3A)
            buffer.append(contentsOf: b)
            buffer.append(0x3B)
        }
        func integer(_ v: Int64?) {
            guard let v else { buffer.append(0x7E); buffer.append(0x3B); return }
            DecimalText.withDigits(v) { bytes($0) }
        }
        field("proviso-ledger/1")
        integer(seq)
        integer(recordedAt)
        field(draft.kind.rawValue)
        field(draft.memberID)
        field(draft.setting?.code)
        field(draft.value.map { $0 ? "on" : "off" })
        integer(draft.effectiveAt)
        field(draft.channel?.code)
        field(draft.actor)
        field(draft.policyVersion)
        field(draft.payload)
        hexBytes(prevHash).withUnsafeBytes { bytes($0) }
        return Array(SHA256.hash(data: buffer))
    }

    /// Lowercase hex, as a string.
    public static func hex(_ bytes: [UInt8]) -> String {
        String(decoding: hexBytes(bytes), as: UTF8.self)
    }

    /// Lowercase hex, as ASCII bytes.
    static func hexBytes(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(hexAlphabet[Int(b >> 4)])
            out.append(hexAlphabet[Int(b & 15)])
        }
        return out
    }

    static let hexAlphabet: [UInt8] = Array("0123456789abcdef".utf8)
}

/// Where the chain first breaks, and how.
public struct ChainBreak: Sendable, Equatable, CustomStringConvertible {
    public var seq: Int64
    public var reason: String
    public var description: String { "ledger broken at sequence \(seq): \(reason)" }
}

/// Recomputes the chain event by event, in sequence order, so it can stream any ledger size.
public struct ChainVerifier: Sendable {
    public private(set) var checked: Int64 = 0
    public private(set) var failure: ChainBreak?
    public private(set) var head: [UInt8] = LedgerHash.genesis
    var expected: Int64 = 1

    public init() {}

    /// Checks the next event; returns false once the chain is broken (later events are ignored).
    @discardableResult
    public mutating func feed(_ e: LedgerEvent) -> Bool {
        feed(e, recomputed: { LedgerHash.compute(seq: e.seq, recordedAt: e.recordedAt, draft: e.draft, prevHash: e.prevHash) })
    }

    /// The same, with the event's hash recomputed elsewhere (by `LedgerHash.compute`, e.g. on
    /// several cores); asked for only when the event's place in the chain is right.
    @discardableResult
    public mutating func feed(_ e: LedgerEvent, recomputed: () -> [UInt8]) -> Bool {
        guard failure == nil else { return false }
        if e.seq != expected {
            failure = e.seq > expected
                ? ChainBreak(seq: expected, reason: "event \(expected) is missing (next present is \(e.seq))")
                : ChainBreak(seq: e.seq, reason: "event \(e.seq) is out of order (expected \(expected))")
            return false
        }
        if e.prevHash != head {
            failure = ChainBreak(seq: e.seq, reason: "does not link to the previous event (prev_hash mismatch)")
            return false
        }
        if recomputed() != e.hash {
            failure = ChainBreak(seq: e.seq, reason: "content does not match its hash (the row was altered)")
            return false
        }
        head = e.hash
        expected += 1
        checked += 1
        return true
    }
}

/// Integers as ASCII decimal without making a `String` (ledger hashing, member sets, pages).
public enum DecimalText {
    /// Calls `body` with `v` in decimal (a leading `-` when negative), formatted on the stack.
    public static func withDigits(_ v: Int64, _ body: (UnsafeRawBufferPointer) -> Void) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: a sign and 19 digits fit
        withUnsafeMutableBytes(of: &digits) { d in
            var k = d.count
            var m = v.magnitude
            repeat {
                k -= 1
                d[k] = UInt8(truncatingIfNeeded: m % 10) + 0x30
                m /= 10
            } while m > 0
            if v < 0 { k -= 1; d[k] = 0x2D }
            body(UnsafeRawBufferPointer(rebasing: d[k...]))
        }
    }

    /// Appends `v` in decimal.
    public static func append(_ v: Int, to out: inout [UInt8]) {
        withDigits(Int64(v)) { out.append(contentsOf: $0) }
    }
}
