import ArgumentParser
import Foundation
import ProvisoCore
import ProvisoStore
import ProvisoSQLite
import ProvisoPostgres

/// The `proviso` executable: parses arguments and composes store, policy and engine for each
/// command. Kept thin: the work happens in the library modules.
@main
struct Proviso: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proviso",
        abstract: "Records and enforces what members allow to be done with their data.",
        discussion: """
            Global options --database PATH (env PROVISO_DATABASE, default ./proviso.sqlite) and \
            --policy FILE (default: the built-in seed policy, followed by the versions published in the \
            store, each from its date) may be given before or after the subcommand.
            """,
        subcommands: [ServeCommand.self, MembersCommand.self, SettingsCommand.self, DecideCommand.self, LedgerCommand.self,
                      PolicyCommand.self, TokensCommand.self, ReceiptCommand.self, GateCommand.self, NoticesCommand.self, EligibleCommand.self,
                      OrgsCommand.self, RolesCommand.self, ReportCommand.self, EvidenceCommand.self])

    /// Global options may come before the subcommand (`proviso --database x decide …`);
    /// argument-parser only reads options on the leaf command, so they are moved there.
    static func main() async {
        let args = GlobalOptions.hoist(Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try parseAsRoot(args)
            if var async = command as? any AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            Output.stdout.flush()
            Output.stderr.line("proviso: \(error.message)")
            Output.stderr.flush()
            Foundation.exit(1)
        } catch {
            Output.stdout.flush()
            Output.stderr.flush()
            exit(withError: error)
        }
    }
}

/// Options every command accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("SQLite database file.", valueName: "path"))
    var database: String = ProcessInfo.processInfo.environment["PROVISO_DATABASE"] ?? "./proviso.sqlite"

    @Option(name: .long, help: ArgumentHelp("Policy file, used alone (default: the built-in seed, then the published versions).", valueName: "file"))
    var policy: String?

    static let names: Set<String> = ["--database", "--policy"]

    /// Moves global options that precede the subcommand path to the end of the arguments.
    static func hoist(_ args: [String]) -> [String] {
        var front: [String] = []
        var moved: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--" { front += args[i...]; break }
            if names.contains(a), i + 1 < args.count {
                moved += [a, args[i + 1]]
                i += 2
                continue
            }
            if let eq = a.firstIndex(of: "="), names.contains(String(a[..<eq])) {
                moved.append(a)
                i += 1
                continue
            }
            front.append(a)
            i += 1
        }
        if let dash = front.firstIndex(of: "--") {
            front.insert(contentsOf: moved, at: dash)
            return front
        }
        return front + moved
    }

    /// The baseline policy: the file given, or the built-in seed.
    func loadPolicy() throws -> Policy {
        guard let policy else { return Policy.seed }
        let text: String
        do { text = try String(contentsOfFile: policy, encoding: .utf8) } catch {
            throw CLIError("cannot read policy file \(policy): \(error.localizedDescription)")
        }
        do { return try Policy.parse(text) } catch {
            throw CLIError("policy file \(policy) is invalid:\n" + error.problems.map { "  \($0)" }.joined(separator: "\n"))
        }
    }

    /// The store `--database` names: a `postgres://` URL, or an SQLite file path.
    func openStore() async throws -> any ConsentStore {
        if database.hasPrefix("postgres://") || database.hasPrefix("postgresql://") {
            do { return try await PostgresStore(url: database) } catch {
                throw CLIError("cannot open the PostgreSQL database: \(error)")
            }
        }
        do { return try SQLiteStore(path: database) } catch {
            throw CLIError("cannot open database \(database): \(error)")
        }
    }

    /// `--database` for messages, without a password.
    var databaseName: String {
        guard database.contains("://"), let at = database.firstIndex(of: "@"), let scheme = database.range(of: "://") else { return database }
        let userinfo = database[scheme.upperBound..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return database }
        return String(database[..<colon]) + ":***" + String(database[at...])
    }

    /// Store, policy and engine, ready for a command. With `--policy FILE`, that file alone
    /// decides; otherwise the built-in seed and every version published in the store, each in
    /// force from its date.
    func context() async throws -> Context {
        let baseline = try loadPolicy()
        let store = try await openStore()
        guard policy == nil else { return Context(store: store, policy: baseline, engine: DecisionEngine(policy: baseline), name: databaseName) }
        let versions: [Policy]
        do { versions = try await store.policyVersions(baseline: baseline) } catch {
            throw CLIError("cannot read the published policies from \(databaseName): \(error)")
        }
        let engine = DecisionEngine(policies: versions)
        return Context(store: store, policy: engine.policy(at: Time.now()), engine: engine, name: databaseName, baseline: baseline)
    }
}

/// What a command works with, composed once.
struct Context {
    let store: any ConsentStore
    /// The version in force now (recorded with writes).
    let policy: Policy
    let engine: DecisionEngine
    /// The database, for messages (no password).
    let name: String
    /// The policy in force before any published version (the seed, or `--policy`).
    var baseline: Policy? = nil

    /// Commits an import in one transaction: all of it, or — with the reason — none of it.
    func commitImport(members: [Member] = [], events: [EventDraft] = []) async throws -> AppendResult {
        let result: AppendResult
        do {
            result = try await store.append(WriteBatch(members: members, events: events, policy: policy, actor: cliActor,
                                                       recordedAt: Time.now(), returnEvents: false))
        } catch {
            throw CLIError("import failed, nothing was imported: \(error)")
        }
        // A bulk import moves the ledger far past the projection checkpoint: load once now, which
        // renews it (best effort), so that the next command does not replay the whole import.
        if result.written >= StateCheckpoint.defaultMinimum { _ = try? await store.loadState() }
        return result
    }

    func loadState() async throws -> ConsentState {
        do { return try await store.loadState() } catch {
            throw CLIError("cannot read the consent state from \(name): \(error)")
        }
    }
}

/// Parses a time option: RFC 3339, or a date meaning 00:00 UTC of that day.
func parseTimeOption(_ s: String, name: String) throws -> Micros {
    if let t = Time.parseRFC3339(s) { return t }
    if let d = Time.parseDate(s) { return Time.micros(dayNumber: d) }
    throw ValidationError("\(name) \"\(s)\" is not an RFC 3339 time (e.g. 2025-11-03T00:00:00Z) or a date (2025-11-03)")
}

/// The actor recorded for changes made from the command line, worked out once: reading the
/// environment per imported line once cost more than the database writes.
let cliActor: String = {
    let env = ProcessInfo.processInfo.environment
    let user = env["USER"] ?? env["LOGNAME"] ?? getpwuid(getuid()).flatMap { String(cString: $0.pointee.pw_name) } ?? "uid\(getuid())"
    return "cli:\(user)"
}()
