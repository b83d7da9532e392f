public import ProvisoCore
public import ProvisoStore

import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Delivers one email. Pluggable: a platform wires in its own mail service; Proviso ships
/// an SMTP sender for a local relay.
public protocol EmailSender: Sendable {
    func send(_ email: OutboxEmail) async throws
}

/// Sends the outbox's emails, oldest first; an email is marked sent only after the sender
/// accepted it, so a failure leaves it for the next round (at-least-once).
public struct OutboxDrainer: Sendable {
    let store: any ConsentStore
    let sender: any EmailSender
    let now: @Sendable () -> Micros

    public init(store: any ConsentStore, sender: any EmailSender, now: @escaping @Sendable () -> Micros = { Time.now() }) {
        self.store = store
        self.sender = sender
        self.now = now
    }

    /// One round; returns how many were sent. Stops at the first failure.
    public func drainOnce(limit: Int = 100) async throws -> Int {
        var sent = 0
        for email in try await store.pendingEmails(limit: limit) {
            try await sender.send(email)
            try await store.markEmailSent(id: email.id, at: now())
            sent += 1
        }
        return sent
    }

    /// Drains every `seconds` until the task is cancelled; failures wait for the next round.
    public func run(every seconds: Double) async {
        while !Task.isCancelled {
            _ = try? await drainOnce()
            try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        }
    }
}

/// Why an SMTP exchange failed.
public struct SMTPError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// A minimal SMTP client (RFC 5321: EHLO, MAIL, RCPT, DATA, QUIT; no TLS or auth — it talks
/// to a relay on the local network, configured by `smtp://host:port`). Recipients are
/// `<member id>@<domain>`: the platform's relay maps member ids to addresses, so Proviso never
/// stores them.
public struct SMTPSender: EmailSender {
    public let host: String
    public let port: Int
    public let from: String
    public let domain: String

    /// Parses `smtp://host[:port][?from=ADDRESS&domain=DOMAIN]`.
    public init?(url: String) {
        guard url.hasPrefix("smtp://") else { return nil }
        var rest = Substring(url.dropFirst(7))
        var query: [String: String] = [:]
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                if kv.count == 2 { query[String(kv[0])] = String(kv[1]) }
            }
            rest = rest[..<q]
        }
        let hostPort = rest.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let h = hostPort.first, !h.isEmpty else { return nil }
        host = String(h)
        if hostPort.count == 2 {
            guard let p = Int(hostPort[1]), (1...65535).contains(p) else { return nil }
            port = p
        } else {
            port = 25
        }
        from = query["from"] ?? "privacy@proviso.invalid"
        domain = query["domain"] ?? "members.invalid"
    }

    public func send(_ email: OutboxEmail) async throws {
        let message = Self.message(email, from: from, to: "\(email.memberID)@\(domain)")
        let (host, port, from, to) = (host, port, from, "\(email.memberID)@\(domain)")
        // Blocking socket I/O runs off the cooperative pool, on NIO's blocking-work threads.
        try await NIOThreadPool.singleton.runIfActive { try Self.exchange(host: host, port: port, from: from, to: to, message: message) }
    }

    /// Headers and body, CRLF line ends, leading dots doubled (RFC 5321 §4.5.2).
    static func message(_ e: OutboxEmail, from: String, to: String) -> String {
        var out = "From: \(from)\r\nTo: \(to)\r\nSubject: \(e.subject)\r\nDate: \(Time.formatRFC3339(e.createdAt))\r\n"
        out += "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        for line in e.body.split(separator: "\n", omittingEmptySubsequences: false) {
            out += (line.hasPrefix(".") ? "." : "") + line + "\r\n"
        }
        return out
    }

    static func exchange(host: String, port: Int, from: String, to: String, message: String) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let first = info else { throw SMTPError(description: "cannot resolve \(host)") }
        defer { freeaddrinfo(info) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw SMTPError(description: "no socket") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            throw SMTPError(description: "cannot connect to \(host):\(port)")
        }
        var pending = [UInt8]()
        func reply() throws -> Int {
            // A reply is one or more lines; the last has a space after the code.
            while true {
                if let nl = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[..<nl], as: UTF8.self)
                    pending.removeSubrange(...nl)
                    guard line.count >= 3, let code = Int(line.prefix(3)) else { throw SMTPError(description: "bad reply \(line)") }
                    if line.count < 4 || line[line.index(line.startIndex, offsetBy: 3)] != "-" { return code }
                    continue
                }
                var chunk = [UInt8](repeating: 0, count: 512)
                let n = recv(fd, &chunk, chunk.count, 0)
                guard n > 0 else { throw SMTPError(description: "the relay closed the connection") }
                pending += chunk[0..<n]
            }
        }
        func say(_ text: String, expect codes: ClosedRange<Int>) throws {
            var bytes = Array(text.utf8)
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeMutableBytes { Glibc.send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { throw SMTPError(description: "cannot write to the relay") }
                done += n
            }
            let code = try reply()
            guard codes.contains(code) else { throw SMTPError(description: "the relay answered \(code) to \(text.prefix(12))") }
        }
        guard try reply() == 220 else { throw SMTPError(description: "the relay did not greet") }
        try say("EHLO proviso\r\n", expect: 250...250)
        try say("MAIL FROM:<\(from)>\r\n", expect: 250...250)
        try say("RCPT TO:<\(to)>\r\n", expect: 250...251)
        try say("DATA\r\n", expect: 354...354)
        try say(message + ".\r\n", expect: 250...250)
        try? say("QUIT\r\n", expect: 221...221)
    }
}
