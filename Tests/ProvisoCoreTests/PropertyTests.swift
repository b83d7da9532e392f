import Testing
import PropertyBased
import ProvisoCore
import ProvisoTestSupport

@Suite struct DecisionProperties {
    @Test func aNeverEligibleCategoryIsNeverAllowedUnderAnyPolicyMemberTimeOrHistory() async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...Int.max), Gen.int(in: 16000...21000)) { seed, dayNumber in
            var rng = SplitMix64(seed: UInt64(seed))
            let (text, hasForbidden) = randomPolicyText(&rng, allowForbidden: true)
            let policy: Policy
            do {
                policy = try Policy.parse(text)
            } catch let error as PolicyError {
                // Validation may refuse for other reasons, but must refuse a forbidden category.
                if hasForbidden { #expect(error.problems.contains { $0.message.contains("never eligible") }) }
                return
            } catch {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(!hasForbidden, "a policy making a never-eligible category usable was accepted")
            let engine = DecisionEngine(policy: policy)
            let (state, _) = randomState(&rng, members: 20, events: 60)
            let t = Time.micros(dayNumber: dayNumber)
            for m in Int32(0)..<20 {
                for p in Purpose.allCases {
                    for c in Category.allCases where c.isNeverEligible {
                        let d = engine.decide(DecisionQuery(member: m, purpose: p, category: c, at: t, createdAt: t,
                                                            visibility: .public, gpc: rng.bool()), in: state)
                        #expect(!d.allowed)
                        #expect(d.reasons.contains(.categoryNeverEligible))
                    }
                }
            }
        }
    }

    @Test func aDecisionAtTIgnoresEventsAfterT() async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...Int.max), Gen.int(in: 17000...21000)) { seed, dayNumber in
            var rng = SplitMix64(seed: UInt64(seed))
            let policy = (try? Policy.parse(randomPolicyText(&rng, allowForbidden: false).text)) ?? .seed
            let engine = DecisionEngine(policy: policy)
            let (full, events) = randomState(&rng, members: 8, events: 80)
            let t = Time.micros(dayNumber: dayNumber) + Int64(rng.int(0...86_399)) * 1_000_000
            // The same population with only the events effective at or before T.
            var truncated = ConsentState()
            for k in 0..<8 { truncated.upsert(memberCopy(full, Int32(k))) }
            for (m, c) in events where c.effectiveAt <= t { truncated.apply(c, member: m) }
            truncated.ledgerSeq = full.ledgerSeq
            for m in Int32(0)..<8 {
                for p in Purpose.allCases {
                    for c in [Category.profile, .post, .activity] {
                        let q = DecisionQuery(member: m, purpose: p, category: c, at: t, visibility: .public)
                        #expect(engine.decide(q, in: full) == engine.decide(q, in: truncated))
                    }
                }
            }
        }
    }
}

/// Rebuilds a member's attributes from a projection (for the truncation property).
func memberCopy(_ s: ConsentState, _ i: Int32) -> Member {
    let country = Countries.all.first { RegionGroup(country: $0) == s.region(of: i) }!
    let adultDay = Int(s.adultAt(i) / Time.microsPerDay)
    let (y, m, d) = Time.civil(dayNumber: adultDay)
    return Member(id: s.index.id(at: i), country: country, birthDay: Time.dayNumber(year: y - 18, month: m, day: d),
                  suspectedMinor: s.isSuspectedMinor(i), closedAt: s.closingTime(of: i))
}

