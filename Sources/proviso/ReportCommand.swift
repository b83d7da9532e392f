import ArgumentParser
import Foundation
import ProvisoCore
import ProvisoReports
import ProvisoStore

/// Writes `bytes` to `path` all at once: a temporary file in the same folder, then a rename,
/// so a reader never sees half a report or half an archive.
func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    do { try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
        throw CLIError("cannot write \(path): \(error.localizedDescription)")
    }
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Compliance figures per region group and purpose, from the ledger: the same as the compliance dashboard.",
        discussion: """
            Members in scope, effective on/off and their sources, minors excluded, choices by channel, notices and their \
            lead time, snapshots and open retractions, and the opt-out share month by month. CSV is the tidy long form \
            section,region_group,purpose,key,value (docs/compliance.md).
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case csv, json, html }

    @Option(help: "csv, json or html.") var format: Format = .csv
    @Option(help: ArgumentHelp("As of this time (RFC 3339 or a date; default now).", valueName: "time")) var at: String?
    @Option(help: ArgumentHelp("How many months the opt-out series go back.", valueName: "n")) var months = 12
    @Option(help: ArgumentHelp("Write to this file instead of stdout.", valueName: "file")) var out: String?
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        guard (1...120).contains(months) else { throw ValidationError("--months must be 1–120") }
        if let at { _ = try parseTimeOption(at, name: "--at") }
    }

    func run() async throws {
        let t = try at.map { try parseTimeOption($0, name: "--at") } ?? Time.now()
        let context = try await globals.context()
        let state = try await context.loadState()
        let report: ComplianceReport
        do { report = try await ComplianceReport.build(engine: context.engine, state: state, store: context.store, at: t, months: months) } catch {
            throw CLIError("cannot compute the report from \(context.name): \(error)")
        }
        let policy = context.engine.policy(at: t)
        let text = switch format {
        case .csv: report.csv()
        case .json: report.json().pretty + "\n"
        case .html: report.htmlDocument(labels: policy, platform: policy.platform ?? "Proviso")
        }
        if let out {
            try writeAtomically(Array(text.utf8), to: out)
            Output.stderr.line("wrote \(out)")
            Output.stderr.flush()
        } else {
            Output.stdout.write(text)
            Output.stdout.flush()
        }
    }
}

struct EvidenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evidence", abstract: "One member's full record as a signed archive a regulator can verify offline.",
        subcommands: [Export.self, Verify.self], defaultSubcommand: Export.self)

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write MEMBER's evidence archive (settings, ledger slice with hashes, receipts, notices, snapshots), signed.",
            discussion: "The archive is a tar file; README.txt inside explains how to check it with sha256sum and openssl.")
        @Argument(help: ArgumentHelp("Member id.", valueName: "member")) var member: String
        @Option(help: ArgumentHelp("Output file (default evidence-MEMBER.tar).", valueName: "file")) var out: String?
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let context = try await globals.context()
            let state = try await context.loadState()
            let now = Time.now()
            let bytes: [UInt8]
            do {
                let key = try await context.store.currentReceiptKey(now: now)
                bytes = try await Evidence.archive(member: member, store: context.store, engine: context.engine, state: state,
                                                   issuer: receiptIssuer, key: key, at: now)
            } catch StoreError.unknownMember {
                throw CLIError("no member \"\(member)\" in \(context.name)")
            } catch {
                throw CLIError("cannot build the archive: \(error)")
            }
            let path = out ?? "evidence-\(member.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }).tar"
            try writeAtomically(bytes, to: path)
            Output.stdout.line("wrote \(path) (\(bytes.count) bytes)")
            Output.stdout.flush()
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify an evidence archive offline; exit 1 if anything in it is not genuine.",
            discussion: "Against --jwks FILE (the published /.well-known/jwks.json); without it, against the keys in --database.")
        @Argument(help: ArgumentHelp("Archive file.", valueName: "file")) var file: String
        @Option(help: ArgumentHelp("A JWKS document with the issuer's public keys.", valueName: "file")) var jwks: String?
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
            let keys = try await verificationKeys(jwks: jwks, globals: globals)
            do {
                let v = try Evidence.verify(Array(data), keys: keys)
                Output.stdout.line("valid evidence for member \(v.member): \(v.files) files, \(v.events) ledger events and \(v.receipts) receipts "
                    + "check out; signed with key \(v.kid)")
                Output.stdout.flush()
            } catch {
                Output.stdout.line("invalid evidence: \(error.message)")
                Output.stdout.flush()
                throw ExitCode(1)
            }
        }
    }
}
