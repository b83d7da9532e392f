import ArgumentParser
import Hummingbird
import ProvisoCore
import ProvisoServer
import ProvisoStore

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the Proviso HTTP server (JSON API under /v1).")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Flag(help: "Seed an empty database with a demo platform (about 1,000 members, history, demo logins).") var demo = false
    @Flag(help: "Mark cookies Secure: use whenever members reach the server over HTTPS (e.g. behind a TLS proxy).")
    var secureCookies = false
    @Option(help: ArgumentHelp("Send notice emails from the outbox through this SMTP relay: smtp://host[:port][?from=ADDRESS&domain=DOMAIN] (off by default).",
                               valueName: "url"))
    var smtp: String?
    @Option(help: ArgumentHelp("Fail closed (deny with state-unavailable) once this instance has not been able to read the ledger for this many seconds.",
                               valueName: "seconds"))
    var staleness: Double = 5
    @Flag(inversion: .prefixedNo,
          help: "On PostgreSQL, catch up as soon as another writer appends (LISTEN/NOTIFY) besides reading the ledger every 0.25 s; --no-listen for PostgreSQL-compatible databases without LISTEN.")
    var listen = true
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        guard staleness > 0.5 else { throw ValidationError("--staleness must be more than 0.5 seconds (the ledger is read every 0.25 s)") }
        if let smtp, SMTPSender(url: smtp) == nil { throw ValidationError("--smtp must look like smtp://host[:port][?from=…&domain=…], not \"\(smtp)\"") }
    }

    func run() async throws {
        let ctx = try await globals.context()
        if demo {
            do {
                if let logins = try await DemoData.seed(into: ctx.store, policy: ctx.policy, now: Time.now()) {
                    Output.stderr.line("proviso: demo platform seeded. Sign in at http://\(host):\(port)/login as any of (password \(DemoData.password)):")
                    for l in logins {
                        Output.stderr.line("  \(l.handle.padding(toLength: 15, withPad: " ", startingAt: 0))  \(l.name) (\(l.region))\(l.role.map { ", " + $0 } ?? "")")
                    }
                } else {
                    Output.stderr.line("proviso: \(globals.databaseName) already has members; the demo was not seeded again. Demo logins (if seeded earlier): demo-eu, demo-uk, demo-us, demo-ca, demo-ch, demo-admin, demo-compliance, password \(DemoData.password)")
                }
            } catch {
                throw CLIError("cannot seed the demo: \(error)")
            }
        }
        let service: ConsentService
        do { service = try await ConsentService.load(store: ctx.store, policy: ctx.policy) } catch {
            throw CLIError("cannot load the consent state from \(ctx.name): \(error)")
        }
        let app = try buildApplication(service: service, configuration: ServerConfiguration(host: host, port: port, secureCookies: secureCookies))
        Output.stderr.line("proviso: serving \(globals.databaseName) (ledger seq \(service.ledgerSeq), policy \(ctx.policy.version)) on http://\(host):\(port)/")
        Output.stderr.flush()
        let mailer = smtp.flatMap(SMTPSender.init(url:)).map { sender in
            Task { await OutboxDrainer(store: ctx.store, sender: sender).run(every: 5) }
        }
        defer { mailer?.cancel() }
        // Other instances and processes write to the same store: follow the ledger, so their
        // changes show here within a fraction of a second, and deny if it cannot be read.
        let follower = Task { await service.followLedger(interval: 0.25, bound: staleness, listen: listen) }
        defer { follower.cancel() }
        try await app.runService()
    }
}

struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens", abstract: "Manage API service tokens (stored hashed).",
        subcommands: [Create.self, Revoke.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token; the secret is printed once and only its hash is stored.")

        @Option(help: "A unique name for the token (who uses it).") var name: String
        @Option(name: .customLong("scope"), parsing: .upToNextOption,
                help: ArgumentHelp("One or more of: \(Scope.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "scope"))
        var scopes: [String]
        @OptionGroup var globals: GlobalOptions

        func validate() throws {
            guard !name.isEmpty, !scopes.isEmpty else { throw ValidationError("--name and at least one --scope are required") }
            for s in scopes where Scope(rawValue: s) == nil {
                throw ValidationError("unknown scope \"\(s)\" (known: \(Scope.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }

        func run() async throws {
            let store = try await globals.openStore()
            let secret = TokenSecret.generate()
            do {
                try await store.createToken(ServiceToken(name: name, scopes: Set(scopes.compactMap(Scope.init(rawValue:))), createdAt: Time.now()),
                                            hash: TokenSecret.hash(secret))
            } catch {
                throw CLIError("cannot create the token: \(error)")
            }
            Output.stdout.line(secret)
            Output.stdout.flush()
            Output.stderr.line("token \"\(name)\" created with \(scopes.joined(separator: ", ")); the secret above is shown only once")
            Output.stderr.flush()
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by name; it stops working at once.")

        @Argument(help: "Token name.") var name: String
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let revoked: Bool
            do { revoked = try await globals.openStore().revokeToken(name: name, at: Time.now()) } catch {
                throw CLIError("cannot revoke: \(error)")
            }
            guard revoked else { throw CLIError("no active token named \"\(name)\"") }
            Output.stdout.line("revoked \(name)")
            Output.stdout.flush()
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let all: [ServiceToken]
            do { all = try await globals.openStore().tokens() } catch { throw CLIError("cannot list tokens: \(error)") }
            for t in all {
                let state = t.revokedAt.map { "revoked \(Time.formatRFC3339($0))" } ?? "active"
                Output.stdout.line("\(t.name)  \(t.scopes.map(\.rawValue).sorted().joined(separator: ","))  created \(Time.formatRFC3339(t.createdAt))  \(state)")
            }
            Output.stdout.flush()
        }
    }
}
