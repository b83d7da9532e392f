import ArgumentParser
import ProvisoCore

struct DecideCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decide",
        abstract: "May a member's data of a category be used for a purpose at a time?",
        discussion: """
            Prints {"allowed":bool,"reasons":[...],"policy_version":"...","ledger_seq":N}. Unknown or \
            undeterminable means deny, with the reasons. With --batch FILE|-, reads JSONL requests \
            (member, purpose, category, optional at, visibility, sensitive, created_at, gpc) and writes one \
            decision per line in the same order; an unreadable line yields \
            {"allowed":false,"reasons":["invalid-request"],"error":"..."} and the run goes on.
            """)

    @Option(help: "Member id.") var member: String?
    @Option(help: ArgumentHelp("Purpose (\(Purpose.allCases.map(\.code).joined(separator: ", "))).")) var purpose: String?
    @Option(help: "Data category of the record.") var category: String?
    @Option(help: ArgumentHelp("Decide as of this time (RFC 3339; default now).", valueName: "time")) var at: String?
    @Option(help: "Visibility of the record: public, connections or private.") var visibility: String?
    @Flag(help: "The record concerns a special category (health, religion, politics, union membership…).") var sensitive = false
    @Option(name: .customLong("created-at"), help: ArgumentHelp("When the record was created (RFC 3339).", valueName: "time"))
    var createdAt: String?
    @Flag(help: "The request carries a Global Privacy Control signal.") var gpc = false
    @Option(help: ArgumentHelp("JSONL requests from a file, or - for stdin.", valueName: "file")) var batch: String?
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        if batch != nil {
            guard member == nil, purpose == nil, category == nil, at == nil, visibility == nil, createdAt == nil, !sensitive, !gpc else {
                throw ValidationError("--batch reads every field from its input; give no other decision options with it")
            }
        } else {
            guard member != nil, purpose != nil, category != nil else {
                throw ValidationError("--member, --purpose and --category are required (or use --batch FILE)")
            }
            if let v = visibility, Visibility(strictCode: v) == nil {
                throw ValidationError("--visibility must be public, connections or private, not \"\(v)\"")
            }
        }
    }

    func run() async throws {
        let policy = try globals.loadPolicy()
        var engine = DecisionEngine(policy: policy)
        var state = ConsentState()
        var failure: String?
        do {
            let context = try await globals.context()
            engine = context.engine
            state = try await context.loadState()
        } catch {
            // Fail closed: without a readable ledger every answer is a deny with a reason.
            failure = "\(error)"
            state.isCurrent = false
        }
        defer {
            if let failure {
                Output.stdout.flush()
                Output.stderr.line("proviso: state unavailable, every decision denied: \(failure)")
                Output.stderr.flush()
            }
        }
        try decideAll(engine: engine, state: state)
        if failure != nil { throw ExitCode(1) }
    }

    func decideAll(engine: DecisionEngine, state: ConsentState) throws {
        let now = Time.now()
        if let batch {
            let out = Output.stdout
            try LineReader(path: batch).forEachLine({ _, bytes in
                do {
                    let request = try DecisionRequest.from(json: try JSON.parse(bytes))
                    out.line(engine.decide(request.query(in: state, now: now), in: state).json)
                } catch let e as JSONError {
                    out.line(Decision.invalidRequestJSON(e.description))
                } catch let e as InputError {
                    out.line(Decision.invalidRequestJSON(e.message))
                }
            }, afterChunk: { out.flush() })
            out.flush()
            return
        }
        let request = DecisionRequest(
            member: member!, purpose: purpose!, category: category!,
            at: try at.map { try parseTimeOption($0, name: "--at") },
            createdAt: try createdAt.map { try parseTimeOption($0, name: "--created-at") },
            visibility: visibility.flatMap(Visibility.init(strictCode:)), sensitive: sensitive, gpc: gpc)
        Output.stdout.line(engine.decide(request.query(in: state, now: now), in: state).json)
        Output.stdout.flush()
    }
}
