/// A minimal POSIX ustar writer and reader: enough for evidence archives that `tar -xf` opens
/// anywhere, with no dependency. Regular files only; names up to 100 bytes.
public enum Tar {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var bytes: [UInt8]
        public init(name: String, bytes: [UInt8]) {
            self.name = name
            self.bytes = bytes
        }
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        public var description: String { if case let .malformed(why) = self { "not a valid tar archive: \(why)" } else { "" } }
    }

    static func octal(_ n: Int, width: Int) -> [UInt8] {
        var digits = Array(String(n, radix: 8).utf8)
        while digits.count < width - 1 { digits.insert(0x30, at: 0) }
        return digits + [0]
    }

    public static func write(_ entries: [Entry], mtime: Int) -> [UInt8] {
        var out: [UInt8] = []
        for e in entries {
            precondition(e.name.utf8.count <= 100, "tar names are limited to 100 bytes")
            var h = [UInt8](repeating: 0, count: 512)
            func put(_ bytes: [UInt8], at offset: Int) { for (i, b) in bytes.enumerated() { h[offset + i] = b } }
            put(Array(e.name.utf8), at: 0)
            put(octal(0o644, width: 8), at: 100)
            put(octal(0, width: 8), at: 108)
            put(octal(0, width: 8), at: 116)
            put(octal(e.bytes.count, width: 12), at: 124)
            put(octal(mtime, width: 12), at: 136)
            put(Array(repeating: 0x20, count: 8), at: 148)
            h[156] = 0x30
            put(Array("ustar\0".utf8), at: 257)
            put(Array("00".utf8), at: 263)
            put(Array("proviso".utf8), at: 265)
            put(Array("proviso".utf8), at: 297)
            let sum = h.reduce(0) { $0 + Int($1) }
            put(octal(sum, width: 7) + [0x20], at: 148)
            out += h
            out += e.bytes
            out += [UInt8](repeating: 0, count: (512 - e.bytes.count % 512) % 512)
        }
        out += [UInt8](repeating: 0, count: 1024)
        return out
    }

    public static func read(_ bytes: [UInt8]) throws(Failure) -> [Entry] {
        var out: [Entry] = []
        var at = 0
        while at + 512 <= bytes.count {
            let h = Array(bytes[at..<at + 512])
            if h.allSatisfy({ $0 == 0 }) { return out }
            func field(_ o: Int, _ n: Int) -> String { String(decoding: h[o..<o + n].prefix { $0 != 0 }, as: UTF8.self) }
            let stored = Int(field(148, 8).trimmingCharacters(" "), radix: 8)
            var check = h
            for i in 148..<156 { check[i] = 0x20 }
            guard let stored, stored == check.reduce(0, { $0 + Int($1) }) else { throw .malformed("bad header checksum at byte \(at)") }
            guard let size = Int(field(124, 12).trimmingCharacters(" "), radix: 8), size >= 0 else { throw .malformed("bad size at byte \(at)") }
            let name = field(0, 100)
            guard h[156] == 0x30 || h[156] == 0 else { throw .malformed("\(name) is not a regular file") }
            guard at + 512 + size <= bytes.count else { throw .malformed("\(name) is truncated") }
            out.append(Entry(name: name, bytes: Array(bytes[at + 512..<at + 512 + size])))
            at += 512 + (size + 511) / 512 * 512
        }
        throw .malformed("no end-of-archive marker")
    }
}

extension String {
    func trimmingCharacters(_ c: Character) -> String {
        var s = Substring(self)
        while s.first == c { s.removeFirst() }
        while s.last == c { s.removeLast() }
        return String(s)
    }
}
