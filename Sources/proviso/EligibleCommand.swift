import ArgumentParser
import Foundation
import ProvisoCore
import ProvisoGate

struct EligibleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eligible",
        abstract: "Stream the ids of the members whose data may be used for a purpose at T, with their region group.",
        discussion: """
            For distributed pipelines: a Spark or Flink job loads this list and broadcast-joins its \
            records on member_id, then applies the record-level rules (category, audience, \
            sensitivity) itself — or sends the records through `proviso gate run`, which applies all of \
            them. A member is listed when nothing about the member denies the purpose at T (account, \
            age, region scope, choices, GPC recorded, dependencies). Output is in member id order.
            """)

    @Option(help: ArgumentHelp("Purpose (\(Purpose.allCases.map(\.code).joined(separator: ", "))).")) var purpose: String
    @Option(help: ArgumentHelp("As of this time (RFC 3339 or date; default now).", valueName: "time")) var at: String?
    @Option(help: "csv (member_id,region_group with a header) or jsonl.") var format: String = "csv"
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        guard Purpose(code: purpose) != nil else {
            throw ValidationError("--purpose must be one of \(Purpose.allCases.map(\.code).joined(separator: ", ")), not \"\(purpose)\"")
        }
        guard format == "csv" || format == "jsonl" else { throw ValidationError("--format must be csv or jsonl") }
        if let at { _ = try parseTimeOption(at, name: "--at") }
    }

    func run() async throws {
        let context = try await globals.context()
        let state = try await context.loadState()
        let t = try at.map { try parseTimeOption($0, name: "--at") } ?? Time.now()
        let p = Purpose(code: purpose)!
        let engine = context.engine
        let policy = engine.policy(at: t)
        let out = Output.stdout
        if format == "csv" { out.line("member_id,region_group") }
        var order = (0..<Int32(state.memberCount)).map { $0 }
        // Stores load members in id order; sort only if this one did not.
        if zip(order, order.dropFirst()).contains(where: { !state.index.idLess($0, $1) }) {
            order.sort { state.index.idLess($0, $1) }
        }
        for m in order where engine.memberVerdict(member: m, purpose: p, at: t, in: state, policy: policy).reasons.isEmpty {
            let id = state.index.id(at: m)
            let region = state.region(of: m).code
            if format == "csv" {
                out.line("\(CSV.field(id)),\(region)")
            } else {
                var line = "{\"member_id\":"
                JSON.appendQuoted(id, to: &line)
                out.line(line + ",\"region_group\":\"\(region)\"}")
            }
        }
        out.flush()
    }
}
