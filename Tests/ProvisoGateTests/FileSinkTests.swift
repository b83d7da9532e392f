import Crypto
import Foundation
import Testing
import ProvisoCore
@testable import ProvisoGate

/// The gate's output writer: what it writes — with O_DIRECT, two buffers and a writer thread
/// where the file system allows it — is exactly what it was given, and its digest is the
/// file's SHA-256, whatever the sizes of the pieces and where they fall against the blocks.
@Suite struct FileSinkTests {
    static func sha256Hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether files in `dir` can be written with O_DIRECT (ext4 can, tmpfs cannot): a probe
    /// file of the test's own.
    static func directWorks(in dir: String) -> Bool {
        #if os(Linux)
        let fd = open(dir + "/probe", O_WRONLY | O_CREAT | O_EXCL, 0o644)
        defer { close(fd); unlink(dir + "/probe") }
        guard fd >= 0, let flag = linuxODirect else { return false }
        return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | flag) == 0
        #else
        return false
        #endif
    }

    @Test(arguments: [0, 1, 4095, 4096, 4097, 8191, 8192, 8193, 3 * 8192 + 17, 100_000])
    func writesExactlyWhatItWasGiven(total: Int) throws {
        let dir = TempDir()
        defer { dir.remove() }
        var rng = SplitMix64(seed: UInt64(total) &+ 7)
        let data = (0..<total).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let path = dir.path + "/out"
        // Two blocks a buffer, so that buffers are handed over many times.
        let sink = try FileSink(path: path, capacity: 8192, direct: true)
        #expect(sink.isDirect == Self.directWorks(in: dir.path))
        var at = 0
        while at < total {
            let n = min(total - at, rng.int(0...9000))
            try data[at..<(at + n)].withUnsafeBytes { try sink.append(inPlace: $0) }
            at += n
        }
        let digest = try sink.finish()
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: path))) == data)
        #expect(digest == Self.sha256Hex(data))
        #expect(sink.bytes == total)
    }

    @Test func aBufferedSinkWritesTheSame() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let data = Array("one line\nanother line\n".utf8)
        let sink = try FileSink(path: dir.path + "/out", capacity: 8192)
        #expect(!sink.isDirect)
        try data.withUnsafeBytes { try sink.append($0) }
        #expect(try sink.finish() == Self.sha256Hex(data))
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: dir.path + "/out"))) == data)
    }
}
