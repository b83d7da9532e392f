import ArgumentParser
import Foundation
import ProvisoCore
import ProvisoStore
import HummingbirdBcrypt

struct MembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members", abstract: "Manage members.", subcommands: [Import.self, SetPassword.self])

    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Set a member's sign-in password, read from the first line of stdin (stored as a bcrypt hash).")

        @Argument(help: "Member id.") var member: String
        @Option(help: "bcrypt cost (10–16).") var cost: UInt8 = 12
        @OptionGroup var globals: GlobalOptions

        func validate() throws {
            guard (10...16).contains(cost) else { throw ValidationError("--cost must be between 10 and 16") }
        }

        func run() async throws {
            guard let password = readLine(strippingNewline: true), password.count >= 8 else {
                throw CLIError("give a password of at least 8 characters on stdin, e.g. `proviso members set-password \(member) < file`")
            }
            let hash = Bcrypt.hash(password, cost: cost)
            do { try await globals.openStore().setPasswordHash(member: member, hash: hash, at: Time.now()) } catch StoreError.unknownMember {
                throw CLIError("unknown member \"\(member)\"")
            } catch {
                throw CLIError("cannot set the password: \(error)")
            }
            Output.stdout.line("password set for \(member)")
            Output.stdout.flush()
        }
    }

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
            let ctx = try await globals.context()
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
            let result = try await ctx.commitImport(members: members)
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
