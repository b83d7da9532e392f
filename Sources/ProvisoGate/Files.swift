import Crypto
import Dispatch
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
    /// Set when the file is written with O_DIRECT (see `init(direct:)`).
    let blocks: DirectBlocks?

    /// `direct: true` writes the file with O_DIRECT where the file system allows it: whole
    /// aligned blocks from a buffer of our own straight to the device, without the page
    /// cache. For a large output that is far cheaper: writing 400 MB through the page cache
    /// and syncing it took 0.62 s of system CPU here, O_DIRECT 0.07 s (dd, same disk). The
    /// file's last partial block is written through the page cache, and `finish` still
    /// fsyncs (O_DIRECT alone does not flush the device's cache or the file's metadata).
    init(path: String, capacity: Int = 4 << 20, direct: Bool = false) throws(GateIOError) {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw GateIOError("cannot create", path) }
        self.path = path
        self.capacity = capacity
        buffer = []
        #if os(Linux)
        let flags = fcntl(fd, F_GETFL)
        if direct, let O_DIRECT = linuxODirect, flags >= 0, fcntl(fd, F_SETFL, flags | O_DIRECT) == 0 {
            blocks = DirectBlocks(capacity: capacity)
            return
        }
        #endif
        blocks = nil
        buffer.reserveCapacity(capacity)
    }

    deinit {
        // A write still in flight (the pass stopped early) must end before its fd can be
        // closed and its number reused.
        blocks?.inFlight.wait()
        if fd >= 0 { _ = Glibc_close(fd) }
    }

    /// Whether the file is being written with O_DIRECT.
    var isDirect: Bool { blocks != nil }

    func append(_ b: UnsafeRawBufferPointer) throws(GateIOError) {
        if let blocks { return try appendDirect(b, blocks) }
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
        guard b.count >= 64 << 10, blocks == nil else { return try append(b) }
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

    /// Hashes `b` and copies it into the aligned buffer; a full buffer (always a whole number
    /// of blocks) goes to the writer thread while the other one fills.
    private func appendDirect(_ b: UnsafeRawBufferPointer, _ blocks: DirectBlocks) throws(GateIOError) {
        guard let source = b.baseAddress, b.count > 0 else { return }
        hasher.update(bufferPointer: b)
        bytes += b.count
        var done = 0
        while done < b.count {
            let n = min(blocks.capacity - blocks.filled, b.count - done)
            (blocks.current + blocks.filled).copyMemory(from: source + done, byteCount: n)
            blocks.filled += n
            done += n
            if blocks.filled == blocks.capacity { try blocks.handOver(fd: fd, path: path) }
        }
    }

    /// Flushes, fsyncs and returns the SHA-256 of everything written, in hex.
    func finish() throws(GateIOError) -> String {
        if let blocks { try blocks.finish(fd: fd, path: path) }
        try flush()
        guard fsync(fd) == 0 else { throw GateIOError("cannot sync", path) }
        return LedgerHash.hex(Array(hasher.finalize()))
    }
}

/// The aligned buffers of a file written with O_DIRECT: one fills while the writer thread
/// writes the other, so the device's time is not the filling thread's.
final class DirectBlocks: @unchecked Sendable {
    /// Buffer address, file offsets and lengths of O_DIRECT writes must be multiples of the
    /// device's logical block size; 4 KiB is a multiple of every common one.
    static let alignment = 4096
    let buffers: [UnsafeMutableRawPointer]
    let capacity: Int
    /// The buffer being filled, and its bytes.
    var current: UnsafeMutableRawPointer
    var filled = 0
    /// File offset of the next buffer handed over.
    var offset = 0
    /// The write in flight; its error (errno) is read only after waiting for it.
    let writer = Workers.queue("gate.output-writer")
    let inFlight = DispatchGroup()
    var failure: Int32 = 0

