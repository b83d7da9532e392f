import ArgumentParser
import Foundation
import ProvisoCore

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Validate and show policies.", subcommands: [Validate.self, Show.self])

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

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the policy in force (--policy FILE or the built-in seed).")

        @Flag(help: "Print the policy file itself.") var json = false
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let p = try globals.loadPolicy()
            if json {
                Output.stdout.write(p.source.hasSuffix("\n") ? p.source : p.source + "\n")
                Output.stdout.flush()
                return
            }
            Output.stdout.line("policy \(p.version)\(globals.policy == nil ? " (built-in seed)" : "")  sha256 \(p.digest)")
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
