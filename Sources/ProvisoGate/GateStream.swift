import Crypto
import Dispatch
import ProvisoCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `--strict` pass met a line it would have excluded.
public struct StrictStop: Error, Sendable, CustomStringConvertible {
    public var line: Int
    public var reasons: [String]
    public var detail: String?
    public var description: String {
        "line \(line) would be excluded (\(reasons.joined(separator: ", "))\(detail.map { ": " + $0 } ?? ""))"
    }
}

/// Why a gate pass stopped.
public enum GateStreamError: Error, Sendable, CustomStringConvertible {
    case io(GateIOError)
    case strict(StrictStop)

    public var description: String {
        switch self {
        case let .io(e): e.description
        case let .strict(s): s.description
        }
    }
}

/// What the stream saw and wrote.
public struct StreamSummary: Sendable, Equatable {
    public var inputSHA256: String
    public var inputBytes: Int
    public var outputSHA256: String
    public var outputBytes: Int
}

/// Streams JSONL from a file descriptor (or its mapping) through a `GateFilter`: lines found
/// a batch at a time (`LineSplitter`), eligible lines copied byte for byte (terminator
/// included) into the output, the input and output hashed on the way. Memory is the buffers
/// plus the filter's per-member tables, whatever the input size; a line longer than `maxLine`
/// is excluded as malformed (and never held in memory whole when it does not fit the buffer).
public struct GateStream {
    /// Bytes read at a time, and the longest line held in memory (longer ones are excluded).
    public var chunk = 8 << 20
    public var maxLine = 16 << 20

    public var progress: GateProgress?
    /// Threads deciding lines; the input and output are hashed and written by the caller's.
    public var workers: Int

    public init(progress: GateProgress? = nil, workers: Int = GateStream.defaultWorkers) {
        self.progress = progress
        self.workers = workers
    }

    /// One per core.
    public static var defaultWorkers: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Runs the pass. `explain`, when given, receives one JSON line per excluded record.
    /// `hashInput: false` when the input's digest is taken elsewhere (`InputDigest`); the
    /// summary's `inputSHA256` is then empty.
    /// `mapped`: the input's bytes already in memory (`InputDigest.mapped`), read in place
    /// instead of through `fd`.
    public func run(input fd: Int32, mapped: UnsafeRawBufferPointer? = nil, filter: inout GateFilter, records: String,
                    explain: String?, strict: Bool, hashInput: Bool = true) throws(GateStreamError) -> StreamSummary {
        do {
            return try pass(fd, mapped, &filter, records, explain, strict, hashInput)
        } catch let e as GateIOError {
            throw .io(e)
        } catch let e as StrictStop {
            throw .strict(e)
        } catch {
            throw .io(GateIOError(message: "\(error)"))
        }
    }

