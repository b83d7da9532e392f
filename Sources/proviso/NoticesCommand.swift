import ArgumentParser
import ProvisoCore
import ProvisoStore

struct NoticesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notices", abstract: "Notices of policy changes delivered to members.", subcommands: [Report.self])

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per published version, region group and purpose: members notified, days of notice, read, confirmations.")

        @Flag(help: "Print one JSON object per row.") var json = false
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let store = try await globals.openStore()
            let rows: [NoticeReportRow]
            do { rows = try await store.noticeReport() } catch { throw CLIError("cannot read the notices: \(error)") }
            for r in rows {
                if json {
                    Output.stdout.line(JSON.object([
                        ("policy_version", .string(r.policyVersion)), ("region", .string(r.region.code)), ("purpose", .string(r.purpose.code)),
                        ("notified", .number(String(r.notified))), ("lead_days", .number(String(r.leadDays))), ("read", .number(String(r.read))),
                        ("confirmations_asked", .number(String(r.confirmationsAsked))), ("confirmed", .number(String(r.confirmed))),
                    ]).serialized)
                } else {
                    Output.stdout.line("\(r.policyVersion)  \(r.region.code)  \(r.purpose.code)  notified \(r.notified), \(r.leadDays) days before, "
                        + "read \(r.read), confirmations \(r.confirmed)/\(r.confirmationsAsked)")
                }
            }
            Output.stdout.flush()
        }
    }
}
