import ArgumentParser
import Foundation
import ProvisoCore
import ProvisoStore

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Validate and show policies.", subcommands: [Validate.self, Show.self, Publish.self, List.self])

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a policy file; exit 1 listing every problem with the field it concerns.")

        @Argument(help: "Policy file (JSON).") var file: String
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw CLIError("cannot read \(file): \(error.localizedDescription)")
            }
            do {
                let p = try Policy.parse(text)
                Output.stdout.line("\(file): valid policy \(p.version) (\(p.purposes.count) purposes, \(p.settings.count) settings), sha256 \(p.digest)")
                Output.stdout.flush()
            } catch {
                for problem in error.problems { Output.stderr.line("\(file): \(problem)") }
                Output.stderr.flush()
                throw CLIError("\(file) is not a valid policy (\(error.problems.count) problem\(error.problems.count == 1 ? "" : "s"))")
            }
        }
    }

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish a policy version; refused unless every widening gives its notice period.",
            discussion: """
                Compares the version with the one it replaces at its effective_from. For every purpose and \
                region group where use widens (newly in scope, earlier start, default turned on, content \
                start moved earlier, a category added, public-only or minor exclusion dropped, GPC no longer \
                honoured, a dependency dropped), effective_from must be at least the purpose's notice period \
                after publication; otherwise exit 1 naming each and the earliest allowed date, and nothing \
                is published. Accepted versions are recorded in the ledger and decide from their date.
                """)

        @Argument(help: "Policy file (JSON) with effective_from.") var file: String
        @Option(help: ArgumentHelp("Publication time (RFC 3339; default now; cannot be backdated).", valueName: "time"))
        var at: String?
        @OptionGroup var globals: GlobalOptions

        func validate() throws {
            if let at {
                let t = try parseTimeOption(at, name: "--at")
                // Notice is counted from publication: a backdated publication would fake it.
                if t < Time.now() - 60_000_000 { throw ValidationError("--at cannot be in the past: notice runs from the real publication") }
            }
        }

        func run() async throws {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw CLIError("cannot read \(file): \(error.localizedDescription)")
            }
            let policy: Policy
            do { policy = try Policy.parse(text) } catch {
                throw CLIError("\(file) is not a valid policy:\n" + error.problems.map { "  \($0)" }.joined(separator: "\n"))
            }
            let store = try await globals.openStore()
            let at = try at.map { try parseTimeOption($0, name: "--at") } ?? Time.now()
            // The baseline is what is in force before any publication: --policy, or the seed.
            let publisher = PolicyPublisher(store: store, baseline: try globals.loadPolicy())
            let publication: Publication
            do {
                let state = try await store.loadState()
                publication = try await publisher.publish(policy, at: at, actor: cliActor, state: state)
            } catch {
                throw CLIError("\(file): \(error)")
            }
            for w in publication.widenings {
                Output.stdout.line("widens \(w.purpose.code) in \(w.region.code): \(w.kind.code) (notice \(w.noticeDays) days, given)")
            }
            Output.stdout.line("notices delivered: \(publication.notified)")
            let published = publication.published
            Output.stdout.line("published \(published.version) (sha256 \(published.digest)) at \(Time.formatRFC3339(published.publishedAt)); "
                + "in force from \(published.effectiveFrom.map(Time.formatDate(dayNumber:)) ?? "now"); ledger seq \(published.seq)")
            Output.stdout.flush()
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List published policy versions, oldest first.")

        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let store = try await globals.openStore()
            let all: [PublishedPolicy]
            do { all = try await store.publishedPolicies() } catch { throw CLIError("cannot read the published policies: \(error)") }
            let now = Time.now()
            for p in all {
                let from = p.effectiveFrom.map(Time.formatDate(dayNumber:)) ?? "publication"
                let state = (p.effectiveFrom.map { Time.micros(dayNumber: $0) } ?? p.publishedAt) > now ? "scheduled" : "in force from"
                Output.stdout.line("\(p.version)  published \(Time.formatRFC3339(p.publishedAt))  \(state) \(from)  seq \(p.seq)  sha256 \(p.digest)")
            }
            Output.stdout.flush()
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the policy in force now (--policy FILE, or the latest published version in force, or the built-in seed).")

        @Flag(help: "Print the policy file itself.") var json = false
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let p = try await globals.context().policy
            if json {
                Output.stdout.write(p.source.hasSuffix("\n") ? p.source : p.source + "\n")
                Output.stdout.flush()
                return
            }
            let seed = globals.policy == nil && p.version == Policy.seed.version
            Output.stdout.line("policy \(p.version)\(seed ? " (built-in seed)" : "")  sha256 \(p.digest)")
            if let e = p.effectiveFrom { Output.stdout.line("in force from \(Time.formatDate(dayNumber: e))") }
            if let d = p.description { Output.stdout.line(d) }
            for purpose in p.purposes {
                Output.stdout.line("")
                Output.stdout.line("\(purpose.id.code) [\(purpose.id.fideslangKey)] gated by \(purpose.gatedBy.code)"
                    + (p.setting(purpose.gatedBy)?.dependsOn.isEmpty == false
                        ? " (needs \(p.setting(purpose.gatedBy)!.dependsOn.map(\.code).joined(separator: ", ")))" : ""))
                Output.stdout.line("  categories: \(purpose.categories.map(\.code).joined(separator: ", "))"
                    + (purpose.publicOnly ? "; public content only" : "") + (purpose.excludeMinors ? "; minors excluded" : "")
                    + "; notice \(purpose.noticePeriodDays) days")
                for r in purpose.rules {
                    var line = "  \(r.regions.map(\.code).joined(separator: ", ")): from \(Time.formatDate(dayNumber: r.inScopeFrom)), "
                        + "default \(r.defaultOn ? "on" : "off"), \(r.legalBasis.rawValue)"
                    if let c = r.contentFrom { line += ", content from \(Time.formatDate(dayNumber: c))" }
                    if r.gpc { line += ", GPC honoured" }
                    Output.stdout.line(line)
                }
                let uncovered = RegionGroup.allCases.filter { g in !purpose.rules.contains { $0.regions.contains(g) } }
                if !uncovered.isEmpty { Output.stdout.line("  not in scope: \(uncovered.map(\.code).joined(separator: ", "))") }
            }
            Output.stdout.flush()
        }
    }
}