@Suite struct LedgerProperties {
    static func chain(_ n: Int, seed: UInt64) -> [LedgerEvent] {
        var rng = SplitMix64(seed: seed)
        var prev = LedgerHash.genesis
        return (1...n).map { seq in
            let draft = rng.bool()
                ? EventDraft.choice(member: "m\(rng.int(0...9))", setting: rng.pick(SettingID.allCases), on: rng.bool(),
                                    at: Int64(rng.int(0...1_000_000)), channel: rng.pick(Channel.allCases), actor: "a", policyVersion: "p")
                : EventDraft(kind: .memberRegistered, memberID: "m\(seq)", actor: "cli", payload: #"{"id":"m\#(seq)"}"#)
            let e = LedgerEvent(sealing: draft, seq: Int64(seq), recordedAt: Int64(seq) * 1000, prevHash: prev)
            prev = e.hash
            return e
        }
    }

    static func verify(_ events: [LedgerEvent]) -> ChainVerifier {
        var v = ChainVerifier()
        for e in events where !v.feed(e) { break }
        return v
    }

    @Test func anIntactChainVerifies() {
        let v = Self.verify(Self.chain(50, seed: 1))
        #expect(v.failure == nil && v.checked == 50)
    }

    @Test func anySingleAlteredRowFailsVerificationAtThatRow() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max), Gen.int(in: 0...29), Gen.int(in: 0...9)) { seed, row, field in
            var events = Self.chain(30, seed: UInt64(seed))
            var e = events[row]
            switch field {
            case 0: e.recordedAt += 1
            case 1: e.draft.memberID = (e.draft.memberID ?? "") + "x"
            case 2: e.draft.value = !(e.draft.value ?? false)
            case 3: e.draft.effectiveAt = (e.draft.effectiveAt ?? 0) - 1
            case 4: e.draft.channel = e.draft.channel == .gpc ? .web : .gpc
            case 5: e.draft.actor += "!"
            case 6: e.draft.payload = (e.draft.payload ?? "") + " "
            case 7: e.draft.policyVersion = "other"
            case 8: e.hash[0] ^= 1
            default: e.draft.kind = e.draft.kind == .settingChanged ? .memberChanged : .settingChanged
            }
            events[row] = e
            let v = Self.verify(events)
            #expect(v.failure?.seq == Int64(row + 1), "altering field \(field) of row \(row + 1) must be caught there")
        }
    }

    @Test func aRemovedRowIsNamed() async {
        await propertyCheck(count: 100, input: Gen.int(in: 0...Int.max), Gen.int(in: 0...29)) { seed, row in
            var events = Self.chain(30, seed: UInt64(seed))
            events.remove(at: row)
            let v = Self.verify(events)
            if row == 29 {
                #expect(v.failure == nil, "truncating the tail is invisible to the chain alone (receipts anchor it)")
            } else {
                #expect(v.failure?.seq == Int64(row + 1))
            }
        }
    }

    @Test func reorderedRowsAreCaught() async {
        await propertyCheck(count: 100, input: Gen.int(in: 0...Int.max), Gen.int(in: 0...28)) { seed, row in
            var events = Self.chain(30, seed: UInt64(seed))
            // Swap the contents of two rows but keep the sequence column, as an UPDATE would.
            let a = events[row], b = events[row + 1]
            events[row] = LedgerEvent(seq: a.seq, recordedAt: b.recordedAt, draft: b.draft, prevHash: b.prevHash, hash: b.hash)
            events[row + 1] = LedgerEvent(seq: b.seq, recordedAt: a.recordedAt, draft: a.draft, prevHash: a.prevHash, hash: a.hash)
            #expect(Self.verify(events).failure?.seq == Int64(row + 1))
            // Or swap whole rows, sequence numbers included.
            var swapped = Self.chain(30, seed: UInt64(seed))
            swapped.swapAt(row, row + 1)
            #expect(Self.verify(swapped).failure?.seq == Int64(row + 1))
        }
    }
}

/// The hash format is stored in every ledger: these values were computed by the first
/// implementation, and agree with an independent implementation of the documented format
/// (length-prefixed fields, `~;` for absent ones) in Python's hashlib. They must never change;
/// a rewrite of `LedgerHash.compute` is held to them.
@Suite struct LedgerHashFormatTests {
    @Test func aChoiceHashesAsItAlwaysHas() {
        let d = EventDraft.choice(member: "m1", setting: .genaiImprovement, on: false, at: 1_767_225_599_000_000, channel: .web,
                                  actor: "member:m1", policyVersion: "seed-2025-11-03")
        let h = LedgerHash.compute(seq: 7, recordedAt: 1_767_225_600_000_000, draft: d, prevHash: [UInt8](repeating: 0x11, count: 32))
        #expect(LedgerHash.hex(h) == "d7518d8844b0e1471750af69cd03bdec96d3b5c80343818ace3ce8c0b0955435")
    }

