/// Maps member ids to dense integer indexes. Ids live in one byte arena and the table holds
/// only `Int32` slots, so a million members cost ~20 bytes each here instead of a `String`
/// key per entry; lookups take raw bytes, so the dataset gate never builds a `String`.
public struct MemberIndex: Sendable {
    @usableFromInline var arena: [UInt8] = []
    /// End offset in `arena` of each member's id; the start is the previous end.
    @usableFromInline var ends: [UInt32] = []
    @usableFromInline var slots: [Int32]
    @usableFromInline var mask: Int

    public init(capacity: Int = 16) {
        var size = 16
        while size * 3 < capacity * 4 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    /// Number of members indexed.
    @inlinable public var count: Int { ends.count }

    /// Bytes held by the index, for memory reports.
    public var byteCount: Int { arena.capacity + ends.capacity * 4 + slots.capacity * 4 }

    /// The hash that places an id in the slot table (linear probing from `hash & (slots - 1)`).
    @inlinable
    public static func hash(_ p: UnsafeRawBufferPointer) -> Int {
        // FNV-1a, then a final avalanche so sequential ids spread over the table.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in p { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        return Int(truncatingIfNeeded: h)
    }

    /// The index of the member whose id is exactly these bytes, or -1.
    @inlinable
    public func find(_ key: UnsafeRawBufferPointer) -> Int32 {
        var i = MemberIndex.hash(key) & mask
        return arena.withUnsafeBytes { a in
            ends.withUnsafeBufferPointer { e in
                slots.withUnsafeBufferPointer { s in
                    while true {
                        let m = s[i]
                        if m < 0 { return -1 }
                        let end = Int(e[Int(m)])
                        let start = m == 0 ? 0 : Int(e[Int(m) - 1])
                        if end - start == key.count,
                           key.count == 0 || memcmpBytes(a.baseAddress! + start, key.baseAddress!, key.count) {
                            return m
                        }
                        i = (i + 1) & mask
                    }
                }
            }
        }
    }

    /// The index of a member id, or -1.
    public func find(_ id: String) -> Int32 {
        var copy = id
        return copy.withUTF8 { find(UnsafeRawBufferPointer($0)) }
    }

    /// The id of the member at `index`.
    public func id(at index: Int32) -> String {
        let end = Int(ends[Int(index)])
        let start = index == 0 ? 0 : Int(ends[Int(index) - 1])
        return String(decoding: arena[start..<end], as: UTF8.self)
    }

    /// Calls `body` with the slot table (a member index or -1 per slot; its size is a power of
    /// two), for a caller that keeps data of its own beside each slot: the gate's member table
    /// mirrors these slots so that one memory read finds a member and its verdict.
    public func withSlots<R>(_ body: (UnsafeBufferPointer<Int32>) -> R) -> R {
        slots.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with the id bytes of the member at `index`, without building a `String`.
    public func withID<R>(at index: Int32, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let end = Int(ends[Int(index)])
        let start = index == 0 ? 0 : Int(ends[Int(index) - 1])
        return arena.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
    }

    /// Whether member `a`'s id sorts before member `b`'s, byte by byte (SQLite's BINARY
    /// collation), so the gate's member sets come out in the registry's order.
    public func idLess(_ a: Int32, _ b: Int32) -> Bool {
        withID(at: a) { x in withID(at: b) { y in x.lexicographicallyPrecedes(y) } }
    }

    /// Appends an id the caller knows is new (a store's primary key vouches for it) without
    /// indexing it yet; `rebuild()` indexes everything appended this way in one pass. Loading
    /// a million members so costs one independent slot write each instead of a dependent
    /// lookup-then-insert, whose cache misses cannot overlap.
    public mutating func appendUnindexed(_ id: String) -> Int32 {
        var id = id
        return id.withUTF8 { appendUnindexed(UnsafeRawBufferPointer($0)) }
    }

    /// The same for an id's bytes.
    public mutating func appendUnindexed(_ id: UnsafeRawBufferPointer) -> Int32 {
        let index = Int32(ends.count)
        arena.append(contentsOf: id)
        precondition(arena.count <= Int(UInt32.max), "member id arena exceeds 4 GiB")
        ends.append(UInt32(arena.count))
        return index
    }

    /// Rebuilds the slot table for every id; required after `appendUnindexed`.
    public mutating func rebuild() {
        var size = 16
        while size * 3 < ends.count * 4 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        for m in 0..<ends.count { place(Int32(m)) }
    }

    /// Inserts an id if absent; returns its index and whether it was new.
    @discardableResult
    public mutating func insert(_ id: String) -> (index: Int32, inserted: Bool) {
        let existing = find(id)
        if existing >= 0 { return (existing, false) }
        if (ends.count + 1) * 4 > slots.count * 3 { grow() }
        let index = Int32(ends.count)
        arena.append(contentsOf: id.utf8)
        precondition(arena.count <= Int(UInt32.max), "member id arena exceeds 4 GiB")
        ends.append(UInt32(arena.count))
        place(index)
        return (index, true)
    }

    mutating func place(_ index: Int32) {
        let end = Int(ends[Int(index)])
        let start = index == 0 ? 0 : Int(ends[Int(index) - 1])
        var i = arena.withUnsafeBytes { MemberIndex.hash(UnsafeRawBufferPointer(rebasing: $0[start..<end])) } & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = index
    }

    mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        for m in 0..<ends.count { place(Int32(m)) }
    }

    /// Reserves room for `n` more members without rehashing on the way.
    public mutating func reserve(additional n: Int, bytesPerID: Int = 12) {
        arena.reserveCapacity(arena.count + n * bytesPerID)
        ends.reserveCapacity(ends.count + n)
        let target = ends.count + n
        if target * 4 > slots.count * 3 {
            var size = slots.count
            while target * 4 > size * 3 { size <<= 1 }
            slots = [Int32](repeating: -1, count: size)
            mask = size - 1
            for m in 0..<ends.count { place(Int32(m)) }
        }
    }
}

/// The first 16 bytes of `b`, zero-padded, as two words, so that short byte strings (category
/// codes, the gate's member ids) compare as integers — with their lengths, exactly.
@inlinable
public func prefixWords(_ b: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
    var words: (UInt64, UInt64) = (0, 0)
    if let base = b.baseAddress {
        withUnsafeMutableBytes(of: &words) { $0.baseAddress!.copyMemory(from: base, byteCount: min(b.count, 16)) }
    }
    return words
}

/// Whether `n` bytes at `a` and `b` are equal: a word at a time, inlinable so hot paths in
/// other modules (the gate's scanner) compare field names without a call.
@inlinable
public func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
        i += 8
    }
    while i < n {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i += 1
    }
    return true
}
