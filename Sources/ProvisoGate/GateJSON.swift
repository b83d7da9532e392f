public import ProvisoCore
public import ProvisoStore

/// The JSON shapes of the registry, shared by the CLI's `--json` output and the HTTP API so
/// that both speak the same fields.
public enum GateJSON {
    /// A registered snapshot's summary (the full manifest is separate).
    public static func snapshot(_ s: Snapshot) -> JSON {
        .object([
            ("snapshot_id", .string(s.id)),
            ("name", s.name.map(JSON.string) ?? .null),
            ("purpose", .string(s.purpose)),
            ("as_of", .string(Time.formatRFC3339(s.asOf))),
            ("created_at", .string(Time.formatRFC3339(s.createdAt))),
            ("policy_version", .string(s.policyVersion)),
            ("ledger_seq", .number(String(s.ledgerSeq))),
            ("input_sha256", .string(s.inputSHA256)),
            ("output_sha256", .string(s.outputSHA256)),
            ("counts", .object([
                ("read", .number(String(s.read))),
                ("eligible", .number(String(s.eligible))),
                ("excluded", .number(String(s.excluded))),
                ("malformed", .number(String(s.malformed))),
            ])),
            ("members_count", .number(String(s.memberCount))),
        ])
    }

    public static func counts(_ c: [CategoryCount]) -> JSON {
        .object(c.map { ($0.category.code, .number(String($0.count))) })
    }

    public static func retraction(_ r: Retraction) -> JSON {
        .object([
            ("member_id", .string(r.memberID)),
            ("reasons", .array(r.reasons.codes.map(JSON.string))),
            ("categories", .array(r.categories.map { .string($0.code) })),
        ])
    }

    /// One line of a member's report: a snapshot that used their data, and how much of it.
    public static func use(_ u: SnapshotUse) -> JSON {
        .object([
            ("snapshot_id", .string(u.snapshot.id)),
            ("name", u.snapshot.name.map(JSON.string) ?? .null),
            ("purpose", .string(u.snapshot.purpose)),
            ("as_of", .string(Time.formatRFC3339(u.snapshot.asOf))),
            ("created_at", .string(Time.formatRFC3339(u.snapshot.createdAt))),
            ("policy_version", .string(u.snapshot.policyVersion)),
            ("records", .number(String(u.counts.reduce(0) { $0 + $1.count }))),
            ("counts", counts(u.counts)),
        ])
    }
}
