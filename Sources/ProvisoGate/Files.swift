import Crypto
import ProvisoCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An I/O failure, with the path and the system's words for it.
public struct GateIOError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    init(_ what: String, _ path: String) {
        message = "\(what) \(path): \(String(cString: strerror(errno)))"
    }

    init(message: String) { self.message = message }
}

/// A file written through a large buffer, hashed as it goes, fsynced on close: the gate's
/// outputs are evidence, so "written" has to mean on disk.
final class FileSink {
    let fd: Int32
    let path: String
    var buffer: [UInt8]
    var hasher = SHA256()
    private(set) var bytes = 0
    let capacity: Int

    init(path: String, capacity: Int = 4 << 20) throws(GateIOError) {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw GateIOError("cannot create", path) }
        self.path = path
        self.capacity = capacity
        buffer = []
        buffer.reserveCapacity(capacity)
    }

    deinit { if fd >= 0 { _ = Glibc_close(fd) } }

    func append(_ b: UnsafeRawBufferPointer) throws(GateIOError) {
        if buffer.count + b.count > capacity { try flush() }
        if b.count >= capacity {
            try writeOut(b)
        } else {
            buffer.append(contentsOf: b)
        }
    }

    /// Appends bytes the caller holds in one piece until this returns; a large piece is hashed
    /// and written from where it is instead of being copied into the buffer first.
    func append(inPlace b: UnsafeRawBufferPointer) throws(GateIOError) {
        guard b.count >= 64 << 10 else { return try append(b) }
        try flush()
        try writeOut(b)
    }

    func append(bytes: [UInt8]) throws(GateIOError) {
        let r: Result<Void, GateIOError> = bytes.withUnsafeBytes { b in Result { () throws(GateIOError) in try append(b) } }
        try r.get()
    }

    func append(_ s: String) throws(GateIOError) {
        var copy = s
        let r: Result<Void, GateIOError> = copy.withUTF8 { u in Result { () throws(GateIOError) in try append(UnsafeRawBufferPointer(u)) } }
        try r.get()
    }

    func flush() throws(GateIOError) {
        guard !buffer.isEmpty else { return }
        let r: Result<Void, GateIOError> = buffer.withUnsafeBytes { b in Result { () throws(GateIOError) in try writeOut(b) } }
        try r.get()
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeOut(_ b: UnsafeRawBufferPointer) throws(GateIOError) {
        hasher.update(bufferPointer: b)
        let offset = bytes
        bytes += b.count
        var done = 0
        while done < b.count {
            let n = write(fd, b.baseAddress! + done, b.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw GateIOError("cannot write", path)
            }
            done += n
        }
        #if os(Linux)
        // Start writeback of what was just written, so the fsync at the end finds little left
        // to do: durability paid during the pass instead of after it.
        _ = linuxSyncFileRange(fd, Int64(offset), Int64(b.count), 2 /* SYNC_FILE_RANGE_WRITE */)
        #endif
    }

    /// Flushes, fsyncs and returns the SHA-256 of everything written, in hex.
    func finish() throws(GateIOError) -> String {
        try flush()
        guard fsync(fd) == 0 else { throw GateIOError("cannot sync", path) }
        return LedgerHash.hex(Array(hasher.finalize()))
    }
}

/// Closes through a differently named function so `FileSink.deinit` does not resolve to a method.
@inline(__always) func Glibc_close(_ fd: Int32) -> Int32 { close(fd) }

enum FS {
    /// Whether a path exists (any kind of file).
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Names in a directory, without `.` and `..`.
    static func entries(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    static func makeDirectory(_ path: String) throws(GateIOError) {
        guard mkdir(path, 0o755) == 0 else { throw GateIOError("cannot create directory", path) }
    }

    /// Removes a directory the gate made (flat: files only).
    static func removeTree(_ path: String) {
        for e in entries(path) { unlink(path + "/" + e) }
        rmdir(path)
    }

    static func rename(_ from: String, _ to: String) throws(GateIOError) {
        guard Glibc_rename(from, to) == 0 else { throw GateIOError("cannot rename to", to) }
    }

    /// Makes a rename durable: fsync of the directory that holds the entry.
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        _ = close(fd)
    }

    static func parent(of path: String) -> String {
        var p = path
        while p.count > 1, p.hasSuffix("/") { p.removeLast() }
        guard let slash = p.lastIndex(of: "/") else { return "." }
        return slash == p.startIndex ? "/" : String(p[..<slash])
    }
}

#if os(Linux)
/// glibc declares `sync_file_range` only under `_GNU_SOURCE`, which Swift's Glibc module does not set.
@_silgen_name("sync_file_range")
func linuxSyncFileRange(_ fd: Int32, _ offset: Int64, _ count: Int64, _ flags: UInt32) -> Int32
#endif

@inline(__always) func Glibc_rename(_ a: String, _ b: String) -> Int32 { rename(a, b) }
