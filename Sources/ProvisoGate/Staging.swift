#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The lock a gate run holds on its staging files for as long as it lives: `<staging>.lock`,
/// next to the staging directory, locked with `flock`, which the kernel lets go when the
/// process ends however it ends. A later run for the same output can then tell the files of
/// a run that died (killed, crashed, the input shortened under it) — lock free — from those
/// of a run still going — lock held — and clear the first without touching the second.
public struct StagingLock: Sendable {
    let fd: Int32
    let path: String

    /// Takes the lock before any staging file exists. The file is made and locked under a
    /// temporary name and only then renamed into place, so no other run can see it unlocked.
    /// It holds the path of the run's `--explain` staging file, if any, for whoever clears it.
    static func acquire(staging: String, explainStaging: String?) throws(GateIOError) -> StagingLock {
        let path = staging + ".lock"
        let fresh = path + "-new"
        let fd = open(fresh, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw GateIOError("cannot create the staging lock", fresh) }
        let text = Array((explainStaging ?? "").utf8)
        let wrote = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0, wrote == text.count, Glibc_rename(fresh, path) == 0 else {
            let error = GateIOError("cannot take the staging lock", fresh)
            unlink(fresh)
            _ = close(fd)
            throw error
        }
        return StagingLock(fd: fd, path: path)
    }

    /// Drops the lock file and the lock, once the staged files are published or removed.
    func release() {
        unlink(path)
        _ = close(fd)
    }
}

/// Files left by a gate run that did not finish, found by `GateStaging.unfinished`. Its lock
/// is held by the finder until `remove()` or `leave()`.
public struct UnfinishedRun: Sendable {
    /// The snapshot id the run had chosen: check the registry before removing anything.
    public let snapshotID: String
    /// The staging directory (it may not exist: the run died before making it, or after
    /// publishing it).
    public let staging: String
    let explainStaging: String?
    let lock: StagingLock

    /// Removes the run's staging directory and `--explain` staging file, then its lock.
    public func remove() {
        FS.removeTree(staging)
        if let explainStaging { unlink(explainStaging) }
        lock.release()
    }

    /// Leaves the files where they are (and the lock file, so a later run finds them again).
    public func leave() {
        _ = close(lock.fd)
    }

    /// Whether the staging directory is still there (a run that died after publishing it
    /// left only its lock file).
    public var stagingExists: Bool { FS.isDirectory(staging) }

    /// Removes the lock file alone: for a run whose files were published.
    public func dropLock() {
        lock.release()
    }
}

public enum GateStaging {
    /// The staging directory a run for `outDir` with snapshot `id` writes into.
    static func directory(outDir: String, id: String) -> String {
        FS.trimmingSlashes(outDir) + ".partial-" + id
    }

    /// Earlier runs for `outDir` whose process is gone: their staging lock was free, and is
    /// now held by the caller, who decides (registered snapshot or not) what to do with each.
    public static func unfinished(outDir: String) -> [UnfinishedRun] {
        let out = FS.trimmingSlashes(outDir)
        let parent = FS.parent(of: out)
        let base = String(out[(out.lastIndex(of: "/").map { out.index(after: $0) } ?? out.startIndex)...])
        let prefix = base + ".partial-", suffix = ".lock"
        var runs: [UnfinishedRun] = []
        let names = FS.entries(parent).sorted().filter { $0.hasPrefix(prefix) }
        // A lock file a run made but died before renaming into place: no staging files exist
        // yet for it, so it only has to go (once nobody holds it).
        for name in names where name.hasSuffix(suffix + "-new") {
            let path = parent + "/" + name
            let fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { unlink(path) }
            _ = close(fd)
        }
        for name in names where name.hasSuffix(suffix) {
            let id = String(name.dropFirst(prefix.count).dropLast(suffix.count))
            guard !id.isEmpty else { continue }
            // Named as the run named it (`--out` as given), so messages show the user's path.
            let staging = directory(outDir: out, id: id)
            let path = staging + suffix
            let fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { continue }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                _ = close(fd)  // a run still going
                continue
            }
            var bytes = [UInt8](repeating: 0, count: 4096)
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            let explain = n > 0 ? String(decoding: bytes[0..<n], as: UTF8.self) : nil
            runs.append(UnfinishedRun(snapshotID: id, staging: staging,
                                      explainStaging: explain, lock: StagingLock(fd: fd, path: path)))
        }
        return runs
    }
}
