public import ProvisoCore

// Generators shared by the property tests of several modules (the engine's and the gate's).

/// Builds a random policy file; it may include never-eligible categories, which validation
/// must then refuse.
public func randomPolicyText(_ rng: inout SplitMix64, allowForbidden: Bool) -> (text: String, hasForbidden: Bool) {
    var hasForbidden = false
    let settings = SettingID.allCases.map { s -> String in
        let dep = s == .adsShareAffiliates && rng.bool() ? #","depends_on":["ads-off-platform"]"# : ""
        return #"{"id":"\#(s.code)","label":"L","section":"S"\#(dep)}"#
    }
    let gates: [Purpose: SettingID] = [.genaiTraining: .genaiImprovement, .adsOffsite: .adsOffPlatform, .adsRetargeting: .adsDataFromOthers,
                                       .adsMeasurement: .adsMeasureSuccess, .affiliateSharing: .adsShareAffiliates]
    var purposes: [String] = []
    for p in Purpose.allCases where rng.int(0...4) > 0 {
        var cats = Category.allCases.filter { !$0.isNeverEligible && rng.bool() }
        if allowForbidden, rng.int(0...3) == 0 {
            cats.append(rng.pick(Category.allCases.filter(\.isNeverEligible)))
            hasForbidden = true
        }
        if cats.isEmpty { cats = [.profile] }
        var regions = RegionGroup.allCases.filter { _ in rng.int(0...3) > 0 }
        var rules: [String] = []
        while !regions.isEmpty {
            let take = rng.int(1...regions.count)
            let group = regions.prefix(take).map { #""\#($0.code)""# }.joined(separator: ",")
            regions.removeFirst(take)
            let on = rng.bool()
            let basis = on ? rng.pick(["opt-out", "legitimate-interest", "contract"]) : rng.pick(["consent", "opt-out"])
            let start = Time.formatDate(dayNumber: rng.int(Time.parseDate("2015-01-01")!...Time.parseDate("2027-01-01")!))
            let content = rng.int(0...3) == 0 ? #","content_from":"\#(Time.formatDate(dayNumber: rng.int(16000...20000)))""# : ""
            rules.append(#"{"regions":[\#(group)],"in_scope_from":"\#(start)","default":"\#(on ? "on" : "off")","legal_basis":"\#(basis)","gpc":\#(rng.bool())\#(content)}"#)
        }
        if rules.isEmpty { continue }
        purposes.append(#"{"id":"\#(p.code)","gated_by":"\#(gates[p]!.code)","categories":[\#(cats.map { #""\#($0.code)""# }.joined(separator: ","))],"public_only":\#(rng.bool()),"exclude_minors":\#(rng.bool()),"notice_period_days":\#(rng.int(0...60)),"rules":[\#(rules.joined(separator: ","))]}"#)
    }
    if purposes.isEmpty { purposes.append(#"{"id":"genai-training","gated_by":"genai-improvement","categories":["profile"],"notice_period_days":1,"rules":[{"regions":["US"],"in_scope_from":"2020-01-01","default":"on","legal_basis":"opt-out"}]}"#) }
    let text = #"{"format":"proviso-policy/1","version":"gen-\#(rng.next() % 1000)","settings":[\#(settings.joined(separator: ","))],"purposes":[\#(purposes.joined(separator: ","))]}"#
    return (text, hasForbidden)
}

/// A random member population with random histories.
public func randomState(_ rng: inout SplitMix64, members: Int, events: Int) -> (ConsentState, [(Int32, Choice)]) {
    var s = ConsentState()
    for k in 0..<members {
        let closed: Micros? = rng.int(0...5) == 0 ? Time.micros(dayNumber: rng.int(18000...21000)) : nil
        s.upsert(Member(id: "m\(k)", country: rng.pick(Countries.all), birthDay: rng.int(-5000...16000),
                        suspectedMinor: rng.int(0...9) == 0, closedAt: closed))
    }
    var all: [(Int32, Choice)] = []
    for seq in 1...max(1, events) {
        let m = Int32(rng.int(0...(members - 1)))
        let c = Choice(effectiveAt: Time.micros(dayNumber: rng.int(17000...21000)) + Int64(rng.int(0...86_399)) * 1_000_000,
                       seq: Int64(seq), setting: rng.pick(SettingID.allCases), on: rng.bool(), channel: rng.pick(Channel.allCases))
        s.apply(c, member: m)
        all.append((m, c))
    }
    s.ledgerSeq = Int64(all.count)
    return (s, all)
}

