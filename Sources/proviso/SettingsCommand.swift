import ArgumentParser
import ProvisoCore
import ProvisoStore

struct SettingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settings", abstract: "Record and explain members' choices.",
        subcommands: [Set.self, Import.self, Stream.self, Show.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record one member's choice for one setting.")

        @Argument(help: "Member id.") var member: String
        @Argument(help: ArgumentHelp("Setting id (\(SettingID.allCases.map(\.code).joined(separator: ", "))).")) var setting: String
        @Argument(help: "on or off.") var value: String
        @Option(help: ArgumentHelp("When the choice takes effect (RFC 3339; default now). Earlier times backfill.", valueName: "time"))
        var at: String?
        @Option(help: ArgumentHelp("web, api, import or gpc.", valueName: "channel")) var channel: String = "api"
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let now = Time.now()
            let draftInput = try ChoiceInput.parse(member: member, setting: setting, value: value,
                                                   at: at.map { try parseTimeOption($0, name: "--at") }, channel: channel, now: now)
            let ctx = try await globals.context()
            let result: AppendResult
            do {
                result = try await ctx.store.append(WriteBatch(events: [draftInput.draft(policy: ctx.policy)], policy: ctx.policy,
                                                               actor: cliActor, recordedAt: now))
            } catch StoreError.unknownMember(let id) {
                throw CLIError("unknown member \"\(id)\": import it first with `proviso members import`")
            } catch {
                throw CLIError("could not record the choice: \(error)")
            }
            guard let e = result.events.last, let receipt = Receipt(event: e, issuer: receiptIssuer) else {
                throw CLIError("the store recorded nothing")
            }
            Output.stdout.line("recorded seq \(e.seq): \(member) \(draftInput.setting.code) \(draftInput.on ? "on" : "off") "
                + "effective \(Time.formatRFC3339(draftInput.at)) via \(draftInput.channel.code) under policy \(ctx.policy.version); hash \(e.hashHex)")
            do {
                let key = try await ctx.store.currentReceiptKey(now: now)
                Output.stdout.line("receipt: \(receipt.sign(with: key))")
            } catch {
                throw CLIError("the choice is recorded (seq \(e.seq)) but no receipt could be signed: \(error)")
            }
            Output.stdout.flush()
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record choices from a JSONL file (all or nothing).",
            discussion: """
                One event per line: {"member","setting","value":"on"|"off","at"} with optional "channel" \
                (default import). If any line is invalid, every bad line is listed and nothing is written (exit 1).
                """)

        @Argument(help: ArgumentHelp("JSONL file, or - for stdin.", valueName: "file")) var file: String
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let ctx = try await globals.context()
            let started = monotonicSeconds()
            let state = try await ctx.loadState()
            let now = Time.now()
            let drafts = try readAllOrNothing(file, label: "reading choices") { _, json throws(InputError) in
                let input = try ChoiceInput.from(json: json, now: now)
                guard state.memberIndex(input.member) >= 0 else { throw InputError("unknown member \"\(input.member)\"") }
                return input.draft(policy: ctx.policy)
            }
            let result = try await ctx.commitImport(events: drafts)
            Output.stdout.line("imported \(drafts.count) choices; ledger at seq \(result.lastSeq) (\(rate(drafts.count, monotonicSeconds() - started)))")
            Output.stdout.flush()
        }
    }

    struct Stream: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record choices from stdin one by one, acknowledging each once durable.",
            discussion: """
                For live feeds from another system: each JSONL line (same fields as `settings import`) is \
                committed on its own and answered on stdout with `ok <line> <seq> <hash>` once it is durable, \
                or `error <line> <why>` (the line is skipped, nothing of it written).
                """)

        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let ctx = try await globals.context()
            let reader = try LineReader(path: "-")
            var more = true
            while more {
                var parsed: [(Int, Result<ChoiceInput, InputError>)] = []
                more = try reader.readChunk { number, bytes in
                    if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
                    do {
                        parsed.append((number, .success(try ChoiceInput.from(json: try JSON.parse(bytes), now: Time.now()))))
                    } catch let e as JSONError {
                        parsed.append((number, .failure(InputError(e.description))))
                    } catch let e as InputError {
                        parsed.append((number, .failure(e)))
                    }
                }
                // Each line is its own transaction: an acknowledgement means that line is durable.
                for (number, input) in parsed {
                    switch input {
                    case let .failure(e):
                        Output.stdout.line("error \(number) \(e.message)")
                    case let .success(choice):
                        do {
                            let r = try await ctx.store.append(WriteBatch(events: [choice.draft(policy: ctx.policy)], policy: ctx.policy,
                                                                          actor: cliActor, recordedAt: Time.now()))
                            Output.stdout.line("ok \(number) \(r.lastSeq) \(r.events.last?.hashHex ?? "")")
                        } catch StoreError.unknownMember(let id) {
                            Output.stdout.line("error \(number) unknown member \"\(id)\"")
                        } catch {
                            Output.stdout.flush()
                            throw CLIError("line \(number) could not be recorded: \(error)")
                        }
                    }
                    Output.stdout.flush()
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Explain each setting's effective value for a member: value, source and since when.")

        @Argument(help: "Member id.") var member: String
        @Option(help: ArgumentHelp("As of this time (RFC 3339; default now).", valueName: "time")) var at: String?
        @Flag(help: "Print JSON instead of text.") var json = false
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let t = try at.map { try parseTimeOption($0, name: "--at") } ?? Time.now()
            let ctx = try await globals.context()
            let state = try await ctx.loadState()
            let m = state.memberIndex(member)
            guard m >= 0 else { throw CLIError("unknown member \"\(member)\"") }
            let policy = ctx.engine.policy(at: t)
            let statuses = ctx.engine.settings(member: m, at: t, in: state)
            var notes: [String] = []
            if let closed = state.closingTime(of: m), closed <= t {
                notes.append("Account closed on \(Time.formatHuman(closed)): none of this member's data is used.")
            }
            if t < state.adultAt(m) {
                notes.append("Under 18 until \(Time.formatHuman(state.adultAt(m))): excluded wherever the policy excludes minors.")
            } else if state.isSuspectedMinor(m) {
                notes.append("Flagged as a suspected minor: excluded wherever the policy excludes minors.")
            }
            if json {
                let items: [JSON] = statuses.map { st in
                    var fields: [(key: String, value: JSON)] = [
                        ("setting", .string(st.setting.code)), ("label", .string(policy.label(of: st.setting))),
                        ("value", .string(st.on ? "on" : "off")), ("source", .string(st.source.code)),
                        ("since", st.since.map { .string(Time.formatRFC3339($0)) } ?? .null),
                        ("explanation", .string(st.explanation)),
                    ]
                    if case let .dependency(d) = st.source { fields.append(("depends_on", .string(d.code))) }
                    return .object(fields)
                }
                let doc = JSON.object([
                    ("member", .string(member)), ("region", .string(state.region(of: m).code)),
                    ("at", .string(Time.formatRFC3339(t))), ("policy_version", .string(policy.version)),
                    ("ledger_seq", .number(String(state.ledgerSeq))), ("settings", .array(items)),
                    ("notes", .array(notes.map { .string($0) })),
                ])
                Output.stdout.line(doc.serialized)
            } else {
                Output.stdout.line("Settings of \(member) (region \(state.region(of: m).code)) as of \(Time.formatRFC3339(t)), policy \(policy.version)")
                let width = statuses.map(\.setting.code.count).max() ?? 0
                for st in statuses {
                    let name = st.setting.code.padding(toLength: width + 2, withPad: " ", startingAt: 0)
                    let value = (st.on ? "on" : "off").padding(toLength: 5, withPad: " ", startingAt: 0)
                    let source = st.source.code.padding(toLength: 15, withPad: " ", startingAt: 0)
                    Output.stdout.line("  \(name)\(value)\(source)\(st.explanation)")
                }
                for n in notes { Output.stdout.line("Note: \(n)") }
            }
            Output.stdout.flush()
        }
    }
}

