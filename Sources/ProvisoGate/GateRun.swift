public import ProvisoCore
public import ProvisoStore
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `proviso gate run` was asked to do.
public struct GateRequest: Sendable {
    public var purpose: Purpose
    public var at: Micros
    /// When the run happens (recorded as the snapshot's creation time).
    public var now: Micros
    public var name: String?
    /// A file path, or `-` for standard input.
    public var input: String
    public var outDir: String
    public var explain: String?
    public var strict: Bool
    public var progress: Bool
    /// The input's digest, when it is being taken alongside (start it before loading the state).
    public var digest: InputDigest?

    public init(purpose: Purpose, at: Micros, now: Micros, name: String? = nil, input: String, outDir: String,
                explain: String? = nil, strict: Bool = false, progress: Bool = false, digest: InputDigest? = nil) {
        self.purpose = purpose
        self.at = at
        self.now = now
        self.name = name
        self.input = input
        self.outDir = outDir
        self.explain = explain
        self.strict = strict
        self.progress = progress
        self.digest = digest
    }
}

/// Why a run produced no snapshot. Nothing is left behind in any of these cases.
public enum GateRunError: Error, Sendable, CustomStringConvertible {
    /// The request cannot be carried out as given (output exists, input missing, …).
    case usage(String)
    case io(GateIOError)
    /// `--strict` met a line it would exclude.
    case strict(StrictStop)

    public var description: String {
        switch self {
        case let .usage(m): m
        case let .io(e): e.description
        case let .strict(s): "strict: \(s.description); nothing was written or registered"
        }
    }
}

/// A finished pass waiting to be registered: its files sit in a staging directory next to
/// the output directory, so that nothing is visible under the requested name until the
/// registry has it. Register, then `publish()`; on any failure, `discard()`.
public struct PreparedSnapshot: Sendable {
    public let snapshot: Snapshot
    /// The member set, laid out for the registry.
    public let members: SnapshotMemberSet
    public let tally: GateTally
    /// Wall time of the streaming pass alone (read, decide, write, hash), for throughput reports.
    public let passSeconds: Double
    /// Seconds spent before and after the pass: member verdicts, then the member set files.
    public let setupSeconds: Double
    public let memberSetSeconds: Double
    public let inputBytes: Int
    let staging: String
    let outDir: String
    let explainStaging: String?
    let explain: String?
    /// Held until the files are published or discarded (see `StagingLock`).
    let lock: StagingLock

    /// Moves the files under their requested names, durably, and lets the staging lock go.
    public func publish() throws(GateIOError) {
        try FS.rename(staging, outDir)
        FS.syncDirectory(FS.parent(of: outDir))
        if let explainStaging, let explain {
            try FS.rename(explainStaging, explain)
            FS.syncDirectory(FS.parent(of: explain))
        }
        lock.release()
    }

    /// Removes the staged files and lets the staging lock go.
    public func discard() {
        FS.removeTree(staging)
        if let explainStaging { unlink(explainStaging) }
        lock.release()
    }
}

/// Runs the gate: checks the request, streams the input through a `GateFilter` into a staging
/// directory, writes `members.csv` and `manifest.json`, and returns the snapshot to register.
public enum GateRunner {
    /// The manifest's format name; bump it when a field changes meaning.
    public static let manifestFormat = "proviso-snapshot/1"

