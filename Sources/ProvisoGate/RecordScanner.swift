public import ProvisoCore
import CProvisoScan

/// Why a line is not a usable record. Messages are static so that a malformed line costs no
/// allocation; `--explain` adds the byte offset.
public struct LineProblem: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Not a JSON object, invalid JSON, or a known field with the wrong type or value.
        case malformed
        /// `member_id` or `category` is absent (or null).
        case missingField
    }

    public var kind: Kind
    public var message: StaticString
    /// Byte offset in the line where the problem was found.
    public var offset: Int

    public static func == (a: Self, b: Self) -> Bool {
        a.kind == b.kind && a.offset == b.offset && a.message.description == b.message.description
    }
}

/// The fields of a record the gate decides on. Everything else in the line passes through.
public struct RecordFields: Sendable, Equatable {
    /// Whether the category string was one of the vocabulary (`category` is then non-nil).
    public var category: Category?
    public var visibility: Visibility?
    public var sensitive = false
    public var createdAt: Micros?

    public init(category: Category? = nil, visibility: Visibility? = nil, sensitive: Bool = false, createdAt: Micros? = nil) {
        self.category = category
        self.visibility = visibility
        self.sensitive = sensitive
        self.createdAt = createdAt
    }
}

/// Finds the five fields the gate needs in one JSONL line without building a JSON tree, while
/// checking that the whole line is valid JSON (RFC 8259, UTF-8): a line that is not is
/// malformed and excluded, even when its broken part is a field the gate does not read.
/// Strings are returned as slices of the line; only escaped strings are decoded, into
/// scratch buffers owned by the scanner and reused from line to line.
public struct RecordScanner {
    /// Deeper nesting than this is refused rather than risking the stack on hostile input.
    public static let maxDepth = 64

    var memberScratch: [UInt8] = []
    var valueScratch: [UInt8] = []
    var keyScratch: [UInt8] = []

    public init() {
        memberScratch.reserveCapacity(256)
        valueScratch.reserveCapacity(256)
        keyScratch.reserveCapacity(256)
    }

    /// Scans one line (without its `\n`). On success calls `body` with the member id bytes
    /// (the string's content, or the integer's digits) and the other fields.
    ///
    /// Most lines are answered by the vectorised fast path (`pv_scan_record`, CProvisoScan),
    /// which accepts only lines it has fully validated and whose decision fields are written
    /// plainly; anything else — a malformed line, an escape in a key or decision field, a
    /// visibility or time that does not parse — goes to `scanReference`, which has the last
    /// word and the error messages. The tests hold the two to the same answers.
    @inline(__always)
    public mutating func scan<R>(_ line: UnsafeRawBufferPointer,
                                 _ body: (UnsafeRawBufferPointer, RecordFields) -> R) throws(LineProblem) -> R {
        if let (member, fields) = Self.scanFast(line) {
            return body(UnsafeRawBufferPointer(rebasing: line[member]), fields)
        }
        return try scanReference(line, body)
    }

