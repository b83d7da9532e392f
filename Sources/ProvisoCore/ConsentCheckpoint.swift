internal import Crypto

/// The projection written as bytes, so that a store can keep it beside the ledger and load it
/// in milliseconds instead of rebuilding it from a million member rows (the rebuild was most
/// of the time every command, `serve` and the dataset gate spent before doing anything).
///
/// A checkpoint is only a cache of the ledger: it names the ledger sequence it reflects, the
/// store replays what came after, and anything that does not read back exactly — another
/// format, a wrong length, a digest that does not match, an out-of-range value — is refused
/// (`nil`), so the store rebuilds from the ledger instead. Never a guess.
///
/// Layout (version 1, little-endian): the magic `PVSTATE1`; ledger sequence (i64); counts of
/// members, id bytes, histories, choices and closing times (u64 each); the id bytes; then one
/// array each over the members: id end offsets (u32), regions (u8), flags (u8), adult days
/// (i32), history numbers (i32, -1 for none); per history its length (u32); per choice its
/// effective time (i64), sequence (i64), setting, value and channel (u8 each); per closing
/// time the member (i32) and time (i64); and the SHA-256 of everything before it.
extension ConsentState {
    static let checkpointMagic: [UInt8] = Array("PVSTATE1".utf8)

    /// Bytes `writeCheckpoint` writes.
    public var checkpointSize: Int {
        let choices = histories.reduce(0) { $0 + $1.count }
        return 8 + 8 + 5 * 8 + index.arena.count + memberCount * (4 + 1 + 1 + 4 + 4) + histories.count * 4
            + choices * 19 + closedAt.count * 12 + 32
    }

    /// Writes this projection as checkpoint bytes through `write`, in order, in pieces of at
    /// most about a mebibyte: a store can stream it into place without a second copy of the
    /// projection in memory (at 10M members the checkpoint is ~260 MB). `write` returns false
    /// to stop; so does this, then.
    @discardableResult
    public func writeCheckpoint(_ write: @escaping (UnsafeRawBufferPointer) -> Bool) -> Bool {
        var out = CheckpointWriter(sink: write)
        out.bytes(Self.checkpointMagic)
        out.int(ledgerSeq)
        let choices = histories.reduce(0) { $0 + $1.count }
        for n in [memberCount, index.arena.count, histories.count, choices, closedAt.count] { out.int(Int64(n)) }
        out.array(index.arena)
        out.array(index.ends)
        out.array(regions)
        out.array(flags)
        out.array(adultDays)
        out.array(historyRefs)
        for h in histories { out.int32(Int32(h.count)) }
        for h in histories {
            for c in h {
                out.int(c.effectiveAt)
                out.int(c.seq)
                out.bytes([c.setting.rawValue, c.on ? 1 : 0, c.channel.rawValue])
            }
        }
        for (member, at) in closedAt.sorted(by: { $0.key < $1.key }) {
            out.int32(member)
            out.int(at)
        }
        return out.finish()
    }

    /// The checkpoint as one array (tests, small stores).
    public func checkpoint() -> [UInt8] {
        var all: [UInt8] = []
        all.reserveCapacity(checkpointSize)
        writeCheckpoint { piece in
            all.append(contentsOf: piece)
            return true
        }
        return all
    }

