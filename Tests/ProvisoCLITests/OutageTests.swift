import Foundation
import Testing

/// The second throwaway cluster the test command starts for this test alone: it is stopped and
/// started again under a running server.
let outageURL = ProcessInfo.processInfo.environment["PROVISO_OUTAGE_POSTGRES_URL"]
let outageDir = ProcessInfo.processInfo.environment["PROVISO_OUTAGE_PG_DIR"]

/// `scripts/pg-cluster.sh pause|resume DIR`, started with posix_spawn and reaped with waitpid.
/// Not through Foundation's `Process`: it watches a child through a descriptor the child
/// inherits, and the postmaster that `pg_ctl start` leaves behind keeps it open, so
/// `waitUntilExit` never returns.
func cluster(_ command: String, _ w: Workspace) throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let log = w.dir.appendingPathComponent("cluster-\(command).log").path
    let args = ["/bin/bash", root.appendingPathComponent("scripts/pg-cluster.sh").path, command, outageDir ?? ""]
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, args[0], &actions, nil, &argv, environ) == 0 else { throw CLIRunError("cannot start pg-cluster.sh") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    guard status == 0 else { throw CLIRunError("pg-cluster.sh \(command) failed: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")") }
}

@Suite(.serialized, .enabled(if: outageURL != nil && outageDir != nil, "set PROVISO_OUTAGE_POSTGRES_URL and PROVISO_OUTAGE_PG_DIR (scripts/test.sh does)"))
struct OutageTests {
    @Test(.timeLimit(.minutes(3)))
    func anInstanceCutOffFromPostgresDeniesWithStateUnavailableThenCatchesUp() throws {
        let w = Workspace()
        let url = try #require(outageURL)
        // The cluster lives for the whole test run: a member of our own keeps reruns independent.
        let member = "outage-\(UUID().uuidString.prefix(8))"
        let imported = try w.run(["members", "import", w.file("m.jsonl", #"{"id":"\#(member)","country":"US","birth_date":"1980-01-01"}"# + "\n"),
                                  "--database", url], database: false)
        #expect(imported.status == 0, "\(imported.stderr)")
        let token = try w.run(["tokens", "create", "--name", "outage-\(UUID().uuidString.prefix(8))", "--scope", "decisions:read", "--database", url],
                              database: false).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try LiveServer(w, database: url, extra: ["--staleness", "2"])
        #expect(try reasons(server, token: token, member: member) == ["default-on"])
        try cluster("pause", w)
        var resumed = false
        defer { if !resumed { try? cluster("resume", w) } }
        // Past the bound the instance cannot vouch for its view: it denies, and says why.
        let denied = try eventually(within: 30) { try reasons(server, token: token, member: member).first == "state-unavailable" }
        #expect(denied, "a cut-off instance must fail closed with state-unavailable")
        let during = try http("POST", server.url("/v1/decisions"), headers: ["Authorization": "Bearer \(token)"],
                              body: #"{"member":"\#(member)","purpose":"genai-training","category":"profile"}"#)
        #expect(during.status == 200 && during.body["allowed"] as? Bool == false)
        try cluster("resume", w)
        resumed = true
        let recovered = try eventually(within: 60) { try reasons(server, token: token, member: member) == ["default-on"] }
        #expect(recovered, "once PostgreSQL answers again the instance answers normally")
        // And it follows writes made elsewhere again.
        let set = try w.run(["settings", "set", member, "genai-improvement", "off", "--database", url], database: false)
        #expect(set.status == 0, "\(set.stderr)")
        let followed = try eventually(within: 5) { try reasons(server, token: token, member: member) == ["opted-out"] }
        #expect(followed)
    }
}
