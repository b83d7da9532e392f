import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Polls `condition` every 50 ms until it holds or `seconds` pass (bounded; no fixed sleep).
func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return try condition()
}

func reasons(_ server: LiveServer, token: String, member: String) throws -> [String] {
    let r = try http("POST", server.url("/v1/decisions"), headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"],
                     body: #"{"member":"\#(member)","purpose":"genai-training","category":"profile"}"#)
    return r.body["reasons"] as? [String] ?? []
}

@Suite(.serialized, .enabled(if: postgresAdmin != nil, "set PROVISO_TEST_POSTGRES_URL (scripts/test.sh does)"))
struct MultiInstanceTests {
    @Test func aChangeThroughOneInstanceIsDecidedOnTheOtherWithinASecond() async throws {
        try await withPostgresDatabase { url in
            let w = Workspace()
            #expect(try w.run(["members", "import", w.file("m.jsonl", fixtureMembers), "--database", url], database: false).status == 0)
            let token = try w.run(["tokens", "create", "--name", "svc", "--scope", "decisions:read", "members:admin", "--database", url],
                                  database: false).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let a = try LiveServer(w, database: url), b = try LiveServer(w, database: url)
            #expect(try reasons(b, token: token, member: "gb") == ["default-on"])
            let put = try http("PUT", a.url("/v1/members/gb/settings/genai-improvement"),
                               headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"], body: #"{"value":"off"}"#)
            #expect(put.status == 200)
            #expect(try eventually(within: 1) { try reasons(b, token: token, member: "gb") == ["opted-out"] }, "instance B must see A's change within 1 s")
            // A change made by another process (the CLI) reaches both.
            #expect(try w.run(["settings", "set", "us", "genai-improvement", "off", "--database", url], database: false).status == 0)
            #expect(try eventually(within: 1) { try reasons(a, token: token, member: "us") == ["opted-out"] && reasons(b, token: token, member: "us") == ["opted-out"] })
        }
    }
}