    /// The projection a checkpoint of `size` bytes holds, pulled through `read(into, offset)`
    /// (which fills the buffer with the bytes at `offset`, or returns false), or nil if it is
    /// not an intact checkpoint of this format (the caller then rebuilds from the ledger).
    /// Arrays are read straight into their storage, so memory stays the projection's own.
    public init?(checkpointSize size: Int, read: @escaping (UnsafeMutableRawBufferPointer, Int) -> Bool) {
        guard size >= 8 + 48 + 32 else { return nil }
        var r = CheckpointReader(size: size - 32, source: read)
        var magic = [UInt8](repeating: 0, count: 8)
        guard r.fill(&magic), magic == Self.checkpointMagic,
              let seq = r.int(), let members = r.count(), let idBytes = r.count(), let historyCount = r.count(),
              let choiceCount = r.count(), let closedCount = r.count(),
              let arena: [UInt8] = r.array(idBytes), let ends: [UInt32] = r.array(members), let regions: [UInt8] = r.array(members),
              let flags: [UInt8] = r.array(members), let adultDays: [Int32] = r.array(members),
              let historyRefs: [Int32] = r.array(members), let lengths: [Int32] = r.array(historyCount)
        else { return nil }
        // Every offset, code and reference in range, so that no later lookup can trap on them.
        var previous: UInt32 = 0
        for e in ends {
            guard e >= previous, Int(e) <= idBytes else { return nil }
            previous = e
        }
        guard members == 0 || Int(previous) == idBytes,
              regions.allSatisfy({ RegionGroup(rawValue: $0) != nil }), flags.allSatisfy({ $0 < 4 }),
              historyRefs.allSatisfy({ $0 >= -1 && Int($0) < historyCount }),
              lengths.allSatisfy({ $0 > 0 }), lengths.reduce(0, { $0 + Int($1) }) == choiceCount
        else { return nil }
        var histories: [[Choice]] = []
        histories.reserveCapacity(historyCount)
        var record = [UInt8](repeating: 0, count: 19)
        for n in lengths {
            var h: [Choice] = []
            h.reserveCapacity(Int(n))
            for _ in 0..<n {
                guard r.fill(&record) else { return nil }
                let (at, seq) = record.withUnsafeBytes {
                    (Int64(littleEndian: $0.loadUnaligned(as: Int64.self)), Int64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: Int64.self)))
                }
                guard let setting = SettingID(rawValue: record[16]), record[17] < 2, let channel = Channel(rawValue: record[18]) else { return nil }
                h.append(Choice(effectiveAt: at, seq: seq, setting: setting, on: record[17] == 1, channel: channel))
            }
            histories.append(h)
        }
        var closedAt: [Int32: Micros] = [:]
        closedAt.reserveCapacity(closedCount)
        for _ in 0..<closedCount {
            guard let m = r.int32(), m >= 0, Int(m) < members, flags[Int(m)] & 2 != 0, let at = r.int() else { return nil }
            closedAt[m] = at
        }
        guard r.atEnd, r.digestMatches(), flags.enumerated().allSatisfy({ $0.element & 2 == 0 || closedAt[Int32($0.offset)] != nil })
        else { return nil }
        self.init(capacity: 16)
        index.arena = arena
        index.ends = ends
        self.regions = regions
        self.flags = flags
        self.adultDays = adultDays
        self.historyRefs = historyRefs
        self.histories = histories
        self.closedAt = closedAt
        ledgerSeq = seq
        index.rebuild()
    }

    /// The same from bytes in memory.
    public init?(checkpoint bytes: UnsafeRawBufferPointer) {
        self.init(checkpointSize: bytes.count) { into, offset in
            guard offset + into.count <= bytes.count else { return false }
            into.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + into.count)]))
            return true
        }
    }
}

/// Writes fixed-width little-endian values through a sink, a mebibyte at a time, hashing
/// everything, and ends with the digest. Once the sink has refused a piece, nothing more is sent.
struct CheckpointWriter {
    let sink: (UnsafeRawBufferPointer) -> Bool
    var buffer: [UInt8] = []
    var hasher = SHA256()
    var failed = false
    static var piece: Int { 1 << 20 }

    init(sink: @escaping (UnsafeRawBufferPointer) -> Bool) {
        self.sink = sink
        buffer.reserveCapacity(Self.piece)
    }

    mutating func send(_ b: UnsafeRawBufferPointer) {
        guard !failed else { return }
        hasher.update(bufferPointer: b)
        if !sink(b) { failed = true }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        let pending = buffer
        pending.withUnsafeBytes { send($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    mutating func bytes(_ b: UnsafeRawBufferPointer) {
        if buffer.count + b.count <= Self.piece {
            buffer.append(contentsOf: b)
            return
        }
        flush()
        var at = 0
        while at < b.count {
            let piece = UnsafeRawBufferPointer(rebasing: b[at..<min(b.count, at + Self.piece)])
            send(piece)
            at += piece.count
        }
    }

    mutating func bytes(_ b: [UInt8]) { b.withUnsafeBytes { bytes($0) } }
    mutating func int(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes($0) } }
    mutating func int32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { bytes($0) } }

    /// A whole array of fixed-width integers (their memory is little-endian on every platform
    /// Proviso builds for; a big-endian host converts each value).
    mutating func array<T: FixedWidthInteger>(_ a: [T]) {
        #if _endian(little)
        a.withUnsafeBytes { bytes($0) }
        #else
        for v in a { withUnsafeBytes(of: v.littleEndian) { bytes($0) } }
        #endif
    }

    /// Writes what is buffered, then the SHA-256 of everything written; false if the sink refused.
    mutating func finish() -> Bool {
        flush()
        guard !failed else { return false }
        let digest = Array(hasher.finalize())
        return digest.withUnsafeBytes { sink($0) }
    }
}

/// Reads what `CheckpointWriter` wrote from a source of `size` body bytes (the digest after
/// them is read last, by `digestMatches`). Small values come through a buffer, arrays straight
/// into their storage; every read is bounds-checked and fails past the end.
struct CheckpointReader {
    let size: Int
    let source: (UnsafeMutableRawBufferPointer, Int) -> Bool
    var offset = 0  // next source byte not yet pulled
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    var start = 0, end = 0  // unread bytes in `buffer`
    var hasher = SHA256()

