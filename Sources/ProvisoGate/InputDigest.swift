import Crypto
import Dispatch
import ProvisoCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The SHA-256 of a regular input file, computed on a thread of its own from the moment the
/// run starts — while the consent state loads, which keeps one core busy and leaves the other
/// idle — so that the pass's lanes do not hash the input too.
///
/// The digest is taken over the file as it is; the pass reads it again later. The two are the
/// same bytes only if the file did not change in between, so the file's identity, size and
/// change time (`st_ctime`, which every write moves and no caller can set back) are recorded
/// before hashing and compared with the pass's own descriptor afterwards
/// (`matches(afterPassOf:bytes:)`): a file changed under the gate fails the run rather than
/// getting a manifest whose hash is not of its records.
public final class InputDigest: Sendable {
    struct Identity: Equatable {
        var device: UInt64, inode: UInt64, size: Int64, ctimeSeconds: Int64, ctimeNanos: Int64
        init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int64(st.st_size)
            ctimeSeconds = Int64(st.st_ctim.tv_sec)
            ctimeNanos = Int64(st.st_ctim.tv_nsec)
        }
    }

    struct Outcome {
        var hex: String
        var bytes: Int
        var identity: Identity
    }

    let done = DispatchSemaphore(value: 0)
    let outcome = Mutex<Result<Outcome, GateIOError>?>(nil)
    /// The file mapped read-only, when it could be: the digest and the pass then read it from
    /// the page cache without copying it (twice) into buffers. See `mapped`.
    let map: UnsafeSendable<UnsafeRawBufferPointer>?

    init(map: UnsafeRawBufferPointer?) {
        self.map = map.map { UnsafeSendable($0) }
    }

    deinit {
        if let m = map?.value, let base = m.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), m.count) }
    }

    /// The input's bytes as they were when hashing began, for the pass to read in place; valid
    /// while this digest lives. A file shortened while mapped would fault on the missing pages
    /// (SIGBUS): a program that maps should call `Mapped.exitOnBusError()` first.
    public var mapped: UnsafeRawBufferPointer? { map?.value }

    /// Starts hashing `path` in the background; nil for standard input or anything that is not
    /// a regular file (the pass hashes those as it reads them).
    public static func start(path: String) -> InputDigest? {
        guard path != "-" else { return nil }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            return nil
        }
        let identity = Identity(st)
        var map: UnsafeRawBufferPointer?
        if st.st_size > 0, let p = mmap(nil, Int(st.st_size), PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED {
            map = UnsafeRawBufferPointer(start: p, count: Int(st.st_size))
            _ = madvise(p, Int(st.st_size), MADV_SEQUENTIAL)
            Mapped.range = (UInt(bitPattern: p), UInt(bitPattern: p) + UInt(st.st_size))
        }
        let digest = InputDigest(map: map)
        Workers.queue("gate.input-digest").async {
            digest.outcome.withLock { $0 = digest.map.map { Self.hash($0.value, identity) } ?? Self.hash(fd, identity) }
            close(fd)
            digest.done.signal()
        }
        return digest
    }

    /// Hashes the mapping, letting go of each stretch once hashed so that the process's memory
    /// stays a few pieces whatever the file's size (the pass maps them in again from the page
    /// cache, without copying).
    static func hash(_ bytes: UnsafeRawBufferPointer, _ identity: Identity) -> Result<Outcome, GateIOError> {
        var hasher = SHA256()
        var at = 0, released = 0
        while at < bytes.count {
            let piece = UnsafeRawBufferPointer(rebasing: bytes[at..<min(bytes.count, at + Mapped.stretch)])
            hasher.update(bufferPointer: piece)
            at += piece.count
            Mapped.release(bytes, from: &released, to: at)
        }
        return .success(Outcome(hex: LedgerHash.hex(Array(hasher.finalize())), bytes: bytes.count, identity: identity))
    }

    static func hash(_ fd: Int32, _ identity: Identity) -> Result<Outcome, GateIOError> {
        // Small enough to stay in the core's cache between the copy and the hash.
        let block = 512 << 10
        var buffer = [UInt8](repeating: 0, count: block)
        var hasher = SHA256()
        var total = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, block) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(GateIOError("cannot read", "the input"))
            }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            total += n
        }
        return .success(Outcome(hex: LedgerHash.hex(Array(hasher.finalize())), bytes: total, identity: identity))
    }

    /// Waits for the digest and returns it if it is of the bytes the pass read through `fd`
    /// (`bytes` of them): same file, same size, unchanged since hashing began.
    func matches(afterPassOf fd: Int32, bytes: Int) throws(GateIOError) -> String {
        done.wait()
        done.signal()  // later callers do not wait forever
        let result = outcome.withLock { $0 }!
        let o = try result.get()
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw GateIOError("cannot check", "the input") }
        guard Identity(st) == o.identity, o.bytes == bytes, Int(o.identity.size) == bytes else {
            throw GateIOError(message: "the input file changed while the gate read it; nothing was written or registered")
        }
        return o.hex
    }
}

/// Reading a mapped input.
public enum Mapped {
    /// How much is read before letting go of it.
    static let stretch = 8 << 20

    /// Drops the mapped pages from `released` (page-aligned, where the last call stopped) up to
    /// `end` from the process's memory — the file's pages stay in the page cache, and reading
    /// them again maps them again — and moves `released` on. A page `end` falls inside is kept
    /// for the next call.
    static func release(_ map: UnsafeRawBufferPointer, from released: inout Int, to end: Int) {
        guard let base = map.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let to = end >= map.count ? map.count : end / page * page
        guard to > released else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + released), to - released, MADV_DONTNEED)
        released = to
    }

    /// Where the input is mapped, for the bus-error handler (set once, before any read of it).
    nonisolated(unsafe) static var range: (start: UInt, end: UInt) = (0, 0)

    /// Makes a bus error in the mapped input — the file shortened by someone else while the gate
    /// reads it — end the process with a message and exit status 74 instead of a crash report.
    /// Nothing has been registered or published at that point; the run's staging directory is
    /// left behind, as after any kill. A bus error anywhere else is left to crash as usual.
    /// Process-wide: for the command-line tool, not for a library's users.
    public static func exitOnBusError() {
        _ = range  // initialised now, not first inside the handler
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_sigaction = { signal, info, _ in
            let address = UInt(bitPattern: info?.pointee._sifields._sigfault.si_addr)
            if address >= Mapped.range.start, address < Mapped.range.end {
                let message: StaticString = "proviso: the input file was shortened while the gate read it; nothing was registered\n"
                _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
                _exit(74)
            }
            // Not ours: the default action, which the return re-raises into.
            var fallback = sigaction()
            fallback.__sigaction_handler.sa_handler = SIG_DFL
            _ = sigaction(signal, &fallback, nil)
        }
        action.sa_flags = SA_SIGINFO
        #endif
        sigemptyset(&action.sa_mask)
        _ = sigaction(SIGBUS, &action, nil)
    }
}
