import ArgumentParser
import Foundation
import ProvisoCore
import ProvisoGate
import ProvisoStore

struct GateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gate",
        abstract: "Filter datasets by consent, and answer whose data went where.",
        subcommands: [Run.self, List.self, Retractions.self, Report.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stream a JSONL dataset through the decisions into a registered snapshot.",
            discussion: """
                Each input line is a record with member_id (string or integer) and category, optionally \
                visibility, sensitive and created_at; other fields pass through. DIR receives records.jsonl \
                (eligible lines byte for byte, in input order), manifest.json and members.csv. Malformed lines, \
                missing fields, unknown members or categories are excluded and counted (fail closed). \
                Nothing appears under DIR, and nothing is registered, unless the whole run succeeds.
                """)

        @Option(help: ArgumentHelp("Purpose (\(Purpose.allCases.map(\.code).joined(separator: ", "))).")) var purpose: String
        @Option(help: ArgumentHelp("Decide as of this time (RFC 3339 or date; default now).", valueName: "time")) var at: String?
        @Option(help: ArgumentHelp("JSONL input file, or - for stdin.", valueName: "file")) var input: String
        @Option(help: ArgumentHelp("Output directory (must not exist, or be empty).", valueName: "dir")) var out: String
        @Option(help: "A name for the snapshot (e.g. the training run).") var name: String?
        @Option(help: ArgumentHelp("Write each excluded line's number and reasons (JSONL) to this file.", valueName: "file"))
        var explain: String?
        @Flag(help: "Stop with exit 1 at the first line that would be excluded; write and register nothing.") var strict = false
        @OptionGroup var globals: GlobalOptions

        func validate() throws {
            guard Purpose(code: purpose) != nil else {
                throw ValidationError("--purpose must be one of \(Purpose.allCases.map(\.code).joined(separator: ", ")), not \"\(purpose)\"")
            }
            if let at { _ = try parseTimeOption(at, name: "--at") }
        }

        /// Removes what earlier runs for the same --out left when they died, unless their
        /// snapshot got registered (then its files are the only copy: they stay, and we say so).
        func clearUnfinishedRuns(store: any SnapshotStore) async {
            for run in GateStaging.unfinished(outDir: out) {
                let registered: Bool?
                do {
                    registered = try await store.snapshot(id: run.snapshotID) != nil
                } catch {
                    registered = nil
                }
                switch registered {
                case false?:
                    run.remove()
                    Output.stderr.line("gate: removed the files of an earlier run that did not finish (\(run.staging))")
                case true? where !run.stagingExists:
                    run.dropLock()  // published, then died before letting its lock go
                case true?:
                    run.leave()
                    Output.stderr.line("gate: snapshot \(run.snapshotID) is registered but its files were never moved into place; they are in \(run.staging)")
                case nil:
                    run.leave()  // the registry cannot say: leave everything as it is
                }
            }
            Output.stderr.flush()
        }

        func run() async throws {
            // The input is hashed on another core while the state loads on this one; the file
            // is mapped, and a bus error (it was shortened meanwhile) ends the run cleanly.
            Mapped.exitOnBusError()
            let digest = InputDigest.start(path: input)
            let context = try await globals.context()
            await clearUnfinishedRuns(store: context.store)
            let loading = GateProgress.now()
            let state = try await context.loadState()
            let loaded = GateProgress.now() - loading
            let now = Time.now()
            let request = GateRequest(purpose: Purpose(code: purpose)!, at: try at.map { try parseTimeOption($0, name: "--at") } ?? now,
                                      now: now, name: name, input: input, outDir: out, explain: explain, strict: strict,
                                      progress: true, digest: digest)
            let prepared: PreparedSnapshot
            do {
                prepared = try GateRunner.prepare(request, engine: context.engine, state: state)
            } catch {
                throw CLIError("gate: \(error)")
            }
            let registering = GateProgress.now()
            do {
                try await context.store.registerSnapshot(prepared.snapshot, members: prepared.members)
            } catch {
                prepared.discard()
                throw CLIError("gate: cannot register the snapshot, nothing was written: \(error)")
            }
            do {
                try prepared.publish()
            } catch {
                // Registered but not moved: the registry errs on the side of listing it (retractions stay possible).
                throw CLIError("gate: snapshot \(prepared.snapshot.id) is registered but its files could not be moved into place: \(error)")
            }
            let registered = GateProgress.now() - registering
            let s = prepared.snapshot
            Output.stdout.line("snapshot \(s.id)\(s.name.map { " (\($0))" } ?? "")  purpose \(s.purpose)  as of \(Time.formatRFC3339(s.asOf))")
            Output.stdout.line("read \(s.read)  eligible \(s.eligible)  excluded \(s.excluded)  malformed \(s.malformed)  members \(s.memberCount)")
            let pass = max(prepared.passSeconds, 1e-9)
            Output.stdout.line(String(format: "pass %.2f s (%.0f MB/s, %.2fM records/s)", pass, Double(prepared.inputBytes) / 1e6 / pass,
                                      Double(s.read) / 1e6 / pass))
            Output.stdout.line(String(format: "also: consent state loaded in %.2f s, member verdicts %.2f s, member set %.2f s, registered in %.2f s",
                                      loaded, prepared.setupSeconds, prepared.memberSetSeconds, registered))
            Output.stdout.line("wrote \(out)/records.jsonl, \(out)/manifest.json, \(out)/members.csv")
            Output.stdout.flush()
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered snapshots, newest first.")

        @Flag(help: "Print one JSON object per snapshot.") var json = false
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let store = try await globals.openStore()
            let all: [Snapshot]
            do { all = try await store.snapshots() } catch { throw CLIError("cannot read the snapshot registry: \(error)") }
            for s in all {
                if json {
                    Output.stdout.line(GateJSON.snapshot(s).serialized)
                } else {
                    Output.stdout.line("\(s.id)  \(s.purpose)  as of \(Time.formatRFC3339(s.asOf))  eligible \(s.eligible)/\(s.read)  members \(s.memberCount)\(s.name.map { "  \($0)" } ?? "")")
                }
            }
            Output.stdout.flush()
        }
    }

    struct Retractions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Members included in a snapshot whose data is no longer eligible at a time.",
            discussion: "Each line names a member, the reasons (e.g. opted-out, account-closed, minor) and the categories to drop.")

        @Argument(help: "Snapshot id.") var snapshot: String
        @Option(help: ArgumentHelp("Check eligibility as of this time (default now).", valueName: "time")) var at: String?
        @Flag(help: "Print one JSON object per member.") var json = false
        @OptionGroup var globals: GlobalOptions

        func validate() throws { if let at { _ = try parseTimeOption(at, name: "--at") } }

        func run() async throws {
            let context = try await globals.context()
            let s: Snapshot
            do {
                guard let found = try await context.store.snapshot(id: snapshot) else { throw CLIError("no snapshot \"\(snapshot)\" (see proviso gate list)") }
                s = found
            } catch let e as CLIError { throw e } catch { throw CLIError("cannot read the snapshot registry: \(error)") }
            let state = try await context.loadState()
            let t = try at.map { try parseTimeOption($0, name: "--at") } ?? Time.now()
            let check = RetractionCheck(engine: context.engine, state: state, snapshot: s, at: t)
            let found: [Retraction]
            do { found = try await check.all(in: context.store, snapshot: s.id) } catch {
                throw CLIError("cannot read the snapshot's members: \(error)")
            }
            for r in found {
                if json {
                    Output.stdout.line(GateJSON.retraction(r).serialized)
                } else {
                    Output.stdout.line("\(r.memberID)  \(r.reasons.codes.joined(separator: ","))  \(r.categories.map(\.code).joined(separator: ","))")
                }
            }
            Output.stdout.flush()
            if !json {
                Output.stderr.line("\(found.count) of \(s.memberCount) members to retract from \(s.id) as of \(Time.formatRFC3339(t))")
                Output.stderr.flush()
            }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The snapshots that used a member's data, with counts per category.")

        @Argument(help: "Member id.") var member: String
        @Flag(help: "Print one JSON object per snapshot.") var json = false
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let store = try await globals.openStore()
            let uses: [SnapshotUse]
            do { uses = try await store.snapshotUses(member: member) } catch { throw CLIError("cannot read the snapshot registry: \(error)") }
            for u in uses {
                if json {
                    Output.stdout.line(GateJSON.use(u).serialized)
                } else {
                    let counts = u.counts.map { "\($0.category.code)=\($0.count)" }.joined(separator: " ")
                    Output.stdout.line("\(u.snapshot.id)  \(u.snapshot.purpose)  as of \(Time.formatRFC3339(u.snapshot.asOf))  \(counts)")
                }
            }
            Output.stdout.flush()
        }
    }
}