    @Test func absentFieldsNegativeTimesAndUnicodeHashAsTheyAlwaysHave() {
        let d = EventDraft(kind: .memberRegistered, memberID: "ünï", actor: "cli", payload: #"{"id":"ünï","country":"DE"}"#)
        let h = LedgerHash.compute(seq: 1, recordedAt: -5, draft: d, prevHash: LedgerHash.genesis)
        #expect(LedgerHash.hex(h) == "129106988039105925718627b90f1ad59a4aa9195243413596b9c25daa256670")
        let e = EventDraft(kind: .settingChanged, memberID: "", setting: .adsOffPlatform, value: true, effectiveAt: -1_000_001, channel: .api,
                           actor: "", policyVersion: "", payload: "")
        #expect(LedgerHash.hex(LedgerHash.compute(seq: Int64.max, recordedAt: Int64.min, draft: e, prevHash: h)) == "48c103c2642303b7e4d94a606d26e76a2416baff9b2d06505f743f7000624e2f")
    }
}

@Suite struct MemberIndexTests {
    @Test func findsEveryInsertedIdAcrossGrowthAndNothingElse() {
        var index = MemberIndex(capacity: 4)
        for k in 0..<50_000 { #expect(index.insert("member-\(k)").index == Int32(k)) }
        #expect(index.count == 50_000)
        for k in stride(from: 0, to: 50_000, by: 97) { #expect(index.find("member-\(k)") == Int32(k)) }
        #expect(index.find("member-50000") == -1)
        #expect(index.find("") == -1)
        #expect(index.find("member-1 ") == -1)
        #expect(index.insert("member-7").inserted == false)
        #expect(index.id(at: 12_345) == "member-12345")
    }

    @Test func looksUpRawBytesWithoutAString() {
        var index = MemberIndex()
        index.insert("12345")
        index.insert("é-ü")
        let hit = Array("12345".utf8).withUnsafeBytes { index.find($0) }
        let miss = Array("1234".utf8).withUnsafeBytes { index.find($0) }
        #expect(hit == 0 && miss == -1)
        #expect(index.find("é-ü") == 1)
    }
}

@Suite struct MemberInputTests {
    let now = at("2026-11-29T00:00:00Z")

    @Test func aCompleteLineIsRead() throws {
        let m = try Member.from(json: JSON.parse(#"{"id":"m1","country":"DE","birth_date":"1990-01-01","suspected_minor":true,"closed_at":"2026-01-01T00:00:00Z","handle":"h","name":"N"}"#), now: now)
        #expect(m.region == .eea && m.suspectedMinor && m.closedAt == at("2026-01-01T00:00:00Z") && m.handle == "h")
    }

    @Test(arguments: [
        (#"{"country":"DE","birth_date":"1990-01-01"}"#, "id is required"),
        (#"{"id":7,"country":"DE","birth_date":"1990-01-01"}"#, "id must be a string"),
        (#"{"id":"a\nb","country":"DE","birth_date":"1990-01-01"}"#, "without control characters"),
        (#"{"id":"a","country":"XX","birth_date":"1990-01-01"}"#, "unknown country code"),
        (#"{"id":"a","country":"DE","birth_date":"1990-02-30"}"#, "not a date"),
        (#"{"id":"a","country":"DE","birth_date":"2030-01-01"}"#, "in the future"),
        (#"{"id":"a","country":"DE","birth_date":"1990-01-01","suspected_minor":"yes"}"#, "suspected_minor must be true or false"),
        (#"{"id":"a","country":"DE","birth_date":"1990-01-01","closed_at":"yesterday"}"#, "closed_at"),
        (#"{"id":"a","country":"DE","birth_date":"1990-01-01","birthday":"x"}"#, "unknown field"),
    ])
    func badLinesSayWhatIsWrong(_ line: String, _ message: String) throws {
        do {
            _ = try Member.from(json: JSON.parse(line), now: now)
            Issue.record("accepted \(line)")
        } catch let e as InputError {
            #expect(e.message.contains(message), "\(e.message)")
        }
    }
}

@Suite struct EffectiveSourceProperties {
    /// Reports count sources with `effective`, pages explain them with `status`: they must agree
    /// on the value and the kind of source for every member, setting, policy and time.
    @Test func theCheapEffectiveValueAgreesWithTheExplainedStatus() async {
        await propertyCheck(count: 150, input: Gen.int(in: 0...Int.max), Gen.int(in: 17000...21000)) { seed, dayNumber in
            var rng = SplitMix64(seed: UInt64(seed))
            let policy: Policy
            do { policy = try Policy.parse(randomPolicyText(&rng, allowForbidden: false).text) } catch {
                Issue.record("the generator made an invalid policy: \(error)")
                return
            }
            let engine = DecisionEngine(policy: policy)
            let (state, _) = randomState(&rng, members: 12, events: 60)
            let t = Time.micros(dayNumber: dayNumber)
            for m in Int32(0)..<12 {
                for s in policy.settings.map(\.id) {
                    let e = engine.effective(member: m, setting: s, at: t, in: state, policy: policy)
                    let st = engine.status(member: m, setting: s, at: t, in: state, policy: policy)
                    let expected: EffectiveSource = switch st.source {
                    case .memberChoice: st.on ? .memberChoiceOn : .memberChoiceOff
                    case .gpc: .gpc
                    case let .regionalDefault(on, _): on ? .defaultOn : .defaultOff
                    case .notInScope: .notInScope
                    case .dependency: .dependency
                    }
                    #expect(e.on == st.on && e.source == expected)
                    #expect(e.on == engine.isOn(member: m, setting: s, at: t, in: state, policy: policy))
                }
            }
        }
    }
}
