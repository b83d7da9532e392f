/// The stable identifiers of PRODUCT.md. Labels are configurable per platform (in the
/// policy file); these codes are not, because pipelines, receipts and ledgers outlive labels.

/// A member-facing on/off switch.
public enum SettingID: UInt8, CaseIterable, Sendable, Hashable, Comparable {
    case genaiImprovement, adsOffPlatform, adsDataFromOthers, adsMeasureSuccess, adsShareAffiliates

    /// The wire code, e.g. `genai-improvement`.
    public var code: String {
        switch self {
        case .genaiImprovement: "genai-improvement"
        case .adsOffPlatform: "ads-off-platform"
        case .adsDataFromOthers: "ads-data-from-others"
        case .adsMeasureSuccess: "ads-measure-success"
        case .adsShareAffiliates: "ads-share-affiliates"
        }
    }

    /// Parses a wire code; `nil` for anything not in the vocabulary.
    public init?(code: String) {
        guard let found = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = found
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// A use of member data that a decision is asked about.
public enum Purpose: UInt8, CaseIterable, Sendable, Hashable, Comparable {
    case genaiTraining, adsOffsite, adsRetargeting, adsMeasurement, affiliateSharing

    /// The wire code, e.g. `genai-training`.
    public var code: String {
        switch self {
        case .genaiTraining: "genai-training"
        case .adsOffsite: "ads-offsite"
        case .adsRetargeting: "ads-retargeting"
        case .adsMeasurement: "ads-measurement"
        case .affiliateSharing: "affiliate-sharing"
        }
    }

    /// The fideslang data-use key, for interop with other privacy tooling.
    public var fideslangKey: String {
        switch self {
        case .genaiTraining: "train_ai_system.generative"
        case .adsOffsite: "marketing.advertising.third_party.targeted"
        case .adsRetargeting: "marketing.advertising.first_party.targeted"
        case .adsMeasurement: "analytics.reporting.ad_performance"
        case .affiliateSharing: "third_party_sharing.affiliates"
        }
    }

    /// Parses a wire code; `nil` for anything not in the vocabulary.
    public init?(code: String) {
        guard let found = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = found
    }

    /// Parses a wire code from raw UTF-8 bytes without allocating.
    public init?(utf8 bytes: UnsafeRawBufferPointer) {
        for p in Self.allCases where p.code.utf8.elementsEqual(bytes) {
            self = p
            return
        }
        return nil
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// The kind of data a record holds.
public enum Category: UInt8, CaseIterable, Sendable, Hashable {
    case profile, post, comment, article, activity, aiPrompt, jobSeeker, group, feedback
    case message, loginSecurity, payment, salary, jobApplication

    /// The wire code, e.g. `job-seeker`.
    public var code: String {
        switch self {
        case .profile: "profile"
        case .post: "post"
        case .comment: "comment"
        case .article: "article"
        case .activity: "activity"
        case .aiPrompt: "ai-prompt"
        case .jobSeeker: "job-seeker"
        case .group: "group"
        case .feedback: "feedback"
        case .message: "message"
        case .loginSecurity: "login-security"
        case .payment: "payment"
        case .salary: "salary"
        case .jobApplication: "job-application"
        }
    }

    /// Categories no policy can ever make usable (PRODUCT.md): checked by the engine itself,
    /// not only by policy validation, so a hand-edited policy cannot leak them.
    public var isNeverEligible: Bool { rawValue >= Category.message.rawValue }

    /// Content whose audience matters: without an explicit visibility it is treated as not
    /// public (fail closed).
    public var requiresVisibility: Bool {
        switch self {
        case .post, .comment, .article, .group: true
        default: false
        }
    }

    /// Parses a wire code; `nil` for anything not in the vocabulary.
    public init?(code: String) {
        guard let found = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = found
    }

    /// Parses a wire code from raw UTF-8 bytes without allocating (the gate's hot path).
    public init?(utf8 bytes: UnsafeRawBufferPointer) {
        guard bytes.count <= 16 else { return nil }
        let key = Self.key(bytes)
        let found: Category? = Self.codeKeys.withUnsafeBufferPointer { codes in
            for k in 0..<codes.count where codes[k] == key { return Category(rawValue: UInt8(k)) }
            return nil
        }
        guard let found else { return nil }
        self = found
    }

    /// A code of at most 16 bytes as its length and two zero-padded words: the gate matches
    /// a category per line, and comparing three integers per candidate needs no reference
    /// counting or allocation (iterating arrays of byte arrays did both).
    struct CodeKey: Equatable {
        var count: Int
        var w0: UInt64
        var w1: UInt64
    }

    static func key(_ b: UnsafeRawBufferPointer) -> CodeKey {
        let (w0, w1) = prefixWords(b)
        return CodeKey(count: b.count, w0: w0, w1: w1)
    }

    static let codeKeys: [CodeKey] = allCases.map { c in
        let bytes = Array(c.code.utf8)
        precondition(bytes.count <= 16, "category codes are matched as at most 16 bytes")
        return bytes.withUnsafeBytes { key($0) }
    }
}

/// Who can see a piece of content. Anything other than the three known values is kept as
/// `.other` so that it is never mistaken for public.
public enum Visibility: UInt8, Sendable, Hashable {
    case `public`, connections, `private`, other

    /// Parses a wire value; unknown strings become `.other` (not public).
    public init(code: String) {
        switch code {
        case "public": self = .public
        case "connections": self = .connections
        case "private": self = .private
        default: self = .other
        }
    }

    /// Strict parse for interfaces that reject unknown values as bad input.
    public init?(strictCode code: String) {
        let v = Visibility(code: code)
        guard v != .other else { return nil }
        self = v
    }

    /// The wire value.
    public var code: String {
        switch self {
        case .public: "public"
        case .connections: "connections"
        case .private: "private"
        case .other: "other"
        }
    }
}

/// Through which channel a choice reached the ledger.
public enum Channel: UInt8, CaseIterable, Sendable, Hashable {
    case web, api, `import`, gpc

    /// The wire code.
    public var code: String {
        switch self {
        case .web: "web"
        case .api: "api"
        case .import: "import"
        case .gpc: "gpc"
        }
    }

    /// Parses a wire code; `nil` for anything else.
    public init?(code: String) {
        guard let found = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = found
    }
}
