import ArgumentParser
import ProvisoCore
import ProvisoStore

struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger", abstract: "Inspect and verify the consent ledger.", subcommands: [Verify.self, Show.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the hash chain; exit 1 naming the first bad sequence number.",
            discussion: """
                Then compares the consent projection as it loads (from the store's checkpoint) with one \
                rebuilt from the ledger alone; if they differ, the checkpoint is dropped (the next load \
                rebuilds) and the exit status is 1.
                """)

        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let store = try await globals.openStore()
            let verifier: ChainVerifier
            do { verifier = try await store.verify() } catch {
                throw CLIError("cannot read the ledger: \(error)")
            }
            if let failure = verifier.failure {
                Output.stdout.line("ledger broken at sequence \(failure.seq): \(failure.reason)")
                Output.stdout.line("events before it verified: \(verifier.checked)")
                Output.stdout.flush()
                throw ExitCode(1)
            }
            Output.stdout.line("ledger intact: \(verifier.checked) events, head \(LedgerHash.hex(verifier.head))")
            Output.stdout.flush()
            try await checkProjection(store)
        }

        /// The loaded projection (checkpoint plus tail) against a rebuild from the ledger alone.
        func checkProjection(_ store: any ConsentStore) async throws {
            let loaded: ConsentState, rebuilt: ConsentState
            do {
                loaded = try await store.loadState()
                rebuilt = try await store.rebuildState()
            } catch {
                throw CLIError("cannot read the consent projection: \(error)")
            }
            guard loaded.ledgerSeq == rebuilt.ledgerSeq else {
                Output.stdout.line("projection not compared: the ledger moved during the check (seq \(loaded.ledgerSeq) → \(rebuilt.ledgerSeq)); run again")
                Output.stdout.flush()
                return
            }
            if let difference = loaded.contentDifference(from: rebuilt) ?? rebuilt.contentDifference(from: loaded) {
                do { try await store.dropCheckpoint() } catch {
                    throw CLIError("the projection checkpoint differs from the ledger (\(difference)) and could not be dropped: \(error)")
                }
                Output.stdout.line("projection checkpoint differs from a rebuild from the ledger (\(difference)); it was dropped, the next load rebuilds")
                Output.stdout.flush()
                throw ExitCode(1)
            }
            Output.stdout.line("projection intact: as loaded, it equals a rebuild from the ledger at seq \(rebuilt.ledgerSeq) (\(rebuilt.memberCount) members)")
            Output.stdout.flush()
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a member's ledger events.")

        @Argument(help: "Member id.") var member: String
        @Flag(help: "Print one JSON object per event.") var json = false
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let store = try await globals.openStore()
            let events: [LedgerEvent]
            do { events = try await store.events(member: member) } catch {
                throw CLIError("cannot read the ledger: \(error)")
            }
            guard !events.isEmpty else { throw CLIError("no ledger events for member \"\(member)\" (unknown member?)") }
            for e in events {
                if json {
                    Output.stdout.line(eventJSON(e).serialized)
                } else {
                    var text = "\(e.seq)  \(Time.formatRFC3339(e.recordedAt))  \(e.kind.rawValue)"
                    if let s = e.draft.setting, let v = e.draft.value { text += "  \(s.code)=\(v ? "on" : "off")" }
                    if let t = e.draft.effectiveAt, t != e.recordedAt { text += "  effective \(Time.formatRFC3339(t))" }
                    if let c = e.draft.channel { text += "  via \(c.code)" }
                    text += "  by \(e.draft.actor)"
                    if let p = e.draft.policyVersion { text += "  policy \(p)" }
                    text += "  hash \(e.hashHex.prefix(16))"
                    Output.stdout.line(text)
                }
            }
            Output.stdout.flush()
        }
    }
}

/// A ledger event as JSON, hashes in hex: the export shape shared by CLI outputs.
func eventJSON(_ e: LedgerEvent) -> JSON {
    let d = e.draft
    var f: [(key: String, value: JSON)] = [
        ("seq", .number(String(e.seq))), ("recorded_at", .string(Time.formatRFC3339(e.recordedAt))),
        ("kind", .string(d.kind.rawValue)),
    ]
    if let m = d.memberID { f.append(("member", .string(m))) }
    if let s = d.setting { f.append(("setting", .string(s.code))) }
    if let v = d.value { f.append(("value", .string(v ? "on" : "off"))) }
    if let t = d.effectiveAt { f.append(("effective_at", .string(Time.formatRFC3339(t)))) }
    if let c = d.channel { f.append(("channel", .string(c.code))) }
    f.append(("actor", .string(d.actor)))
    if let p = d.policyVersion { f.append(("policy_version", .string(p))) }
    if let p = d.payload { f.append(("payload", (try? JSON.parse(p)) ?? .string(p))) }
    f.append(("prev_hash", .string(LedgerHash.hex(e.prevHash))))
    f.append(("hash", .string(e.hashHex)))
    return .object(f)
}
