import Hummingbird
import HTTPTypes
import NIOCore
import ProvisoCore
import ProvisoStore

/// Machine-readable AI-usage reservations for members' public content: the IETF AIPREF
/// `Content-Usage` field (vocabulary and attachment drafts; a structured-field dictionary,
/// `train-ai=n`) and W3C TDMRep (`tdm-reservation: 1`, the `<meta>` of the same name,
/// `/.well-known/tdmrep.json`), plus `Content-Usage` rules in `/robots.txt`. All of them are
/// computed from the same decision on every request, so they agree, and a change of the
/// switch shows on the next request.
enum AIUsageSignals {
    static let contentUsage = HTTPField.Name("Content-Usage")!
    static let tdmReservation = HTTPField.Name("tdm-reservation")!

    /// The header fields for a reserved member's public page.
    static let reservedHeaders: HTTPFields = [contentUsage: "train-ai=n", tdmReservation: "1"]

    /// Members whose public pages are reserved, as (handle) in handle order.
    static func reservedHandles(_ service: ConsentService, now: Micros) async throws -> [String] {
        try await service.store.handles().filter { service.reservesAITraining(member: $0.id, now: now) }.map(\.handle)
    }

    static func robots(_ handles: [String]) -> String {
        var out = """
            # \(Self.comment)
            User-Agent: *
            Allow: /in/
            Disallow: /settings
            Disallow: /history
            Disallow: /receipts
            Disallow: /data-use
            Disallow: /login
            Disallow: /v1/

            """
        for h in handles { out += "Content-Usage: /in/\(h) train-ai=n\n" }
        return out
    }

    static let comment = "Members' AI-usage preferences (IETF AIPREF Content-Usage); each /in/ page also carries them in its headers."

    static func tdmrep(_ handles: [String]) -> String {
        JSON.array(handles.map { .object([("location", .string("/in/\($0)")), ("tdm-reservation", .number("1"))]) }).serialized
    }
}
