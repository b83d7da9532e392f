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
        let digest = InputDigest()
        let identity = Identity(st)
        Workers.queue("gate.input-digest").async {
            digest.outcome.withLock { $0 = Self.hash(fd, identity) }
            close(fd)
            digest.done.signal()
        }
        return digest
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