    /// The fast path alone: the member id's byte range in the line and the fields, or nil
    /// when the line needs the reference's verdict (anything the C scanner steps aside from,
    /// a visibility outside the vocabulary, a time that is not RFC 3339). `vectorised: false`
    /// computes the same block masks byte by byte, so that the tests check both ways.
    @inline(__always)
    public static func scanFast(_ line: UnsafeRawBufferPointer, vectorised: Bool = true) -> (member: Range<Int>, fields: RecordFields)? {
        guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var f = pv_record_fields()
        let accepted = vectorised ? pv_scan_record(base, line.count, &f) : pv_scan_record_portable(base, line.count, &f)
        guard accepted == 1 else { return nil }
        func slice(_ s: Int64, _ e: Int64) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: line[Int(s)..<Int(e)])
        }
        var fields = RecordFields(category: Category(utf8: slice(f.category_start, f.category_end)), sensitive: f.sensitive != 0)
        if f.visibility_start >= 0 {
            guard let v = visibility(slice(f.visibility_start, f.visibility_end)) else { return nil }
            fields.visibility = v
        }
        if f.created_start >= 0 {
            guard let t = Time.parseRFC3339(slice(f.created_start, f.created_end)) else { return nil }
            fields.createdAt = t
        }
        return (Int(f.member_start)..<Int(f.member_end), fields)
    }

    /// Whether the fast path uses vector instructions on this CPU (AVX2 on x86-64).
    public static var fastPathIsVectorised: Bool { pv_scan_vectorised() == 1 }

    /// The reference scanner, in Swift: every line the fast path steps aside from, and the
    /// yardstick the tests hold the fast path to.
    public mutating func scanReference<R>(_ line: UnsafeRawBufferPointer,
                                          _ body: (UnsafeRawBufferPointer, RecordFields) -> R) throws(LineProblem) -> R {
        var c = Cursor(line)
        var fields = RecordFields()
        var seen: UInt8 = 0
        var member: (start: Int, end: Int, scratch: Bool) = (0, 0, false)
        var hasMember = false, hasCategory = false
        c.space()
        guard c.i < c.n else { throw c.fail(.malformed, "empty line") }
        guard c.byte == 0x7B else { throw c.fail(.malformed, "a record must be a JSON object") }
        c.i += 1
        c.space()
        if c.i < c.n, c.byte == 0x7D {
            c.i += 1
        } else {
            while true {
                c.space()
                guard c.i < c.n, c.byte == 0x22 else { throw c.fail(.malformed, "expected a quoted field name") }
                let key = try c.string()
                let field: UInt8
                if key.escaped {
                    try Cursor.unescape(c.slice(key), into: &keyScratch)
                    field = keyScratch.withUnsafeBytes { Self.field($0) }
                } else {
                    field = Self.field(c.slice(key))
                }
                c.space()
                guard c.i < c.n, c.byte == 0x3A else { throw c.fail(.malformed, "expected ':' after a field name") }
                c.i += 1
                c.space()
                guard c.i < c.n else { throw c.fail(.malformed, "expected a value") }
                if field != 0 {
                    guard seen & field == 0 else { throw c.fail(.malformed, "a decision field appears twice") }
                    seen |= field
                }
                switch field {
                case 1:  // member_id: a string, or an integer written without fraction or exponent
                    if c.byte == 0x22 {
                        let s = try c.string()
                        if s.escaped {
                            try Cursor.unescape(c.slice(s), into: &memberScratch)
                            member = (0, memberScratch.count, true)
                        } else {
                            member = (s.start, s.end, false)
                        }
                        hasMember = true
                    } else if c.byte == 0x2D || (c.byte >= 0x30 && c.byte <= 0x39) {
                        let start = c.i
                        let integer = try c.number()
                        guard integer else { throw c.fail(.malformed, "member_id must be a string or an integer") }
                        member = (start, c.i, false)
                        hasMember = true
                    } else if c.literal("null") {
                        // null is the same as absent
                    } else {
                        throw c.fail(.malformed, "member_id must be a string or an integer")
                    }
                case 2:  // category
                    if c.byte == 0x22 {
                        let s = try c.string()
                        fields.category = try withValue(c, s) { Category(utf8: $0) }
                        hasCategory = true
                    } else if !c.literal("null") {
                        throw c.fail(.malformed, "category must be a string")
                    }
                case 4:  // visibility
                    if c.byte == 0x22 {
                        let s = try c.string()
                        guard let v = try withValue(c, s, { Self.visibility($0) }) else {
                            throw c.fail(.malformed, "visibility must be public, connections or private")
                        }
                        fields.visibility = v
                    } else if !c.literal("null") {
                        throw c.fail(.malformed, "visibility must be a string")
                    }
                case 8:  // sensitive
                    if c.literal("true") { fields.sensitive = true }
                    else if c.literal("false") || c.literal("null") { fields.sensitive = false }
                    else { throw c.fail(.malformed, "sensitive must be true, false or null") }
                case 16:  // created_at
                    if c.byte == 0x22 {
                        let s = try c.string()
                        guard let t = try withValue(c, s, { Time.parseRFC3339($0) }) else {
                            throw c.fail(.malformed, "created_at must be an RFC 3339 time")
                        }
                        fields.createdAt = t
                    } else if !c.literal("null") {
                        throw c.fail(.malformed, "created_at must be an RFC 3339 string")
                    }
                default:
                    try c.value(depth: 1)
                }
                c.space()
                guard c.i < c.n else { throw c.fail(.malformed, "unterminated object") }
                if c.byte == 0x2C { c.i += 1; continue }
                guard c.byte == 0x7D else { throw c.fail(.malformed, "expected ',' or '}'") }
                c.i += 1
                break
            }
        }
        c.space()
        guard c.i == c.n else { throw c.fail(.malformed, "text after the record") }
        guard hasMember else { throw LineProblem(kind: .missingField, message: "member_id is required", offset: 0) }
        guard hasCategory else { throw LineProblem(kind: .missingField, message: "category is required", offset: 0) }
        if member.scratch {
            return memberScratch.withUnsafeBytes { body($0, fields) }
        }
        return body(UnsafeRawBufferPointer(rebasing: line[member.start..<member.end]), fields)
    }

    /// A string value's content, decoded when it has escapes.
    mutating func withValue<T>(_ c: Cursor, _ s: Cursor.Span, _ f: (UnsafeRawBufferPointer) -> T) throws(LineProblem) -> T {
        if !s.escaped { return f(c.slice(s)) }
        try Cursor.unescape(c.slice(s), into: &valueScratch)
        return valueScratch.withUnsafeBytes { f($0) }
    }

    /// Bit of a decision field name, 0 for any other name.
    static func field(_ k: UnsafeRawBufferPointer) -> UInt8 {
        switch k.count {
        case 9 where equal(k, "member_id"): 1
        case 8 where equal(k, "category"): 2
        case 10 where equal(k, "visibility"): 4
        case 9 where equal(k, "sensitive"): 8
        case 10 where equal(k, "created_at"): 16
        default: 0
        }
    }
    static func equal(_ s: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        s.count == word.utf8CodeUnitCount && memcmpBytes(s.baseAddress!, UnsafeRawPointer(word.utf8Start), s.count)
    }
    static func visibility(_ s: UnsafeRawBufferPointer) -> Visibility? {
        if equal(s, "public") { return .public }
        if equal(s, "connections") { return .connections }
        if equal(s, "private") { return .private }
        return nil
    }
}

