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
/// members, id bytes, histories, choices and closing times (u64 each); the id bytes; per member
/// the id's end offset (u32), region (u8), flags (u8), adult day (i32) and history (i32, -1 for
/// none); per history its length (u32); per choice its effective time (i64), sequence (i64),
/// setting, value and channel (u8 each); per closing time the member (i32) and time (i64); and
/// the SHA-256 of everything before it.
extension ConsentState {
    static let checkpointMagic: [UInt8] = Array("PVSTATE1".utf8)

    /// This projection as checkpoint bytes.
    public func checkpoint() -> [UInt8] {
        var out = CheckpointWriter()
        out.bytes(Self.checkpointMagic)
        out.int(ledgerSeq)
        let choices = histories.reduce(0) { $0 + $1.count }
        for n in [memberCount, index.arena.count, histories.count, choices, closedAt.count] { out.int(Int64(n)) }
        out.bytes(index.arena)
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
        out.bytes(Array(SHA256.hash(data: out.data)))
        return out.data
    }

    /// The projection a checkpoint holds, or nil if `bytes` is not an intact checkpoint of this
    /// format (the caller then rebuilds from the ledger).
    public init?(checkpoint bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 8 + 48 + 32 else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.count - 32)])
        var digest = SHA256()
        digest.update(bufferPointer: body)
        guard Array(digest.finalize()) == Array(bytes[(bytes.count - 32)...]) else { return nil }
        var r = CheckpointReader(body)
        guard r.bytes(8).map(Array.init) == Self.checkpointMagic,
              let seq = r.int(), let members = r.count(), let idBytes = r.count(), let historyCount = r.count(),
              let choiceCount = r.count(), let closedCount = r.count(),
              let arena = r.bytes(idBytes), let ends: [UInt32] = r.array(members), let regions: [UInt8] = r.array(members),
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
        for n in lengths {
            var h: [Choice] = []
            h.reserveCapacity(Int(n))
            for _ in 0..<n {
                guard let at = r.int(), let seq = r.int(), let codes = r.bytes(3), let setting = SettingID(rawValue: codes[0]),
                      codes[1] < 2, let channel = Channel(rawValue: codes[2]) else { return nil }
                h.append(Choice(effectiveAt: at, seq: seq, setting: setting, on: codes[1] == 1, channel: channel))
            }
            histories.append(h)
        }
        var closedAt: [Int32: Micros] = [:]
        closedAt.reserveCapacity(closedCount)
        for _ in 0..<closedCount {
            guard let m = r.int32(), m >= 0, Int(m) < members, flags[Int(m)] & 2 != 0, let at = r.int() else { return nil }
            closedAt[m] = at
        }
        guard r.atEnd, flags.enumerated().allSatisfy({ $0.element & 2 == 0 || closedAt[Int32($0.offset)] != nil }) else { return nil }
        self.init(capacity: 16)
        index.arena = Array(arena)
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
}

/// Appends fixed-width little-endian values.
struct CheckpointWriter {
    var data: [UInt8] = []

    mutating func bytes(_ b: [UInt8]) { data.append(contentsOf: b) }
    mutating func int(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    mutating func int32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }

    /// A whole array of fixed-width integers at once (their memory is little-endian on every
    /// platform Proviso builds for; big-endian hosts write nothing usable, see `array` below).
    mutating func array<T: FixedWidthInteger>(_ a: [T]) {
        #if _endian(little)
        a.withUnsafeBytes { data.append(contentsOf: $0) }
        #else
        for v in a { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        #endif
    }
}

/// Reads what `CheckpointWriter` wrote; every read is bounds-checked and nil past the end.
struct CheckpointReader {
    let base: UnsafeRawBufferPointer
    var at = 0

    init(_ base: UnsafeRawBufferPointer) { self.base = base }

    var atEnd: Bool { at == base.count }

    /// The next `n` bytes, indexed from 0.
    mutating func bytes(_ n: Int) -> UnsafeRawBufferPointer? {
        guard n >= 0, n <= base.count - at else { return nil }
        defer { at += n }
        return UnsafeRawBufferPointer(rebasing: base[at..<(at + n)])
    }

    mutating func int() -> Int64? { bytes(8).map { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) } }
    mutating func int32() -> Int32? { bytes(4).map { Int32(littleEndian: $0.loadUnaligned(as: Int32.self)) } }

    /// A count, refused when negative or larger than the bytes left could hold.
    mutating func count() -> Int? {
        guard let v = int(), v >= 0, v <= Int64(base.count) else { return nil }
        return Int(v)
    }

    mutating func array<T: FixedWidthInteger>(_ n: Int) -> [T]? {
        let size = MemoryLayout<T>.size
        guard n <= (base.count - at) / size, let b = bytes(n * size) else { return nil }
        return [T](unsafeUninitializedCapacity: n) { out, made in
            UnsafeMutableRawBufferPointer(out).copyMemory(from: b)
            #if _endian(big)
            for k in 0..<n { out[k] = T(littleEndian: out[k]) }
            #endif
            made = n
        }
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