    private func pass(_ fd: Int32, _ mapped: UnsafeRawBufferPointer?, _ filter: inout GateFilter, _ recordsPath: String,
                      _ explainPath: String?, _ strict: Bool, _ hashInput: Bool) throws -> StreamSummary {
        let out = try FileSink(path: recordsPath, capacity: chunk, direct: true)
        let explain = try explainPath.map { p throws(GateIOError) in try FileSink(path: p) }
        var inputHash = SHA256()
        var inputBytes = 0
        var buffer = mapped == nil ? [UInt8](repeating: 0, count: chunk + maxLine) : []  // read path only
        var filled = 0          // bytes in buffer
        var lineNumber = 0      // lines finished before the current chunk
        var skipping = false    // inside an over-long line: drop bytes until its newline
        var eof = false
        var report = progress
        // One lane per core; this thread reads, hashes and writes.
        let lanes = max(1, min(workers, 8))
        let boxes = (0..<lanes).map { k in Lane(filter: k == 0 ? filter : filter.worker()) }
        // Lane 0 owns the per-member counts from here on (the caller's filter takes lane 0's
        // back at the end, and only counts over-long lines meanwhile, which are never
        // eligible): dropping this copy's reference spares lane 0 a copy-on-write of the whole
        // array at its first increment (tens of megabytes).
        filter.counts = []

        func excluded(_ v: LineVerdict, _ number: Int, _ memberID: (Int32) -> String) throws {
            let detail = v.problem.map { p in "\(p.message)" + (p.kind == .malformed ? " (byte \(p.offset + 1))" : "") }
            if strict { throw StrictStop(line: number, reasons: GateTally.codes(of: v), detail: detail) }
            guard let explain else { return }
            var s = "{\"line\":\(number),\"reasons\":["
            s += GateTally.codes(of: v).map { "\"\($0)\"" }.joined(separator: ",") + "]"
            if v.member >= 0 {
                s += ",\"member_id\":"
                JSON.appendQuoted(memberID(v.member), to: &s)
            }
            if let detail {
                s += ",\"detail\":"
                JSON.appendQuoted(detail, to: &s)
            }
            try explain.append(s + "}\n")
        }

        /// Starts deciding the complete lines in `region`, split between the lanes at line
        /// boundaries; their findings go to output slot `slot`. Returns the group to wait on.
        func launch(_ region: UnsafeRawBufferPointer, slot: Int) -> DispatchGroup {
            let group = DispatchGroup()
            guard region.count > 0, let base = region.baseAddress else { return group }
            var cuts = [0]
            for k in 1..<lanes {
                var c = max(cuts.last!, region.count * k / lanes)
                if c < region.count, let nl = memchr(base + c, 0x0A, region.count - c) {
                    c = base.distance(to: UnsafeRawPointer(nl)) + 1
                } else {
                    c = region.count
                }
                cuts.append(c)
            }
            cuts.append(region.count)
            for k in 0..<lanes where cuts[k] < cuts[k + 1] {
                let lane = boxes[k]
                let bytes = UnsafeSendable(UnsafeRawBufferPointer(rebasing: region[cuts[k]..<cuts[k + 1]]))
                let limit = maxLine
                lane.queue.async(group: group) { lane.run(bytes.value, slot: slot, maxLine: limit) }
            }
            return group
        }

        /// Writes what the lanes found in output slot `slot`, in input order.
        func drain(slot: Int) throws {
            for lane in boxes {
                let found = lane.slots[slot]
                for e in found.excluded {
                    try excluded(e.verdict, lineNumber + e.index + 1) { filter.state.index.id(at: $0) }
                }
                try found.eligible.withUnsafeBytes { try out.append(inPlace: $0) }
                lineNumber += found.lines
                found.reset()
            }
        }

        // Pipelined: while the lanes decide chunk k, this thread hashes it and writes the
        // findings of chunk k-1.
        var slot = 0
        var waiting = false
        if let map = mapped, let base = map.baseAddress {
            // In place, and one chunk ahead: chunk k is queued on every lane before this thread
            // waits for chunk k-1 and writes it out, so a lane that finishes its share early
            // goes straight on (the input stays mapped, so no buffer has to be reused first).
            // Chunks end at a newline (or run on to the next one); pages are let go behind them.
            var pos = 0, released = 0
            var previous: (group: DispatchGroup, stop: Int)?
            func finish(_ p: (group: DispatchGroup, stop: Int)) throws {
                p.group.wait()
                try drain(slot: slot)
                slot = 1 - slot
                Mapped.release(map, from: &released, to: p.stop)
                inputBytes = p.stop
                report?.update(bytes: inputBytes, records: lineNumber)
            }
            while pos < map.count {
                var stop = min(map.count, pos + chunk)
                if stop < map.count {
                    var k = stop
                    while k > pos, map[k - 1] != 0x0A { k -= 1 }
                    if k > pos {
                        stop = k
                    } else if let nl = memchr(base + stop, 0x0A, map.count - stop) {
                        stop = base.distance(to: UnsafeRawPointer(nl)) + 1
                    } else {
                        stop = map.count
                    }
                }
                let region = UnsafeRawBufferPointer(rebasing: map[pos..<stop])
                // The slot after the one being drained (the lanes fill it while this thread writes).
                let group = launch(region, slot: previous == nil ? slot : 1 - slot)
                if hashInput { inputHash.update(bufferPointer: region) }
                if let p = previous {
                    do {
                        try finish(p)
                    } catch {
                        group.wait()  // the lanes are still filling this chunk's slot and their filters
                        throw error
                    }
                }
                previous = (group, stop)
                pos = stop
            }
            if let p = previous { try finish(p) }
            eof = true
        }
        while !eof {
            let n = buffer.withUnsafeMutableBytes { b in read(fd, b.baseAddress! + filled, min(chunk, b.count - filled)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw GateIOError("cannot read", "the input")
            }
            if n == 0 { eof = true }
            try buffer.withUnsafeMutableBytes { (b: UnsafeMutableRawBufferPointer) throws in
                let base = b.baseAddress!
                inputBytes += n
                let end = filled + n
                var start = 0
                if skipping {
                    // Still inside an over-long line: it was counted as malformed when first seen.
                    guard let nl = memchr(base, 0x0A, end) else {
                        if hashInput { inputHash.update(bufferPointer: UnsafeRawBufferPointer(start: base + filled, count: n)) }
                        filled = 0
                        return
                    }
                    start = base.distance(to: UnsafeMutableRawPointer(nl)) + 1
                    skipping = false
                }
                // Complete lines: up to the last newline (everything, at the end of the input).
                var stop = start
                if eof {
                    stop = end
                } else {
                    var k = end
                    while k > start, b[k - 1] != 0x0A { k -= 1 }
                    stop = k
                }
                let group = launch(UnsafeRawBufferPointer(start: base + start, count: stop - start), slot: slot)
                if hashInput { inputHash.update(bufferPointer: UnsafeRawBufferPointer(start: base + filled, count: n)) }
                do {
                    if waiting { try drain(slot: 1 - slot) }
                } catch {
                    // The lanes read this buffer: it must outlive them even when the pass stops
                    // (a --strict exclusion found in the previous chunk, a failed write).
                    group.wait()
                    throw error
                }
                group.wait()
                waiting = true
                slot = 1 - slot
                let rest = end - stop
                if eof {
                    filled = 0
                } else if rest > maxLine {
                    try drain(slot: 1 - slot)
                    waiting = false
                    lineNumber += 1
                    let v = LineVerdict(reasons: ReasonSet(), problem: GateFilter.tooLong(maxLine), member: -1, category: nil)
                    filter.countOversized(v)
                    try excluded(v, lineNumber) { filter.state.index.id(at: $0) }
                    skipping = true
                    filled = 0
                } else {
                    if stop > 0, rest > 0 { memmove(base, base + stop, rest) }
                    filled = rest
                }
            }
            report?.update(bytes: inputBytes, records: lineNumber)
        }
        if waiting { try drain(slot: 1 - slot) }
        // Lane 0 worked on a copy of the filter: fold every lane back into the caller's.
        let oversized = filter.tally
        filter = boxes[0].filter
        for k in 1..<lanes { filter.absorb(boxes[k].filter) }
        filter.addOversized(oversized)
        report?.finish(bytes: inputBytes, records: filter.tally.read)
        let outputSHA = try out.finish()
        _ = try explain?.finish()
        return StreamSummary(inputSHA256: hashInput ? LedgerHash.hex(Array(inputHash.finalize())) : "", inputBytes: inputBytes,
                             outputSHA256: outputSHA, outputBytes: out.bytes)
    }
}

/// One lane of a parallel pass: its own filter, and two output slots — one being filled by
/// the lane while this thread writes out the other. The filter and each slot are touched by
/// one thread at a time (the dispatch group orders the hand-over); the slots are separate
/// objects so that filling one and draining the other never mutate shared storage.
final class Lane: @unchecked Sendable {
    var filter: GateFilter
    let slots = [LaneOutput(), LaneOutput()]
    /// The lane's own thread (see `Workers`).
    let queue = Workers.queue("gate.lane")