/// Where a buffer's lines end.
public enum LineSplitter {
    /// The offsets of the newlines in `buffer[from...]`, as many as fit in `ends`, in order;
    /// returns how many were found (fewer than `ends.count` only at the end of the buffer).
    /// `vectorised: false` compares byte by byte, for the tests.
    public static func newlines(in buffer: UnsafeRawBufferPointer, from: Int, into ends: UnsafeMutableBufferPointer<Int>,
                                vectorised: Bool = true) -> Int {
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), let out = ends.baseAddress,
              from < buffer.count else { return 0 }
        return vectorised ? pv_find_newlines(base, buffer.count, from, out, ends.count)
                          : pv_find_newlines_portable(base, buffer.count, from, out, ends.count)
    }
}

/// A position in one line, with the JSON grammar as methods.
struct Cursor {
    let p: UnsafePointer<UInt8>
    let n: Int
    var i = 0
    struct Span {
        var start: Int
        var end: Int
        var escaped: Bool
    }
    init(_ line: UnsafeRawBufferPointer) {
        // An empty buffer may have no base address; any valid pointer works as nothing is read.
        p = line.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? UnsafePointer(bitPattern: 1)!
        n = line.count
    }

    var byte: UInt8 { p[i] }

    func fail(_ kind: LineProblem.Kind, _ message: StaticString) -> LineProblem {
        LineProblem(kind: kind, message: message, offset: i)
    }

