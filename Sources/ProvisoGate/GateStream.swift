import Crypto
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

/// Streams JSONL from a file descriptor through a `GateFilter`: big reads, lines found with
/// `memchr`, eligible lines copied byte for byte (terminator included) into the output
/// buffer, the input and output hashed on the way. Memory is the two buffers plus the
/// filter's per-member tables, whatever the input size; a line longer than `maxLine` is
/// excluded as malformed without being held in memory.
public struct GateStream {
    public static let chunk = 8 << 20
    public static let maxLine = 16 << 20

    public var progress: GateProgress?

    public init(progress: GateProgress? = nil) { self.progress = progress }

    /// Runs the pass. `explain`, when given, receives one JSON line per excluded record.
    public func run(input fd: Int32, filter: inout GateFilter, records: String, explain: String?,
                    strict: Bool) throws(GateStreamError) -> StreamSummary {
        do {
            return try pass(fd, &filter, records, explain, strict)
        } catch let e as GateIOError {
            throw .io(e)
        } catch let e as StrictStop {
            throw .strict(e)
        } catch {
            throw .io(GateIOError(message: "\(error)"))
        }
    }

    private func pass(_ fd: Int32, _ filter: inout GateFilter, _ recordsPath: String, _ explainPath: String?,
                      _ strict: Bool) throws -> StreamSummary {
        let out = try FileSink(path: recordsPath, capacity: Self.chunk)
        let explain = try explainPath.map { p throws(GateIOError) in try FileSink(path: p) }
        var inputHash = SHA256()
        var inputBytes = 0
        var buffer = [UInt8](repeating: 0, count: Self.chunk + Self.maxLine)
        var filled = 0          // bytes in buffer
        var lineNumber = 0
        var skipping = false    // inside an over-long line: drop bytes until its newline
        var eof = false
        var report = progress

        func handle(_ line: UnsafeRawBufferPointer, terminated: Int) throws {
            lineNumber += 1
            let v = filter.classify(UnsafeRawBufferPointer(rebasing: line[0..<(line.count - terminated)]))
            if v.eligible {
                try out.append(line)
                return
            }
            try excluded(v, lineNumber)
        }

        func excluded(_ v: LineVerdict, _ number: Int) throws {
            let detail = v.problem.map { p in "\(p.message)" + (p.kind == .malformed ? " (byte \(p.offset + 1))" : "") }
            if strict { throw StrictStop(line: number, reasons: GateTally.codes(of: v), detail: detail) }
            guard let explain else { return }
            var s = "{\"line\":\(number),\"reasons\":["
            s += GateTally.codes(of: v).map { "\"\($0)\"" }.joined(separator: ",") + "]"
            if v.member >= 0 {
                s += ",\"member_id\":"
                JSON.appendQuoted(filter.state.index.id(at: v.member), to: &s)
            }
            if let detail {
                s += ",\"detail\":"
                JSON.appendQuoted(detail, to: &s)
            }
            try explain.append(s + "}\n")
        }

        while !eof {
            let n = buffer.withUnsafeMutableBytes { b in read(fd, b.baseAddress! + filled, min(Self.chunk, b.count - filled)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw GateIOError("cannot read", "the input")
            }
            if n == 0 { eof = true }
            try buffer.withUnsafeMutableBytes { (b: UnsafeMutableRawBufferPointer) throws in
                let base = b.baseAddress!
                inputHash.update(bufferPointer: UnsafeRawBufferPointer(start: base + filled, count: n))
                inputBytes += n
                let end = filled + n
                var start = 0
                if skipping {
                    // Still inside an over-long line: it was counted as malformed when first seen.
                    guard let nl = memchr(base, 0x0A, end) else { filled = 0; return }
                    start = base.distance(to: UnsafeMutableRawPointer(nl)) + 1
                    skipping = false
                }
                while start < end {
                    guard let nl = memchr(base + start, 0x0A, end - start) else { break }
                    let stop = base.distance(to: UnsafeMutableRawPointer(nl)) + 1
                    try handle(UnsafeRawBufferPointer(start: base + start, count: stop - start), terminated: 1)
                    start = stop
                }
                let rest = end - start
                if eof {
                    if rest > 0 { try handle(UnsafeRawBufferPointer(start: base + start, count: rest), terminated: 0) }
                    filled = 0
                } else if rest > Self.maxLine {
                    lineNumber += 1
                    let problem = LineProblem(kind: .malformed, message: "line longer than 16 MiB", offset: Self.maxLine)
                    let v = LineVerdict(reasons: ReasonSet(), problem: problem, member: -1, category: nil)
                    filter.countOversized(v)
                    try excluded(v, lineNumber)
                    skipping = true
                    filled = 0
                } else {
                    if start > 0, rest > 0 { memmove(base, base + start, rest) }
                    filled = rest
                }
            }
            report?.update(bytes: inputBytes, records: filter.tally.read)
        }
        report?.finish(bytes: inputBytes, records: filter.tally.read)
        let outputSHA = try out.finish()
        _ = try explain?.finish()
        return StreamSummary(inputSHA256: Hex.string(inputHash.finalize()), inputBytes: inputBytes,
                             outputSHA256: outputSHA, outputBytes: out.bytes)
    }
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