    init(filter: GateFilter) { self.filter = filter }

    func run(_ segment: UnsafeRawBufferPointer, slot: Int, maxLine: Int) {
        let out = slots[slot]
        out.lines = filter.run(segment: segment, maxLine: maxLine, eligible: &out.eligible, excluded: &out.excluded)
    }
}

/// What a lane found in its share of one chunk.
final class LaneOutput: @unchecked Sendable {
    var eligible: [UInt8] = []
    var excluded: [(index: Int, verdict: LineVerdict)] = []
    var lines = 0

    init() { eligible.reserveCapacity(1 << 20) }

    func reset() {
        eligible.removeAll(keepingCapacity: true)
        excluded.removeAll(keepingCapacity: true)
        lines = 0
    }
}

/// A value one thread fills and another reads after waiting for it (a dispatch group orders
/// the two, so there is never a concurrent access).
final class Handoff<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

/// Hands a buffer pointer to another thread; the caller guarantees the bytes outlive the work.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A one-line progress bar on stderr (bytes, records/s, ETA), redrawn at most four times a
/// second; only made when stderr is a terminal, so logs and pipes stay clean.
public struct GateProgress: Sendable {
    let total: Int?
    let started: Double
    var last: Double = 0

    /// A bar for `total` bytes (nil when the input is a pipe), or nil when stderr is not a terminal.
    public static func forTerminal(total: Int?) -> GateProgress? {
        isatty(2) == 1 ? GateProgress(total: total, started: now()) : nil
    }

    /// Monotonic seconds.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    mutating func update(bytes: Int, records: Int) {
        let t = Self.now()
        guard t - last >= 0.25 else { return }
        last = t
        draw(bytes: bytes, records: records, elapsed: t - started, done: false)
    }

    mutating func finish(bytes: Int, records: Int) {
        draw(bytes: bytes, records: records, elapsed: Self.now() - started, done: true)
    }

    func draw(bytes: Int, records: Int, elapsed: Double, done: Bool) {
        let mb = Double(bytes) / 1e6
        let rate = elapsed > 0 ? Double(records) / elapsed : 0
        var line = "\r\u{1B}[2K"
        if let total, total > 0 {
            let share = min(1, Double(bytes) / Double(total))
            let width = 24
            let full = Int(share * Double(width))
            line += "[" + String(repeating: "#", count: full) + String(repeating: "-", count: width - full) + "] "
            line += "\(Int(share * 100))% \(Self.fixed(mb)) / \(Self.fixed(Double(total) / 1e6)) MB"
            if !done, share > 0 {
                let eta = elapsed / share - elapsed
                line += "  ETA \(Int(eta) / 60):" + (Int(eta) % 60 < 10 ? "0" : "") + "\(Int(eta) % 60)"
            }
        } else {
            line += "\(Self.fixed(mb)) MB"
        }
        line += "  \(Self.fixed(rate / 1e6))M records/s"
        if done { line += "\n" }
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress!, $0.count) }
    }

    static func fixed(_ x: Double) -> String {
        let tenths = Int((x * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