/// One choice as given on the command line or in an import line, validated.
struct ChoiceInput {
    var member: String
    var setting: SettingID
    var on: Bool
    var at: Micros
    var channel: Channel

    static func parse(member: String, setting: String, value: String, at: Micros?, channel: String, now: Micros) throws(InputError) -> ChoiceInput {
        guard !member.isEmpty else { throw InputError("member is required") }
        guard let s = SettingID(code: setting) else {
            throw InputError("unknown setting \"\(setting)\" (known: \(SettingID.allCases.map(\.code).joined(separator: ", ")))")
        }
        let on: Bool
        switch value {
        case "on": on = true
        case "off": on = false
        default: throw InputError("value must be \"on\" or \"off\", not \"\(value)\"")
        }
        guard let c = Channel(code: channel) else {
            throw InputError("unknown channel \"\(channel)\" (known: \(Channel.allCases.map(\.code).joined(separator: ", ")))")
        }
        let t = at ?? now
        // A choice cannot be made in the future: it would silently flip a switch later.
        guard t <= now else { throw InputError("at \(Time.formatRFC3339(t)) is in the future") }
        return ChoiceInput(member: member, setting: s, on: on, at: t, channel: c)
    }

    static let fields: Swift.Set<String> = ["member", "setting", "value", "at", "channel"]

    static func from(json: JSON, now: Micros) throws(InputError) -> ChoiceInput {
        guard case let .object(fields) = json else { throw InputError("expected a JSON object, got \(json.kindName)") }
        for f in fields where !Self.fields.contains(f.key) {
            throw InputError("unknown field \"\(f.key)\" (expected: member, setting, value, at, channel)")
        }
        func str(_ key: String, required: Bool = true) throws(InputError) -> String? {
            switch json[key] {
            case let .string(s)?: return s
            case nil, .null?: if required { throw InputError("\(key) is required") }; return nil
            case let v?: throw InputError("\(key) must be a string, not \(v.kindName)")
            }
        }
        let atText = try str("at")!
        guard let at = Time.parseRFC3339(atText) else { throw InputError("at \"\(atText)\" is not an RFC 3339 time") }
        return try parse(member: try str("member")!, setting: try str("setting")!, value: try str("value")!, at: at,
                         channel: try str("channel", required: false) ?? "import", now: now)
    }

    func draft(policy: Policy) -> EventDraft {
        .choice(member: member, setting: setting, on: on, at: at, channel: channel, actor: cliActor, policyVersion: policy.version)
    }
}
