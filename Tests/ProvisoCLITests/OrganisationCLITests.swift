import Foundation
import Testing

@Suite struct OrganisationCLITests {
    @Test func organisationsAdminsAndRolesAreManagedFromTheCommandLineWithClearErrors() throws {
        let w = Workspace()
        _ = try w.run(["members", "import", w.file("m.jsonl", fixtureMembers)])
        let created = try w.run(["orgs", "create", "northwind", "--name", "Northwind Traders"])
        #expect(created.status == 0, "\(created.stderr)")
        let again = try w.run(["orgs", "create", "northwind", "--name", "Again"])
        #expect(again.status == 1 && again.stderr.contains("already exists"))
        let badID = try w.run(["orgs", "create", "North Wind", "--name", "x"])
        #expect(badID.status != 0 && badID.stderr.contains("must be 2–64"))
        #expect(try w.run(["orgs", "add-admin", "northwind", "eu"]).status == 0)
        let ghost = try w.run(["orgs", "add-admin", "northwind", "ghost"])
        #expect(ghost.status == 1 && ghost.stderr.contains("unknown member"))
        let nowhere = try w.run(["orgs", "add-admin", "nowhere", "eu"])
        #expect(nowhere.status == 1 && nowhere.stderr.contains("unknown organisation"))
        let list = try w.run(["orgs", "list"])
        #expect(list.lines == ["northwind\tNorthwind Traders\t0 affiliated"])
        #expect(try w.run(["roles", "grant", "us", "compliance"]).status == 0)
        let badRole = try w.run(["roles", "grant", "us", "auditor"])
        #expect(badRole.status == 1 && badRole.stderr.contains("unknown role"))
    }

    @Test func theReportComesInThreeFormatsWithTheSameFigures() throws {
        let w = Workspace()
        _ = try w.run(["members", "import", w.file("m.jsonl", fixtureMembers)])
        _ = try w.run(["settings", "set", "eu", "genai-improvement", "off", "--at", "2026-01-10T00:00:00Z"])
        let csv = try w.run(["report", "--at", "2026-02-01", "--months", "2"])
        #expect(csv.status == 0, "\(csv.stderr)")
        #expect(csv.lines.first == "section,region_group,purpose,key,value")
        #expect(csv.lines.contains("scope,EEA,genai-training,off,1"))
        #expect(csv.lines.contains("series,EEA,genai-training,2026-01-01T00:00:00Z,0.0000"))
        #expect(csv.lines.contains("series,EEA,genai-training,2026-02-01T00:00:00Z,1.0000"))
        let json = try w.run(["report", "--at", "2026-02-01", "--months", "2", "--format", "json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let scopes = try #require(object?["scopes"] as? [[String: Any]])
        #expect(scopes.first { $0["region_group"] as? String == "EEA" && $0["purpose"] as? String == "genai-training" }?["off"] as? Int == 1)
        let out = w.dir.appendingPathComponent("report.html").path
        let html = try w.run(["report", "--at", "2026-02-01", "--format", "html", "--out", out])
        #expect(html.status == 0)
        let page = try String(contentsOfFile: out, encoding: .utf8)
        #expect(page.hasPrefix("<!doctype html>") && page.contains("<svg") && page.contains(#"data-share="1.0000""#))
        let bad = try w.run(["report", "--months", "0"])
        #expect(bad.status != 0 && bad.stderr.contains("--months"))
    }

    @Test func anEvidenceArchiveVerifiesOfflineWithTheProvisoVerifierAndWithOpenSSL() throws {
        let w = Workspace()
        _ = try w.run(["members", "import", w.file("m.jsonl", fixtureMembers)])
        _ = try w.run(["settings", "set", "eu", "genai-improvement", "off"])
        let out = w.dir.appendingPathComponent("eu.tar").path
        let export = try w.run(["evidence", "eu", "--out", out])
        #expect(export.status == 0, "\(export.stderr)")
        let jwks = w.file("jwks.json", try w.run(["receipt", "jwks"]).stdout)
        let other = Workspace()
        let ok = try other.run(["evidence", "verify", out, "--jwks", jwks])
        #expect(ok.status == 0 && ok.stdout.contains("valid evidence for member eu") && ok.stdout.contains("1 receipts"), "\(ok.stdout)")
        let unknown = try w.run(["evidence", "ghost"])
        #expect(unknown.status == 1 && unknown.stderr.contains("no member \"ghost\""))
        // Tamper with one byte of the archive's content.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        let i = try #require(bytes.range(of: Data("genai-improvement".utf8))?.lowerBound)
        bytes[i] = UInt8(ascii: "G")
        let bad = w.dir.appendingPathComponent("bad.tar").path
        try bytes.write(to: URL(fileURLWithPath: bad))
        let refused = try other.run(["evidence", "verify", bad, "--jwks", jwks])
        #expect(refused.status == 1 && refused.stdout.contains("invalid evidence"))
        // Without Proviso: tar, sha256sum and openssl, as README.txt inside says.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else { return }
        let dir = w.dir.appendingPathComponent("x")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func sh(_ command: String) throws -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", command]
            p.currentDirectoryURL = dir
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return p.terminationStatus
        }
        #expect(try sh("tar -xf '\(out)'") == 0)
        #expect(try sh("sha256sum -c SHA256SUMS") == 0)
        #expect(try sh("openssl pkeyutl -verify -pubin -inkey signing-key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig") == 0)
        #expect(try sh("echo x >> settings.json && sha256sum -c SHA256SUMS") != 0, "a changed file fails the check")
    }
}
