import Benchmark
import ProvisoCore

/// A synthetic population built in code: 100k members, 10% with a history.
func syntheticState() -> ConsentState {
    var s = ConsentState(capacity: 100_000)
    let countries = ["US", "DE", "FR", "GB", "CA", "CH", "HK", "IN", "BR", "JP"]
    for k in 0..<100_000 {
        s.upsert(Member(id: "m\(k)", country: countries[k % countries.count], birthDay: 3000 + (k * 37) % 12_000,
                        suspectedMinor: k % 97 == 0, closedAt: k % 101 == 0 ? Time.micros(dayNumber: 20_000) : nil))
    }
    var seq: Int64 = 0
    for k in stride(from: 0, to: 100_000, by: 10) {
        for e in 0..<3 {
            seq += 1
            s.apply(Choice(effectiveAt: Time.micros(dayNumber: 19_800 + e * 30 + k % 20), seq: seq,
                           setting: SettingID(rawValue: UInt8((k + e) % 5))!, on: (k + e) % 3 == 0, channel: .web), member: Int32(k))
        }
    }
    s.ledgerSeq = seq
    return s
}

let benchmarks: @Sendable () -> Void = {
    let state = syntheticState()
    let engine = DecisionEngine(policy: .seed)
    let t = Time.micros(dayNumber: 20_600)
    var queries: [DecisionQuery] = []
    for k in 0..<4096 {
        let member = Int32((k &* 7919) % 100_000)
        let visibility: Visibility? = k % 3 == 0 ? .public : nil
        queries.append(DecisionQuery(member: member, purpose: Purpose(rawValue: UInt8(k % 5)), category: Category(rawValue: UInt8(k % 9)),
                                     at: t, visibility: visibility, gpc: k % 10 == 0))
    }

    Benchmark("decide (100k members, 10% with history)",
              configuration: .init(metrics: [.throughput, .wallClock, .mallocCountTotal, .instructions], scalingFactor: .kilo)) { benchmark in
        for i in benchmark.scaledIterations {
            blackHole(engine.decide(queries[i & 4095], in: state))
        }
    }

    Benchmark("member lookup by id bytes",
              configuration: .init(metrics: [.throughput, .mallocCountTotal], scalingFactor: .kilo)) { benchmark in
        let ids = (0..<4096).map { Array("m\(($0 &* 7919) % 100_000)".utf8) }
        for i in benchmark.scaledIterations {
            ids[i & 4095].withUnsafeBytes { blackHole(state.index.find($0)) }
        }
    }
}
