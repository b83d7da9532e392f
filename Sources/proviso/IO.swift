#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import ProvisoCore

/// Reads a file or stdin in large chunks and hands out complete lines as byte slices.
/// Lines are delivered as soon as their chunk arrives, so a pipe is processed live.
final class LineReader {
    let fd: Int32
    let closeOnEnd: Bool
    let path: String
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    var filled = 0
    var lineNumber = 0
    var finished = false

    /// Opens `path`, or stdin for `-`.
    init(path: String) throws(CLIError) {
        self.path = path
        if path == "-" {
            fd = 0
            closeOnEnd = false
        } else {
            fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw CLIError("cannot open \(path): \(String(cString: strerror(errno)))") }
            closeOnEnd = true
        }
    }

    deinit { if closeOnEnd { close(fd) } }

    /// Reads the next chunk and calls `body` with each complete line in it (without its
    /// newline; a trailing `\r` is removed) and its 1-based number. Returns false at the end.
    func readChunk(_ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        guard !finished else { return false }
        if filled == buffer.count { buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count)) }
        var n = 0
        while true {
            n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n >= 0 { break }
            if errno != EINTR { throw CLIError("cannot read \(path): \(String(cString: strerror(errno)))") }
        }
        let end = filled + n
        var start = 0
        try buffer.withUnsafeBytes { b in
            var i = filled
            while i < end {
                if b[i] == 0x0A {
                    lineNumber += 1
                    var stop = i
                    if stop > start, b[stop - 1] == 0x0D { stop -= 1 }
                    try body(lineNumber, UnsafeRawBufferPointer(rebasing: b[start..<stop]))
                    start = i + 1
                }
                i += 1
            }
            if n == 0, start < end {
                lineNumber += 1
                try body(lineNumber, UnsafeRawBufferPointer(rebasing: b[start..<end]))
                start = end
            }
        }
        if n == 0 {
            finished = true
            return false
        }
        // Keep the partial last line at the front of the buffer.
        if start > 0 {
            buffer.withUnsafeMutableBytes { b in _ = memmove(b.baseAddress!, b.baseAddress! + start, end - start) }
        }
        filled = end - start
        return true
    }

    /// Calls `body` for every line; `afterChunk` runs after each chunk (e.g. to flush output).
    func forEachLine(_ body: (Int, UnsafeRawBufferPointer) throws -> Void, afterChunk: () -> Void = {}) throws {
        while try readChunk(body) { afterChunk() }
        afterChunk()
    }
}

/// Buffered writes to stdout or stderr with explicit flushes.
final class Output: Sendable {
    let fd: Int32
    let buffer = Mutex<[UInt8]>([])

    init(fd: Int32) { self.fd = fd }

    static let stdout = Output(fd: 1)
    static let stderr = Output(fd: 2)

    func write(_ s: String) {
        let full = buffer.withLock { b in
            b.append(contentsOf: s.utf8)
            return b.count >= 1 << 16
        }
        if full { flush() }
    }

    func line(_ s: String) { write(s + "\n") }

    func flush() {
        buffer.withLock { b in
            var off = 0
            while off < b.count {
                let n = b.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
                if n < 0 { if errno == EINTR { continue }; break }
                off += n
            }
            b.removeAll(keepingCapacity: true)
        }
    }
}

/// Progress on stderr for long jobs, only when stderr is a terminal.
struct Progress {
    let label: String
    let enabled = isatty(2) == 1
    var next = 100_000

    mutating func tick(_ count: Int) {
        guard enabled, count >= next else { return }
        next += 100_000
        Output.stderr.write("\r\(label): \(count) lines…")
        Output.stderr.flush()
    }

    func done() {
        guard enabled else { return }
        Output.stderr.write("\r\u{1B}[K")
        Output.stderr.flush()
    }
}

/// An error for the person at the terminal: what went wrong and what to do.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Monotonic seconds, for rates in command summaries.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Reads every line of a JSONL file through `parse` (blank lines skipped). If any line is
/// bad, every bad line is listed on stderr with its number and why, and the import stops
/// before anything is written: one bad line rejects the whole file.
func readAllOrNothing<T>(_ file: String, label: String, parse: (_ line: Int, _ json: JSON) throws(InputError) -> T) throws -> [T] {
    var items: [T] = []
    var bad: [(Int, String)] = []
    var progress = Progress(label: label)
    try LineReader(path: file).forEachLine { number, bytes in
        progress.tick(number)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        do {
            items.append(try parse(number, try JSON.parse(bytes)))
        } catch let e as JSONError {
            bad.append((number, e.description))
        } catch let e as InputError {
            bad.append((number, e.message))
        }
    }
    progress.done()
    guard bad.isEmpty else {
        for (n, why) in bad { Output.stderr.line("\(file):\(n): \(why)") }
        throw CLIError("\(bad.count) invalid line\(bad.count == 1 ? "" : "s") in \(file); nothing was imported")
    }
    return items
}
