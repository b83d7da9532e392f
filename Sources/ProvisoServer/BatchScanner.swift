import ProvisoCore

/// One pass over a batch body in the common, strict form — an object with only `requests`,
/// items with known keys, plain strings without escapes, booleans, no duplicates — straight
/// to engine queries, no JSON tree and no per-item `String`. Anything else returns `nil` and
/// the caller takes the generic path, which answers the same or names the error.
struct BatchScanner {
    let b: UnsafeRawBufferPointer
    var i = 0

    init(_ bytes: UnsafeRawBufferPointer) { b = bytes }

    mutating func space() { while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 } }

    mutating func take(_ c: UInt8) -> Bool {
        space()
        guard i < b.count, b[i] == c else { return false }
        i += 1
        return true
    }

    /// A string without escapes or control characters, as a slice of the body.
    mutating func string() -> UnsafeRawBufferPointer? {
        guard take(0x22) else { return nil }
        let start = i
        while i < b.count {
            let c = b[i]
            if c == 0x22 {
                let s = UnsafeRawBufferPointer(rebasing: b[start..<i])
                i += 1
                return s
            }
            if c == 0x5C || c < 0x20 { return nil }
            i += 1
        }
        return nil
    }

    mutating func literal(_ word: StaticString) -> Bool {
        space()
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count else { return false }
        for k in 0..<n where b[i + k] != word.utf8Start[k] { return false }
        i += n
        return true
    }

    /// `true`, `false` or `null` (nil meaning absent).
    mutating func flag() -> Bool?? {
        if literal("true") { return .some(true) }
        if literal("false") { return .some(false) }
        if literal("null") { return .some(nil) }
        return nil
    }

    static func equal(_ s: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        s.count == word.utf8CodeUnitCount && (0..<s.count).allSatisfy { s[$0] == word.utf8Start[$0] }
    }

    /// Scans the whole body; calls `each` with every query in order. Returns false to fall back
    /// (also past `APIError.maxBatch` items, so the generic path answers 413).
    mutating func scan(state: ConsentState, now: Micros, _ each: (DecisionQuery) -> Void) -> Bool {
        guard take(0x7B), let key = string(), Self.equal(key, "requests"), take(0x3A), take(0x5B) else { return false }
        space()
        if i < b.count, b[i] == 0x5D {
            i += 1
            return take(0x7D) && { space(); return i == b.count }()
        }
        var count = 0
        repeat {
            count += 1
            guard count <= APIError.maxBatch, let q = item(state: state, now: now) else { return false }
            each(q)
        } while take(0x2C)
        guard take(0x5D), take(0x7D) else { return false }
        space()
        return i == b.count
    }

    mutating func item(state: ConsentState, now: Micros) -> DecisionQuery? {
        guard take(0x7B) else { return nil }
        var seen: UInt8 = 0
        var member: Int32 = -2, purpose: Purpose? = nil, category: Category? = nil
        var hasPurpose = false, hasCategory = false
        var at: Micros? = nil, created: Micros? = nil, visibility: Visibility? = nil, sensitive = false, gpc = false
        space()
        if i < b.count, b[i] == 0x7D { return nil }  // {} lacks required fields: let the generic path say so
        repeat {
            guard let key = string(), take(0x3A) else { return nil }
            func once(_ bit: UInt8) -> Bool {
                if seen & bit != 0 { return false }
                seen |= bit
                return true
            }
            if Self.equal(key, "member") {
                guard once(1), let s = string() else { return nil }
                member = state.index.find(s)
            } else if Self.equal(key, "purpose") {
                guard once(2), let s = string() else { return nil }
                purpose = Purpose(utf8: s)
                hasPurpose = true
            } else if Self.equal(key, "category") {
                guard once(4), let s = string() else { return nil }
                category = Category(utf8: s)
                hasCategory = true
            } else if Self.equal(key, "at") || Self.equal(key, "created_at") {
                let isAt = Self.equal(key, "at")
                guard once(isAt ? 8 : 16) else { return nil }
                if literal("null") { continue }
                guard let s = string(), let t = Time.parseRFC3339(s) else { return nil }
                if isAt { at = t } else { created = t }
            } else if Self.equal(key, "visibility") {
                guard once(32) else { return nil }
                if literal("null") { continue }
                guard let s = string() else { return nil }
                if Self.equal(s, "public") { visibility = .public } else if Self.equal(s, "connections") { visibility = .connections }
                else if Self.equal(s, "private") { visibility = .private } else { return nil }
            } else if Self.equal(key, "sensitive") || Self.equal(key, "gpc") {
                let isSensitive = Self.equal(key, "sensitive")
                guard once(isSensitive ? 64 : 128), let v = flag() else { return nil }
                if isSensitive { sensitive = v ?? false } else { gpc = v ?? false }
            } else {
                return nil
            }
        } while take(0x2C)
        guard take(0x7D), member != -2, hasPurpose, hasCategory else { return nil }
        return DecisionQuery(member: member, purpose: purpose, category: category, at: at ?? now, createdAt: created,
                             visibility: visibility, sensitive: sensitive, gpc: gpc)
    }
}


extension Decision {
    /// Wire bytes of every reason code, quoted, by bit position.
    static let quotedReasons: [[UInt8]] = Reason.all.map { Array("\"\($0.code)\"".utf8) }

    /// Appends the contract's JSON object to a byte buffer (no intermediate `String`).
    func write(to out: inout [UInt8], version quoted: [UInt8]) {
        out.append(contentsOf: allowed ? #"{"allowed":true,"reasons":["#.utf8 : #"{"allowed":false,"reasons":["#.utf8)
        var bits = reasons.bits
        var first = true
        while bits != 0 {
            if !first { out.append(0x2C) }
            first = false
            out.append(contentsOf: Decision.quotedReasons[bits.trailingZeroBitCount])
            bits &= bits - 1
        }
        out.append(contentsOf: #"],"policy_version":"#.utf8)
        out.append(contentsOf: quoted)
        out.append(contentsOf: #","ledger_seq":"#.utf8)
        out.append(contentsOf: String(ledgerSeq).utf8)
        out.append(0x7D)
    }
}
