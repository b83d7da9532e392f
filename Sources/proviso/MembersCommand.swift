import ArgumentParser
import Foundation
import ProvisoCore
import ProvisoStore

struct MembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members", abstract: "Manage members.", subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Insert or replace members from a JSONL file (all or nothing).",
            discussion: """
                One member per line: {"id","country","birth_date", optional "suspected_minor", "closed_at", \
                "handle", "name", "headline"}. If any line is invalid, every bad line is listed with its \
                number and nothing is written (exit 1).
                """)

        @Argument(help: ArgumentHelp("JSONL file, or - for stdin.", valueName: "file")) var file: String
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let ctx = try globals.context()
            let started = monotonicSeconds()
            let now = Time.now()
            var handles: [String: Int] = [:]
            let members = try readAllOrNothing(file, label: "reading members") { number, json throws(InputError) in
                let m = try Member.from(json: json, now: now)
                if let h = m.handle {
                    if let first = handles[h] { throw InputError("handle \"\(h)\" is also used on line \(first)") }
                    handles[h] = number
                }
                return m
            }
            let result: AppendResult
            do {
                result = try await ctx.store.append(WriteBatch(members: members, policy: ctx.policy, actor: cliActor,
                                                               recordedAt: Time.now(), returnEvents: false))
            } catch {
                throw CLIError("import failed, nothing was imported: \(error)")
            }
            let seconds = monotonicSeconds() - started
            Output.stdout.line("imported \(members.count) members: \(result.registered) registered, \(result.changed) changed, "
                + "\(result.unchanged) unchanged; ledger at seq \(result.lastSeq) (\(rate(members.count, seconds)))")
            Output.stdout.flush()
        }
    }
}

/// "12,345 lines/s in 1.2 s" for summaries.
func rate(_ n: Int, _ seconds: Double) -> String {
    let perSecond = seconds > 0 ? Int(Double(n) / seconds) : n
    return "\(perSecond) lines/s in \(String(format: "%.2f", seconds)) s"
}