    init(capacity: Int) {
        self.capacity = max(Self.alignment, (capacity + Self.alignment - 1) & ~(Self.alignment - 1))
        let size = self.capacity
        buffers = (0..<2).map { _ in UnsafeMutableRawPointer.allocate(byteCount: size, alignment: Self.alignment) }
        current = buffers[0]
    }

    deinit {
        inFlight.wait()
        for b in buffers { b.deallocate() }
    }

    /// Waits for the write in flight and reports its failure.
    func settle(path: String) throws(GateIOError) {
        inFlight.wait()
        if failure != 0 {
            errno = failure
            throw GateIOError("cannot write", path)
        }
    }

    /// Sends the full current buffer to the writer thread and switches to the other one.
    func handOver(fd: Int32, path: String) throws(GateIOError) {
        try settle(path: path)
        let buffer = UnsafeSendable(current), count = filled, at = offset
        writer.async(group: inFlight) { [self] in
            failure = Self.write(fd: fd, buffer.value, count: count, at: at)
        }
        offset += count
        current = current == buffers[0] ? buffers[1] : buffers[0]
        filled = 0
    }

    /// Writes what is left: its whole blocks with O_DIRECT, the last partial block through
    /// the page cache.
    func finish(fd: Int32, path: String) throws(GateIOError) {
        try settle(path: path)
        let whole = filled & ~(Self.alignment - 1)
        var errorCode = Self.write(fd: fd, current, count: whole, at: offset)
        if errorCode == 0, filled > whole {
            #if os(Linux)
            if let O_DIRECT = linuxODirect { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_DIRECT) }
            #endif
            errorCode = Self.write(fd: fd, current + whole, count: filled - whole, at: offset + whole)
        }
        if errorCode != 0 {
            errno = errorCode
            throw GateIOError("cannot write", path)
        }
        offset += filled
        filled = 0
    }

    /// `pwrite` until done; 0, or the errno of the failure. A device that refuses the
    /// alignment after all (EINVAL) gets the rest through the page cache.
    static func write(fd: Int32, _ p: UnsafeMutableRawPointer, count: Int, at: Int) -> Int32 {
        var done = 0
        while done < count {
            let n = pwrite(fd, p + done, count - done, off_t(at + done))
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                #if os(Linux)
                let flags = fcntl(fd, F_GETFL)
                if code == EINVAL, let O_DIRECT = linuxODirect, flags >= 0, flags & O_DIRECT != 0,
                   fcntl(fd, F_SETFL, flags & ~O_DIRECT) == 0 { continue }
                #endif
                return code
            }
            done += n
        }
        return 0
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

    /// `path` without trailing slashes (`/` stays `/`).
    static func trimmingSlashes(_ path: String) -> String {
        var p = path
        while p.count > 1, p.hasSuffix("/") { p.removeLast() }
        return p
    }

    static func parent(of path: String) -> String {
        let p = trimmingSlashes(path)
        guard let slash = p.lastIndex(of: "/") else { return "." }
        return slash == p.startIndex ? "/" : String(p[..<slash])
    }
}

#if os(Linux)
/// glibc defines `O_DIRECT` only under `_GNU_SOURCE`, which Swift's Glibc module does not set;
/// its value differs between architectures (nil where we do not know it: no O_DIRECT then).
#if arch(x86_64) || arch(i386)
let linuxODirect: Int32? = 0o40000
#elseif arch(arm64) || arch(arm)
let linuxODirect: Int32? = 0o200000
#else
let linuxODirect: Int32? = nil
#endif

/// glibc declares `sync_file_range` only under `_GNU_SOURCE`, which Swift's Glibc module does not set.
@_silgen_name("sync_file_range")
func linuxSyncFileRange(_ fd: Int32, _ offset: Int64, _ count: Int64, _ flags: UInt32) -> Int32
#endif

@inline(__always) func Glibc_rename(_ a: String, _ b: String) -> Int32 { rename(a, b) }
