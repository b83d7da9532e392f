import CProvisoScan
import ProvisoCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the gate needs about a member for every line, found with one memory read.
///
/// Resolving a line through the consent state costs five reads far apart in memory: the index
/// slot, the id's bounds, the id's bytes, the member's verdict, its region — each a cache miss
/// in tables of tens of megabytes, and together most of a pass's time. This table mirrors the
/// `MemberIndex` slots (same size, each member at its own slot) and keeps beside each one, in 32 bytes, the
/// first 16 bytes of the id, the member's verdict for the pass (deny reasons, content start
/// date) and its region group. Ids longer than 16 bytes are confirmed against the index's own
/// bytes. A verdict that does not fit (a content start that is not a whole day) is marked and
/// computed by the engine when asked, so answers are always the engine's own.
final class GateMemberTable: @unchecked Sendable {
    struct Entry {
        var k0: UInt64 = 0
        var k1: UInt64 = 0
        /// Content start as a day number, `Int32.min` for none (`MemberVerdict.contentFrom == .min`).
        var contentDay: Int32 = 0
        /// min(id length, 255).
        var length: UInt8 = 0
        var region: UInt8 = 0
        var flags: UInt8 = 0
        var spare: UInt8 = 0
        var member: Int32 = -1
        var reasons: UInt32 = 0
    }

    static let used: UInt8 = 1
    /// The id is longer than the inline 16 bytes: compare the rest against the index.
    static let long: UInt8 = 2
    /// The verdict did not fit the entry: ask the engine.
    static let computed: UInt8 = 4
    /// `MemberVerdict.choseOn`: kept so the verdict handed back is the engine's whole value.
    static let choseOn: UInt8 = 8

    let entries: UnsafeMutablePointer<Entry>
    let size: Int
    let mask: Int
    let state: ConsentState
    let verdict: @Sendable (Int32) -> MemberVerdict

    /// Builds the table on `threads` threads, each taking a range of members in index order
    /// (their ids, regions and choices are then read in order; only the slot search and the
    /// entry write are random), asking `verdict` for each member's verdict.
    init(state: ConsentState, threads: Int, verdict: @escaping @Sendable (Int32) -> MemberVerdict) {
        self.state = state
        self.verdict = verdict
        size = state.index.withSlots { $0.count }
        mask = size - 1
        let bytes = size * MemoryLayout<Entry>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        HugePages.advise(UnsafeRawBufferPointer(start: raw, count: bytes))
        memset(raw, 0, bytes)  // an all-zero entry is an empty slot
        entries = raw.bindMemory(to: Entry.self, capacity: size)
        let members = state.memberCount
        let parts = max(1, min(threads, 8, members / 4096 + 1))
        let me = UnsafeSendable(self)
        Workers.perform(parts, "gate.member-table") { k in
            me.value.fill(Int32(members * k / parts)..<Int32(members * (k + 1) / parts))
        }
    }

    deinit { entries.deallocate() }

