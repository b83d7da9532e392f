import Foundation
import Testing

/// The built `proviso` binary: `PROVISO_BIN`, or next to the test bundle, or the debug build.
let provisoBinary: String = {
    if let p = ProcessInfo.processInfo.environment["PROVISO_BIN"] { return p }
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("proviso").path
    if FileManager.default.isExecutableFile(atPath: beside) { return beside }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/proviso").path
}()

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
}

/// A scratch folder with its own database, removed at the end of the test.
final class Workspace {
    let dir: URL
    var database: String { dir.appendingPathComponent("proviso.sqlite").path }

    init() {
        // Writing to a child that exited (or was killed on purpose) must not kill the tests.
        signal(SIGPIPE, SIG_IGN)
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("proviso-cli-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    /// Writes a file in the workspace and returns its path.
    func file(_ name: String, _ contents: String) -> String {
        let url = dir.appendingPathComponent(name)
        try! contents.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Runs proviso with `--database` pointing at this workspace (unless `database` is false).
    func run(_ args: [String], stdin: String? = nil, env: [String: String] = [:], database: Bool = true) throws -> RunResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: provisoBinary)
        p.arguments = args + (database ? ["--database", self.database] : [])
        p.currentDirectoryURL = dir
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "PROVISO_DATABASE")
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        // Output goes to files, so a chatty process never blocks on a full pipe.
        let outURL = dir.appendingPathComponent("stdout-\(UUID().uuidString)")
        let errURL = dir.appendingPathComponent("stderr-\(UUID().uuidString)")
        // Not created → the FileHandles below throw, so the results need no check of their own.
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        p.waitUntilExit()
        try out.close()
        try err.close()
        let outData = try Data(contentsOf: outURL), errData = try Data(contentsOf: errURL)
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
        return RunResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Parses the one JSON object a `decide` prints.
    func decide(_ args: [String]) throws -> [String: Any] {
        let r = try run(["decide"] + args)
        #expect(r.status == 0, "decide failed: \(r.stderr)")
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
    }
}

/// The members of the CLI fixtures.
let fixtureMembers = """
    {"id":"eu","country":"DE","birth_date":"1985-03-14","handle":"eu","name":"Eva"}
    {"id":"us","country":"US","birth_date":"1985-03-14"}
    {"id":"us-noads","country":"US","birth_date":"1985-03-14"}
    {"id":"us-gpc","country":"US","birth_date":"1985-03-14"}
    {"id":"kid","country":"US","birth_date":"2010-06-01"}
    {"id":"flagged","country":"US","birth_date":"1980-01-01","suspected_minor":true}
    {"id":"closed","country":"FR","birth_date":"1980-01-01","closed_at":"2026-01-01T00:00:00Z"}
    {"id":"gb","country":"GB","birth_date":"1985-03-14"}
    """

let fixtureChoices = """
    {"member":"eu","setting":"genai-improvement","value":"off","at":"2025-10-01T00:00:00Z","channel":"web"}
    {"member":"us-noads","setting":"ads-off-platform","value":"off","at":"2026-01-10T00:00:00Z"}
    {"member":"us-gpc","setting":"ads-off-platform","value":"off","at":"2026-01-10T00:00:00Z","channel":"gpc"}
    {"member":"us","setting":"ads-measure-success","value":"on","at":"2025-01-01T00:00:00Z","channel":"web"}
    """
