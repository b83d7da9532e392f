import ProvisoCore

/// Parses a test time literal (RFC 3339 or a date), failing loudly on a typo.
func at(_ s: String) -> Micros {
    if let t = Time.parseRFC3339(s) { return t }
    if let d = Time.parseDate(s) { return Time.micros(dayNumber: d) }
    preconditionFailure("bad test time \(s)")
}

func day(_ s: String) -> Int { Time.parseDate(s)! }

/// Builds a projection from members and choices; seq follows the order given.
func makeState(_ members: [Member], _ choices: [(member: String, setting: SettingID, on: Bool, at: String, channel: Channel)] = []) -> ConsentState {
    var s = ConsentState()
    for m in members { s.upsert(m) }
    var seq: Int64 = 0
    for c in choices {
        seq += 1
        s.apply(Choice(effectiveAt: at(c.at), seq: seq, setting: c.setting, on: c.on, channel: c.channel), member: s.memberIndex(c.member))
    }
    s.ledgerSeq = seq
    return s
}

func adult(_ id: String, _ country: String) -> Member {
    Member(id: id, country: country, birthDay: day("1985-03-14"))
}

/// The seed policy text with `transform` applied, for validation tests.
func seedVariant(_ transform: (String) -> String) -> String { transform(Policy.seed.source) }