    /// Writes the entries of members `range`; each member owns its slot, so ranges never collide.
    /// Members go in batches: first their entries and home slots (reads in member order), then
    /// the slot searches and the entry writes, each a tight loop of independent random accesses
    /// the CPU overlaps (interleaved with the verdict's work, every slot search was a stall).
    private func fill(_ range: Range<Int32>) {
        let batch = 64
        withUnsafeTemporaryAllocation(of: Entry.self, capacity: batch) { made in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: batch) { pos in
                state.index.withSlots { slots in
                    var first = range.lowerBound
                    while first < range.upperBound {
                        let n = Int(min(Int32(batch), range.upperBound - first))
                        for k in 0..<n {
                            let m = first + Int32(k)
                            var e = Entry()
                            e.flags = Self.used
                            e.member = m
                            pos[k] = state.index.withID(at: m) { id in
                                (e.k0, e.k1) = prefixWords(id)
                                e.length = UInt8(min(id.count, 255))
                                if id.count > 16 { e.flags |= Self.long }
                                return MemberIndex.hash(id) & mask
                            }
                            e.region = state.region(of: m).rawValue
                            let v = verdict(m)
                            e.reasons = v.reasons.bits
                            if v.choseOn { e.flags |= Self.choseOn }
                            if v.contentFrom == .min {
                                e.contentDay = .min
                            } else if v.contentFrom % Time.microsPerDay == 0, let d = Int32(exactly: v.contentFrom / Time.microsPerDay), d != .min {
                                e.contentDay = d
                            } else {
                                e.flags |= Self.computed
                            }
                            made[k] = e
                        }
                        for k in 0..<n {
                            let m = first + Int32(k)
                            var i = pos[k]
                            while slots[i] != m {
                                precondition(slots[i] >= 0, "member \(m) is not in the index")
                                i = (i + 1) & mask
                            }
                            pos[k] = i
                        }
                        for k in 0..<n { entries[pos[k]] = made[k] }
                        first += Int32(n)
                    }
                }
            }
        }
    }

    /// The member's verdict as the engine gives it.
    @inline(__always)
    func memberVerdict(_ e: Entry) -> MemberVerdict {
        if e.flags & Self.computed != 0 { return verdict(e.member) }
        var v = MemberVerdict()
        v.reasons.bits = e.reasons
        v.choseOn = e.flags & Self.choseOn != 0
        v.contentFrom = e.contentDay == .min ? .min : Int64(e.contentDay) * Time.microsPerDay
        return v
    }

    @inline(__always)
    func matches(_ e: Entry, _ key: UnsafeRawBufferPointer, _ k0: UInt64, _ k1: UInt64) -> Bool {
        guard e.k0 == k0, e.k1 == k1, Int(e.length) == min(key.count, 255) else { return false }
        if e.flags & Self.long == 0 { return true }
        return state.index.withID(at: e.member) { id in
            id.count == key.count && memcmpBytes(id.baseAddress!, key.baseAddress!, key.count)
        }
    }

    /// The entry of the member whose id is exactly `key`, or nil.
    func find(_ key: UnsafeRawBufferPointer) -> Entry? {
        let (k0, k1) = prefixWords(key)
        var i = MemberIndex.hash(key) & mask
        while true {
            let e = entries[i]
            if e.flags & Self.used == 0 { return nil }
            if matches(e, key, k0, k1) { return e }
            i = (i + 1) & mask
        }
    }

    /// The home slot of `key`, whose entry the CPU is asked to start reading now (see
    /// `find(all:slots:into:found:)`).
    @inline(__always)
    func prefetchSlot(_ key: UnsafeRawBufferPointer) -> Int {
        let i = MemberIndex.hash(key) & mask
        pv_prefetch(entries + i)
        return i
    }

    /// Looks up many keys at once (same answers as `find`; `found[k]` false when absent):
    /// first every key's slot is read — independent reads the CPU overlaps — then compared.
    func find(all keys: UnsafeBufferPointer<UnsafeRawBufferPointer>, into out: UnsafeMutableBufferPointer<Entry>,
              found: UnsafeMutableBufferPointer<Bool>) {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: keys.count) { pos in
            for k in 0..<keys.count { pos[k] = MemberIndex.hash(keys[k]) & mask }
            find(all: keys, slots: UnsafeBufferPointer(pos), into: out, found: found)
        }
    }

    /// The same, with the keys' home slots already known (`prefetchSlot`, called as each line
    /// was scanned, so that by now most entries are in the cache).
    func find(all keys: UnsafeBufferPointer<UnsafeRawBufferPointer>, slots pos: UnsafeBufferPointer<Int>,
              into out: UnsafeMutableBufferPointer<Entry>, found: UnsafeMutableBufferPointer<Bool>) {
        let n = keys.count
        for k in 0..<n { out[k] = entries[pos[k]] }
        for k in 0..<n {
            let key = keys[k]
            let (k0, k1) = prefixWords(key)
            var e = out[k]
            var i = pos[k]
            while true {
                if e.flags & Self.used == 0 { found[k] = false; break }
                if matches(e, key, k0, k1) { found[k] = true; out[k] = e; break }
                i = (i + 1) & mask
                e = entries[i]
            }
        }
    }
}
