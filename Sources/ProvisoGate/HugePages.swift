#if canImport(Glibc)
import Glibc
#endif

/// Backs big lookup tables with 2 MiB pages. The gate's per-record work is a handful of
/// random reads into tables of tens of megabytes; with 4 KiB pages nearly every one of them
/// also misses the TLB, which costs as much as the read. Best effort: where the kernel cannot
/// (or is not Linux), nothing changes but speed.
enum HugePages {
    static let size = 2 << 20

    static func advise(_ b: UnsafeRawBufferPointer) {
        #if os(Linux)
        guard let base = b.baseAddress, b.count >= size else { return }
        let start = (Int(bitPattern: base) + size - 1) & ~(size - 1)
        let end = (Int(bitPattern: base) + b.count) & ~(size - 1)
        guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(p, end - start, 14)  // MADV_HUGEPAGE: future faults
        _ = madvise(p, end - start, 25)  // MADV_COLLAPSE (Linux 6.1+): pages already there, now
        #endif
    }

    static func advise<T>(_ a: [T]) {
        a.withUnsafeBytes { advise($0) }
    }
}
