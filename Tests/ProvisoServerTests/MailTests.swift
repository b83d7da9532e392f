import Foundation
import Synchronization
import Testing
import ProvisoCore
import ProvisoServer
import ProvisoStore
import ProvisoTestStores

/// A one-connection SMTP server on loopback that accepts one message and keeps it.
final class FakeRelay: @unchecked Sendable {
    let fd: Int32
    let port: Int
    let received = Mutex<[String]>([])
    let done = DispatchSemaphore(value: 0)

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        precondition(bound == 0, "cannot bind the fake relay")
        listen(fd, 1)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        Thread { self.serve() }.start()
    }

    func serve() {
        defer { close(fd); done.signal() }
        let c = accept(fd, nil, nil)
        guard c >= 0 else { return }
        defer { close(c) }
        func write(_ s: String) { _ = s.withCString { Glibc.send(c, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
        var buffer = ""
        func line() -> String? {
            while true {
                if let r = buffer.range(of: "\r\n") { let l = String(buffer[..<r.lowerBound]); buffer.removeSubrange(..<r.upperBound); return l }
                var chunk = [UInt8](repeating: 0, count: 1024)
                let n = recv(c, &chunk, chunk.count, 0)
                if n <= 0 { return nil }
                buffer += String(decoding: chunk[0..<n], as: UTF8.self)
            }
        }
        write("220 fake ESMTP\r\n")
        var data = false
        var message = ""
        while let l = line() {
            if data {
                if l == "." { data = false; received.withLock { $0.append(message) }; write("250 queued\r\n") } else { message += l + "\n" }
            } else if l.hasPrefix("EHLO") { write("250-fake\r\n250 8BITMIME\r\n") }
            else if l.hasPrefix("MAIL FROM:") { message += l + "\n"; write("250 ok\r\n") }
            else if l.hasPrefix("RCPT TO:") { message += l + "\n"; write("250 ok\r\n") }
            else if l == "DATA" { data = true; write("354 go on\r\n") }
            else if l == "QUIT" { write("221 bye\r\n"); return }
            else { write("500 what\r\n") }
        }
    }
}

final class FailingAfter: EmailSender {
    let successes: Int
    init(successes: Int) { self.successes = successes }
    let count = Atomic(0)
    func send(_ email: OutboxEmail) async throws {
        if count.add(1, ordering: .relaxed).newValue > successes { throw SMTPError(description: "relay down") }
    }
}

@Suite struct MailTests {
    func storeWithTwoNotices() async throws -> FlakyStore {
        let store = FlakyStore()
        _ = try await store.append(WriteBatch(members: [Member(id: "a", country: "US", birthDay: 3000), Member(id: "b", country: "US", birthDay: 3000)],
                                              policy: .seed, actor: "t", recordedAt: 1))
        let v2 = try Policy.parse(Policy.seed.source.replacingOccurrences(of: #""version": "seed-2025-11-03""#, with: #""version": "v2", "effective_from": "2030-01-01""#))
        let notices = ["a", "b"].map { m in
            NoticeDelivery(notice: Notice(memberID: m, policyVersion: "v2", purpose: .genaiTraining, region: .us, changes: ["default-turned-on"],
                                          effectiveDay: 21915, deliveredAt: 5, asksConfirmation: false),
                           subject: "A change", body: "Line one\n.leading dot\nLast")
        }
        _ = try await store.publishPolicy(v2, publishedAt: 5, actor: "t", notices: notices)
        return store
    }

    @Test func theSMTPSenderDeliversTheMessageWithDotStuffing() async throws {
        let relay = try FakeRelay()
        let sender = try #require(SMTPSender(url: "smtp://127.0.0.1:\(relay.port)?from=privacy@example.org&domain=members.example"))
        let email = OutboxEmail(id: 1, memberID: "m42", noticeID: 7, subject: "A change", body: "Hello\n.dot\nBye", createdAt: 0, sentAt: nil)
        try await sender.send(email)
        relay.done.wait()
        let message = try #require(relay.received.withLock { $0.first })
        #expect(message.contains("MAIL FROM:<privacy@example.org>"))
        #expect(message.contains("RCPT TO:<m42@members.example>"))
        #expect(message.contains("Subject: A change"))
        #expect(message.contains("\n..dot\n"), "a leading dot is doubled on the wire")
    }

    @Test func theDrainerMarksSentOnlyWhatTheSenderAccepted() async throws {
        let store = try await storeWithTwoNotices()
        #expect(try await store.pendingEmails(limit: 10).count == 2)
        await #expect(throws: SMTPError.self) { _ = try await OutboxDrainer(store: store, sender: FailingAfter(successes: 1)).drainOnce() }
        let left = try await store.pendingEmails(limit: 10)
        #expect(left.map(\.memberID) == ["b"], "the failed email stays in the outbox")
        #expect(try await OutboxDrainer(store: store, sender: FailingAfter(successes: 5)).drainOnce() == 1)
        #expect(try await store.pendingEmails(limit: 10).isEmpty)
    }

    @Test func smtpURLsAreParsedStrictly() {
        #expect(SMTPSender(url: "smtp://relay:2525")?.port == 2525)
        #expect(SMTPSender(url: "smtp://relay")?.port == 25)
        #expect(SMTPSender(url: "http://relay") == nil)
        #expect(SMTPSender(url: "smtp://relay:99999") == nil)
        #expect(SMTPSender(url: "smtp://:25") == nil)
    }
}
