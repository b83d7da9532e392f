import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// A running `proviso serve` on a free loopback port, stopped when released.
final class LiveServer {
    let port: Int
    let running: Process

    init(_ w: Workspace, database: String? = nil, extra: [String] = []) throws {
        var chosen = 0
        var started: Process?
        for _ in 0..<20 {
            let candidate = Int.random(in: 20_000...60_000)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: provisoBinary)
            p.arguments = ["serve", "--port", String(candidate), "--database", database ?? w.database] + extra
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            if Self.waitUntilHealthy(port: candidate, process: p) {
                chosen = candidate
                started = p
                break
            }
            p.terminate()
            p.waitUntilExit()
        }
        guard let started else { throw CLIRunError("the server did not start") }
        port = chosen
        running = started
    }

    deinit {
        running.terminate()
        running.waitUntilExit()
    }

    /// Polls /healthz until it answers (or the process dies); bounded, no fixed sleep.
    static func waitUntilHealthy(port: Int, process: Process) -> Bool {
        for _ in 0..<200 {
            if !process.isRunning { return false }
            if let r = try? http("GET", "http://127.0.0.1:\(port)/healthz"), r.status == 200 { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }
}

struct CLIRunError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

struct HTTPResult {
    var status: Int
    var headers: [String: String]
    var body: [String: Any]
}

/// A blocking HTTP request for live tests.
func http(_ method: String, _ url: String, headers: [String: String] = [:], body: String? = nil) throws -> HTTPResult {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
    if let body { request.httpBody = Data(body.utf8); request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<HTTPResult, any Error> = .failure(CLIRunError("no answer"))
    let config = URLSessionConfiguration.ephemeral
    config.httpShouldSetCookies = false
    URLSession(configuration: config).dataTask(with: request) { data, response, error in
        if let error { result = .failure(error) } else if let h = response as? HTTPURLResponse {
            var headers: [String: String] = [:]
            for (k, v) in h.allHeaderFields { headers[String(describing: k).lowercased()] = String(describing: v) }
            let body = data.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
            result = .success(HTTPResult(status: h.statusCode, headers: headers, body: body))
        }
        done.signal()
    }.resume()
    done.wait()
    return try result.get()
}

@Suite(.serialized) struct LiveServerTests {
    @Test func aMemberSignsInTurnsTheAISwitchOffAndTheDecisionAPIDeniesAtOnce() throws {
        let w = Workspace()
        _ = try w.run(["members", "import", w.file("m.jsonl", fixtureMembers)])
        let pw = try w.run(["members", "set-password", "us", "--cost", "10"], stdin: "a long passphrase\n")
        #expect(pw.status == 0, "\(pw.stderr)")
        let token = try w.run(["tokens", "create", "--name", "pipeline", "--scope", "decisions:read"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("pvs_"))
        let server = try LiveServer(w)
        let decide = { try http("POST", server.url("/v1/decisions"), headers: ["Authorization": "Bearer \(token)"],
                                body: #"{"member":"us","purpose":"genai-training","category":"profile"}"#) }
        #expect(try decide().body["reasons"] as? [String] == ["default-on"])
        let login = try http("POST", server.url("/v1/session"), body: #"{"member":"us","password":"a long passphrase"}"#)
        #expect(login.status == 200)
        let cookie = try #require(login.headers["set-cookie"]?.split(separator: ";").first.map(String.init))
        let csrf = try #require(login.body["csrf_token"] as? String)
        let change = try http("PUT", server.url("/v1/members/us/settings/genai-improvement"),
                              headers: ["Cookie": cookie, "X-CSRF-Token": csrf], body: #"{"value":"off"}"#)
        #expect(change.status == 200)
        let receipt = try #require(change.body["receipt"] as? String)
        #expect(try decide().body["reasons"] as? [String] == ["opted-out"])
        // The receipt verifies offline against the published key set.
        let jwks = w.file("jwks.json", try w.run(["receipt", "jwks"]).stdout)
        let verified = try Workspace().run(["receipt", "verify", w.file("r.jws", receipt), "--jwks", jwks])
        #expect(verified.status == 0 && verified.stdout.contains("genai-improvement off"), "\(verified.stdout)")
        // And the ledger written through the server verifies.
        #expect(try w.run(["ledger", "verify"]).status == 0)
    }
}