    init(size: Int, source: @escaping (UnsafeMutableRawBufferPointer, Int) -> Bool) {
        self.size = size
        self.source = source
    }

    var atEnd: Bool { offset == size && start == end }
    var remaining: Int { size - offset + end - start }

    /// Pulls `into.count` source bytes into `into`, hashing them.
    mutating func pull(_ into: UnsafeMutableRawBufferPointer) -> Bool {
        guard into.count <= size - offset, source(into, offset) else { return false }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(into))
        offset += into.count
        return true
    }

    mutating func fill(_ dest: UnsafeMutableRawBufferPointer) -> Bool {
        guard dest.count <= remaining else { return false }
        let done = min(end - start, dest.count)
        if done > 0 {
            buffer.withUnsafeBytes { dest.baseAddress!.copyMemory(from: $0.baseAddress! + start, byteCount: done) }
            start += done
        }
        if done == dest.count { return true }
        let rest = dest.count - done
        if rest >= buffer.count / 2 { return pull(UnsafeMutableRawBufferPointer(rebasing: dest[done...])) }
        let n = min(buffer.count, size - offset)
        var refill = buffer  // moved out while `pull` updates the rest of self
        buffer = []
        let ok = refill.withUnsafeMutableBytes { pull(UnsafeMutableRawBufferPointer(rebasing: $0[0..<n])) }
        buffer = refill
        guard ok else { return false }
        buffer.withUnsafeBytes { dest.baseAddress!.advanced(by: done).copyMemory(from: $0.baseAddress!, byteCount: rest) }
        start = rest
        end = n
        return true
    }

    mutating func fill(_ a: inout [UInt8]) -> Bool { a.withUnsafeMutableBytes { fill($0) } }

    mutating func int() -> Int64? {
        var v: Int64 = 0
        return withUnsafeMutableBytes(of: &v) { fill($0) } ? Int64(littleEndian: v) : nil
    }

    mutating func int32() -> Int32? {
        var v: Int32 = 0
        return withUnsafeMutableBytes(of: &v) { fill($0) } ? Int32(littleEndian: v) : nil
    }

    /// A count, refused when negative or larger than the bytes left could hold.
    mutating func count() -> Int? {
        guard let v = int(), v >= 0, v <= Int64(remaining) else { return nil }
        return Int(v)
    }

    mutating func array<T: FixedWidthInteger>(_ n: Int) -> [T]? {
        guard n <= remaining / MemoryLayout<T>.size else { return nil }
        var ok = true
        let a = [T](unsafeUninitializedCapacity: n) { out, made in
            out.initialize(repeating: 0)
            made = n
            ok = fill(UnsafeMutableRawBufferPointer(out))
            #if _endian(big)
            for k in 0..<n { out[k] = T(littleEndian: out[k]) }
            #endif
        }
        return ok ? a : nil
    }

    /// Whether the digest stored after the body is that of the body (read it all first).
    mutating func digestMatches() -> Bool {
        var stored = [UInt8](repeating: 0, count: 32)
        guard stored.withUnsafeMutableBytes({ source($0, size) }) else { return false }
        return Array(hasher.finalize()) == stored
    }
}

extension ConsentState {
    /// The first way in which `other` holds different consent facts, or nil when both have the
    /// same members with the same attributes and histories at the same ledger sequence. Dense
    /// indexes may differ (a restored projection numbers new members after the checkpoint's);
    /// this compares by member id, so it is how a checkpoint's restore is proven equal to a
    /// rebuild from the ledger.
    public func contentDifference(from other: ConsentState) -> String? {
        if ledgerSeq != other.ledgerSeq { return "ledger sequence \(ledgerSeq) vs \(other.ledgerSeq)" }
        if memberCount != other.memberCount { return "\(memberCount) members vs \(other.memberCount)" }
        for i in 0..<Int32(memberCount) {
            let id = index.id(at: i)
            let j = other.memberIndex(id)
            guard j >= 0 else { return "member \(id) missing" }
            if region(of: i) != other.region(of: j) || isSuspectedMinor(i) != other.isSuspectedMinor(j)
                || adultAt(i) != other.adultAt(j) || closingTime(of: i) != other.closingTime(of: j) {
                return "member \(id) has different attributes"
            }
            if history(member: i) != other.history(member: j) { return "member \(id) has a different history" }
        }
        return nil
    }
}