    public static func prepare(_ req: GateRequest, engine: DecisionEngine, state: ConsentState) throws(GateRunError) -> PreparedSnapshot {
        if FS.exists(req.outDir) {
            guard FS.isDirectory(req.outDir), FS.entries(req.outDir).isEmpty else {
                throw .usage("\(req.outDir) already exists and is not an empty directory; snapshots are never overwritten, choose a new --out")
            }
        }
        guard FS.isDirectory(FS.parent(of: req.outDir)) else {
            throw .usage("the parent directory of \(req.outDir) does not exist")
        }
        if let e = req.explain, FS.exists(e) { throw .usage("\(e) already exists; --explain writes a new file") }
        let input: Int32
        if req.input == "-" {
            input = 0
        } else {
            input = open(req.input, O_RDONLY | O_CLOEXEC)
            guard input >= 0 else { throw .usage("cannot open \(req.input): \(String(cString: strerror(errno)))") }
        }
        defer { if input != 0 { close(input) } }
        var st = stat()
        let size: Int? = fstat(input, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? Int(st.st_size) : nil

        let id = snapshotID(now: req.now)
        let staging = GateStaging.directory(outDir: req.outDir, id: id)
        let explainStaging = req.explain.map { "\($0).partial-\(id)" }
        let lock: StagingLock
        do {
            lock = try StagingLock.acquire(staging: staging, explainStaging: explainStaging)
        } catch {
            throw .io(error)
        }
        do {
            try FS.makeDirectory(staging)
        } catch {
            lock.release()
            throw .io(error)
        }
        let setupStarted = GateProgress.now()
        var filter = GateFilter(engine: engine, state: state, purpose: req.purpose, at: req.at)
        let started = GateProgress.now()
        var summary: StreamSummary
        do throws(GateStreamError) {
            let stream = GateStream(progress: req.progress ? GateProgress.forTerminal(total: size) : nil)
            summary = try stream.run(input: input, mapped: req.digest?.mapped, filter: &filter, records: staging + "/records.jsonl",
                                     explain: explainStaging, strict: req.strict, hashInput: req.digest == nil)
            if let digest = req.digest {
                do {
                    summary.inputSHA256 = try digest.matches(afterPassOf: input, bytes: summary.inputBytes)
                } catch {
                    throw GateStreamError.io(error)
                }
            }
        } catch {
            FS.removeTree(staging)
            if let explainStaging { unlink(explainStaging) }
            lock.release()
            switch error {
            case let .io(e): throw .io(e)
            case let .strict(s): throw .strict(s)
            }
        }
        let passSeconds = GateProgress.now() - started
        do throws(GateIOError) {
            let included = filter.includedMembers()
            // Three jobs from the index's bytes: two threads lay out the registry's pages, one
            // half of the members each, while this one writes members.csv.
            let halves = [0..<included.count / 2, included.count / 2..<included.count]
            let parts = halves.map { _ in Handoff<Result<SnapshotMemberSet.Builder, StoreError>?>(nil) }
            let listing = DispatchGroup()
            let shared = UnsafeSendable((filter, included))
            for (half, part) in zip(halves, parts) {
                Workers.start("gate.member-set", group: listing) { [state] in
                    let (filter, included) = shared.value
                    var set = SnapshotMemberSet.Builder(count: half.count, ofTotal: included.count)
                    var failure: StoreError?
                    for m in included[half] where failure == nil {
                        state.index.withID(at: m) { id in
                            do throws(StoreError) {
                                try set.append(id: id) { filter.appendCounts(member: m, to: &$0) }
                            } catch {
                                failure = error
                            }
                        }
                    }
                    part.value = failure.map { .failure($0) } ?? .success(set)
                }
            }
            defer { listing.wait() }
            let membersFile = try FileSink(path: staging + "/members.csv")
            try membersFile.append("member_id,records\n")
            var line: [UInt8] = []
            for m in included {
                line.removeAll(keepingCapacity: true)
                state.index.withID(at: m) { CSV.appendField($0, to: &line) }
                line.append(0x2C)
                DecimalText.append(filter.recordCount(member: m), to: &line)
                line.append(0x0A)
                try membersFile.append(bytes: line)
            }
            let membersSHA = try membersFile.finish()
            listing.wait()
            let members: SnapshotMemberSet
            do throws(StoreError) {
                var built: [SnapshotMemberSet.Builder] = []
                for part in parts { built.append(try part.value!.get()) }
                members = try SnapshotMemberSet.Builder.joined(built)
            } catch {
                throw GateIOError(message: "cannot lay out the member set: \(error)")
            }
            let manifest = manifestJSON(id: id, req: req, filter: filter, summary: summary, memberCount: members.count,
                                        membersSHA: membersSHA)
            let manifestFile = try FileSink(path: staging + "/manifest.json")
            try manifestFile.append(manifest + "\n")
            _ = try manifestFile.finish()
            FS.syncDirectory(staging)
            let t = filter.tally
            let snapshot = Snapshot(id: id, name: req.name, purpose: req.purpose.code, asOf: req.at, createdAt: req.now,
                                    policyVersion: filter.policy.version, ledgerSeq: state.ledgerSeq,
                                    inputSHA256: summary.inputSHA256, outputSHA256: summary.outputSHA256,
                                    read: t.read, eligible: t.eligible, excluded: t.excluded, malformed: t.malformed,
                                    memberCount: members.count, manifest: manifest)
            return PreparedSnapshot(snapshot: snapshot, members: members, tally: t, passSeconds: passSeconds,
                                    setupSeconds: started - setupStarted, memberSetSeconds: GateProgress.now() - started - passSeconds,
                                    inputBytes: summary.inputBytes, staging: staging, outDir: req.outDir,
                                    explainStaging: explainStaging, explain: req.explain, lock: lock)
        } catch {
            FS.removeTree(staging)
            if let explainStaging { unlink(explainStaging) }
            lock.release()
            throw .io(error)
        }
    }

    /// `snap-<UTC time>-<8 random hex>`: sortable by creation, unique without coordination.
    static func snapshotID(now: Micros) -> String {
        let stamp = Time.formatRFC3339(now).filter { $0.isNumber || $0 == "T" }.prefix(15)
        var rng = SystemRandomNumberGenerator()
        let random = LedgerHash.hex(withUnsafeBytes(of: rng.next() as UInt32) { Array($0) })
        return "snap-\(stamp)Z-\(random)"
    }


    static func manifestJSON(id: String, req: GateRequest, filter: GateFilter, summary: StreamSummary, memberCount: Int,
                             membersSHA: String) -> String {
        let t = filter.tally
        func map(_ codes: [String], _ values: [Int], skip: Set<String> = []) -> JSON {
            .object(zip(codes, values).filter { !skip.contains($0.0) }.map { ($0.0, .number(String($0.1))) })
        }
        let allowCodes: Set<String> = [Reason.memberChoice.code, Reason.defaultOn.code]
        let fields: [(key: String, value: JSON)] = [
            ("format", .string(manifestFormat)),
            ("snapshot_id", .string(id)),
            ("name", req.name.map(JSON.string) ?? .null),
            ("purpose", .string(req.purpose.code)),
            ("as_of", .string(Time.formatRFC3339(req.at))),
            ("created_at", .string(Time.formatRFC3339(req.now))),
            ("policy_version", .string(filter.policy.version)),
            ("ledger_seq", .number(String(filter.state.ledgerSeq))),
            ("input", .string(req.input)),
            ("input_sha256", .string(summary.inputSHA256)),
            ("input_bytes", .number(String(summary.inputBytes))),
            ("output_file", .string("records.jsonl")),
            ("output_sha256", .string(summary.outputSHA256)),
            ("output_bytes", .number(String(summary.outputBytes))),
            ("members_file", .string("members.csv")),
            ("members_sha256", .string(membersSHA)),
            ("members_count", .number(String(memberCount))),
            ("counts", .object([
                ("read", .number(String(t.read))),
                ("eligible", .number(String(t.eligible))),
                ("excluded", .number(String(t.excluded))),
                ("malformed", .number(String(t.malformed))),
            ])),
            ("excluded_by_reason", map(GateTally.reasonCodes, t.byReason, skip: allowCodes)),
            ("excluded_by_primary_reason", map(GateTally.reasonCodes, t.byPrimaryReason, skip: allowCodes)),
            ("excluded_by_region_group", map(GateTally.regionCodes, t.excludedByRegion)),
            ("excluded_by_category", map(GateTally.categoryCodes, t.excludedByCategory)),
            ("eligible_by_region_group", map(GateTally.regionCodes, t.eligibleByRegion)),
            ("eligible_by_category", map(GateTally.categoryCodes, t.eligibleByCategory)),
        ]
        return JSON.object(fields).pretty
    }
}

/// CSV for the member lists the gate and `proviso eligible` write.
public enum CSV {
    /// A field, quoted per RFC 4180 only when it holds a comma, a quote or a line break.
    public static func field(_ s: String) -> String {
        var out: [UInt8] = []
        var s = s
        s.withUTF8 { appendField(UnsafeRawBufferPointer($0), to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The same, appended as bytes.
    public static func appendField(_ b: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        guard b.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else {
            out.append(contentsOf: b)
            return
        }
        out.append(0x22)
        for c in b {
            if c == 0x22 { out.append(0x22) }
            out.append(c)
        }
        out.append(0x22)
    }
}


