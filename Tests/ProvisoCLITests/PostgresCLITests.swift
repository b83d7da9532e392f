import Foundation
import PostgresNIO
import Testing

let postgresAdmin = ProcessInfo.processInfo.environment["PROVISO_TEST_POSTGRES_URL"]

/// Runs `body` with the URL of a new, empty PostgreSQL database, dropped afterwards.
func withPostgresDatabase(_ body: (String) throws -> Void) async throws {
    let admin = try #require(postgresAdmin.flatMap(URL.init(string:)))
    let name = "proviso_cli_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
    let client = PostgresClient(configuration: .init(host: admin.host ?? "127.0.0.1", port: admin.port ?? 5432, username: admin.user ?? "postgres",
                                                     password: admin.password, database: "postgres", tls: .disable))
    let runner = Task { await client.run() }
    defer { runner.cancel() }
    try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
    var url = URLComponents(url: admin, resolvingAgainstBaseURL: false)!
    url.path = "/" + name
    defer { Task { _ = try? await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")) } }
    try body(url.string!)
}

@Suite(.enabled(if: postgresAdmin != nil, "set PROVISO_TEST_POSTGRES_URL (scripts/test.sh does)"))
struct PostgresCLITests {
    @Test func everyCommandRunsOnAPostgresDatabase() async throws {
        try await withPostgresDatabase { url in
            let w = Workspace()
            let pg = ["--database", url]
            let imported = try w.run(["members", "import", w.file("m.jsonl", fixtureMembers)] + pg, database: false)
            #expect(imported.status == 0, "\(imported.stderr)")
            #expect(try w.run(["settings", "import", w.file("c.jsonl", fixtureChoices)] + pg, database: false).status == 0)
            #expect(try w.run(["settings", "set", "gb", "genai-improvement", "off"] + pg, database: false).status == 0)
            let d = try w.run(["decide", "--member", "gb", "--purpose", "genai-training", "--category", "profile"] + pg, database: false)
            #expect(d.stdout.contains(#""reasons":["opted-out"]"#), "\(d.stdout) \(d.stderr)")
            #expect(try w.run(["ledger", "verify"] + pg, database: false).stdout.contains("ledger intact"))
            let gate = try w.run(["gate", "run", "--purpose", "genai-training", "--input", w.file("r.jsonl", GateCLITests.records), "--out", "s"] + pg,
                                 database: false)
            #expect(gate.status == 0, "\(gate.stderr)")
            #expect(try w.run(["gate", "list"] + pg, database: false).lines.count == 1)
            let token = try w.run(["tokens", "create", "--name", "svc", "--scope", "decisions:read"] + pg, database: false)
            #expect(token.status == 0 && token.stdout.hasPrefix("pvs_"))
            // A password never appears in what the CLI prints about the database.
            let bad = try w.run(["ledger", "verify", "--database", "postgres://u:s3cret@127.0.0.1:1/x"], database: false)
            #expect(bad.status != 0 && !bad.stderr.contains("s3cret"))
        }
    }
}