    func slice(_ s: Span) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: p + s.start, count: s.end - s.start)
    }
    mutating func space() {
        while i < n {
            let b = p[i]
            guard b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A else { return }
            i += 1
        }
    }
    mutating func literal(_ word: StaticString) -> Bool {
        let k = word.utf8CodeUnitCount
        guard i + k <= n, memcmpBytes(p + i, UnsafeRawPointer(word.utf8Start), k) else { return false }
        i += k
        return true
    }

    /// Any JSON value, validated and skipped.
    mutating func value(depth: Int) throws(LineProblem) {
        guard i < n else { throw fail(.malformed, "expected a value") }
        switch p[i] {
        case 0x22: _ = try string()
        case 0x7B: try container(close: 0x7D, object: true, depth: depth)
        case 0x5B: try container(close: 0x5D, object: false, depth: depth)
        case 0x74: if !literal("true") { throw fail(.malformed, "invalid literal") }
        case 0x66: if !literal("false") { throw fail(.malformed, "invalid literal") }
        case 0x6E: if !literal("null") { throw fail(.malformed, "invalid literal") }
        case 0x2D, 0x30...0x39: _ = try number()
        default: throw fail(.malformed, "expected a value")
        }
    }
    mutating func container(close: UInt8, object: Bool, depth: Int) throws(LineProblem) {
        guard depth < RecordScanner.maxDepth else { throw fail(.malformed, "nested too deeply") }
        i += 1
        space()
        if i < n, p[i] == close { i += 1; return }
        while true {
            space()
            if object {
                guard i < n, p[i] == 0x22 else { throw fail(.malformed, "expected a quoted field name") }
                _ = try string()
                space()
                guard i < n, p[i] == 0x3A else { throw fail(.malformed, "expected ':' after a field name") }
                i += 1
                space()
            }
            try value(depth: depth + 1)
            space()
            guard i < n else { throw fail(.malformed, "unterminated object or array") }
            if p[i] == 0x2C { i += 1; continue }
            guard p[i] == close else { throw fail(.malformed, object ? "expected ',' or '}'" : "expected ',' or ']'") }
            i += 1
            return
        }
    }

    /// A number per RFC 8259; returns whether it is an integer (no fraction, no exponent).
    mutating func number() throws(LineProblem) -> Bool {
        if p[i] == 0x2D { i += 1 }
        guard i < n, p[i] >= 0x30, p[i] <= 0x39 else { throw fail(.malformed, "invalid number") }
        if p[i] == 0x30 { i += 1 } else { while i < n, p[i] >= 0x30, p[i] <= 0x39 { i += 1 } }
        var integer = true
        if i < n, p[i] == 0x2E {
            integer = false
            i += 1
            guard i < n, p[i] >= 0x30, p[i] <= 0x39 else { throw fail(.malformed, "invalid number") }
            while i < n, p[i] >= 0x30, p[i] <= 0x39 { i += 1 }
        }
        if i < n, p[i] == 0x65 || p[i] == 0x45 {
            integer = false
            i += 1
            if i < n, p[i] == 0x2B || p[i] == 0x2D { i += 1 }
            guard i < n, p[i] >= 0x30, p[i] <= 0x39 else { throw fail(.malformed, "invalid number") }
            while i < n, p[i] >= 0x30, p[i] <= 0x39 { i += 1 }
        }
        return integer
    }

    /// A string at `i` (which holds the opening quote): its content span, validated — no raw
    /// control characters, only valid escapes, valid UTF-8. Plain ASCII runs are skipped
    /// eight bytes at a time, landing straight on the first byte that needs a look.
    mutating func string() throws(LineProblem) -> Span {
        i += 1
        let start = i
        var escaped = false
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while true {
            while i + 8 <= n {
                let w = UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
                let quote = w ^ (ones &* 0x22), slash = w ^ (ones &* 0x5C)
                let special = (((quote &- ones) & ~quote) | ((slash &- ones) & ~slash) | ((w &- ones &* 0x20) & ~w) | w) & highs
                if special != 0 {
                    // The lowest flagged byte is exact (a borrow only runs upwards from a byte
                    // that really matched); flags above it may be false, and are not used.
                    i += special.trailingZeroBitCount >> 3
                    break
                }
                i += 8
            }
            guard i < n else { throw fail(.malformed, "unterminated string") }
            let b = p[i]
            if b == 0x22 {
                let span = Span(start: start, end: i, escaped: escaped)
                i += 1
                return span
            } else if b == 0x5C {
                escaped = true
                guard i + 1 < n else { throw fail(.malformed, "unterminated string") }
                switch p[i + 1] {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: i += 2
                case 0x75:
                    guard i + 6 <= n, Self.hex4(p + i + 2) != nil else { throw fail(.malformed, "invalid \\u escape") }
                    i += 6
                default: throw fail(.malformed, "invalid escape")
                }
            } else if b < 0x20 {
                throw fail(.malformed, "control character in a string")
            } else if b < 0x80 {
                i += 1
            } else {
                try utf8()
            }
        }
    }

    /// One multi-byte UTF-8 sequence at `i` (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
    mutating func utf8() throws(LineProblem) {
        let b0 = p[i]
        var need = 0
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        default: throw fail(.malformed, "invalid UTF-8")
        }
        guard i + need < n else { throw fail(.malformed, "invalid UTF-8") }
        let b1 = p[i + 1]
        guard b1 >= lo, b1 <= hi else { throw fail(.malformed, "invalid UTF-8") }
        for k in 2...max(2, need) where k <= need {
            guard p[i + k] & 0xC0 == 0x80 else { throw fail(.malformed, "invalid UTF-8") }
        }
        i += need + 1
    }
    static func hex4(_ q: UnsafePointer<UInt8>) -> UInt32? {
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = q[k]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: return nil
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    /// Decodes a validated string's escapes into `out` (UTF-8). A lone surrogate escape is
    /// refused: it has no UTF-8 form, so it cannot name a member or a category.
    static func unescape(_ s: UnsafeRawBufferPointer, into out: inout [UInt8]) throws(LineProblem) {
        out.removeAll(keepingCapacity: true)
        let q = s.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var k = 0
        while k < s.count {
            let b = q[k]
            guard b == 0x5C else { out.append(b); k += 1; continue }
            let e = q[k + 1]
            k += 2
            switch e {
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var scalar = hex4(q + k)!
                k += 4
                if scalar >= 0xD800, scalar <= 0xDBFF {
                    guard k + 6 <= s.count, q[k] == 0x5C, q[k + 1] == 0x75, let low = hex4(q + k + 2), low >= 0xDC00, low <= 0xDFFF else {
                        throw LineProblem(kind: .malformed, message: "unpaired surrogate in a string", offset: 0)
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    k += 6
                } else if scalar >= 0xDC00, scalar <= 0xDFFF {
                    throw LineProblem(kind: .malformed, message: "unpaired surrogate in a string", offset: 0)
                }
                appendUTF8(scalar, to: &out)
            default: out.append(e)  // \" \\ \/
            }
        }
    }
    static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80: out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | v >> 6)); out.append(UInt8(0x80 | v & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | v >> 12)); out.append(UInt8(0x80 | v >> 6 & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
        default:
            out.append(UInt8(0xF0 | v >> 18)); out.append(UInt8(0x80 | v >> 12 & 0x3F))
            out.append(UInt8(0x80 | v >> 6 & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
        }
    }
}
