import Testing
import ProvisoCore
@testable import ProvisoServer

@Suite struct BatchScannerTests {
    func scan(_ body: String) -> (Bool, [DecisionQuery]) {
        var state = ConsentState()
        state.upsert(Member(id: "eu", country: "DE", birthDay: 5000))
        var queries: [DecisionQuery] = []
        var bytes = Array(body.utf8)
        let ok = bytes.withUnsafeMutableBytes { raw in
            var s = BatchScanner(UnsafeRawBufferPointer(raw))
            return s.scan(state: state, now: 42) { queries.append($0) }
        }
        return (ok, queries)
    }

    @Test func theStrictCommonFormIsScannedInOnePass() {
        let (ok, q) = scan(DecisionAPITests.batchBodies[1])
        #expect(ok && q.count == 4)
        #expect(q[0].visibility == .public && q[0].createdAt == nil && q[0].gpc == false && q[0].at == Time.parseRFC3339("2025-01-01T00:00:00Z"))
        #expect(q[1].sensitive && q[1].category == .comment && q[1].at == 42)
        #expect(q[2].member == -1 && q[2].purpose == nil && q[2].category == nil)
        let empty = scan(DecisionAPITests.batchBodies[3])
        #expect(empty.0 && empty.1.isEmpty)
        let known = scan(#"{"requests":[{"member":"eu","purpose":"ads-offsite","category":"profile"}]}"#)
        #expect(known.0 && known.1.first?.member == 0 && known.1.first?.purpose == .adsOffsite)
    }

    @Test(arguments: [
        #"{"requests":[{"member":"\u0065u","purpose":"genai-training","category":"profile"}]}"#,
        #"{"requests":[{"member":"eu","purpose":"genai-training","category":"profile","extra":1}]}"#,
        #"{"requests":[{"member":"eu","member":"us","purpose":"genai-training","category":"profile"}]}"#,
        #"{"requests":[{"member":"eu","purpose":"genai-training"}]}"#,
        #"{"requests":[{"member":7,"purpose":"genai-training","category":"profile"}]}"#,
        #"{"requests":[{"member":"eu","purpose":"genai-training","category":"profile","visibility":"friends"}]}"#,
        #"{"requests":[{"member":"eu","purpose":"genai-training","category":"profile","at":"soon"}]}"#,
        #"{"requests":[],"more":1}"#,
        #"{"requests":[{}]}"#,
        #"{"requests":[{"member":"eu","purpose":"genai-training","category":"profile"}]} x"#,
    ])
    func anythingUnusualFallsBackToTheGenericPath(_ body: String) {
        #expect(scan(body).0 == false)
    }
}
