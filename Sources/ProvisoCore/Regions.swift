/// Region groups are what policies speak of; members carry an ISO 3166-1 alpha-2 country.
public enum RegionGroup: UInt8, CaseIterable, Sendable, Hashable, Comparable {
    case eea, gb, ch, ca, hk, us, row

    /// The wire code used in policy files and reports (`EEA`, `GB`, …, `ROW`).
    public var code: String {
        switch self {
        case .eea: "EEA"
        case .gb: "GB"
        case .ch: "CH"
        case .ca: "CA"
        case .hk: "HK"
        case .us: "US"
        case .row: "ROW"
        }
    }

    /// Parses a wire code; `nil` for anything else.
    public init?(code: String) {
        guard let found = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = found
    }

    /// The region group of an ISO country code, `nil` when the code is not ISO 3166-1 alpha-2.
    public init?(country: String) {
        guard let group = Countries.group[country] else { return nil }
        self = group
    }

    /// The same, from a code's two ASCII bytes (a store's raw row), without making a `String`.
    public init?(countryCode b: UnsafeRawBufferPointer) {
        guard b.count == 2, b[0] >= 0x41, b[0] <= 0x5A, b[1] >= 0x41, b[1] <= 0x5A else { return nil }
        let raw = Countries.groupByCode[Int(b[0] - 0x41) * 26 + Int(b[1] - 0x41)]
        guard let group = RegionGroup(rawValue: raw) else { return nil }
        self = group
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// The full ISO 3166-1 alpha-2 table. Unknown codes are refused at import rather than
/// silently falling into `ROW`, because a typo there would apply the wrong law.
public enum Countries {
    /// The 27 EU member states and IS, LI, NO, plus the EU territories that have their own
    /// ISO code but where EU law applies (Åland and the French outermost regions).
    public static let eea: Set<String> = [
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
        "IS", "LI", "NO",
        "AX", "GF", "GP", "MQ", "RE", "YT", "MF",
    ]

    /// Every assigned ISO 3166-1 alpha-2 code (249).
    public static let all: [String] = """
        AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO \
        BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ \
        DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP \
        GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG \
        KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML \
        MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE \
        PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL \
        SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM \
        US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
        """.split(separator: " ").map(String.init)

    /// Country code → region group.
    /// `group` as a 26×26 table of raw values indexed by the code's letters (0xFF: no such code).
    static let groupByCode: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 26 * 26)
        for (code, g) in group {
            let u = Array(code.utf8)
            table[Int(u[0] - 0x41) * 26 + Int(u[1] - 0x41)] = g.rawValue
        }
        return table
    }()

    public static let group: [String: RegionGroup] = {
        var table: [String: RegionGroup] = [:]
        for code in all {
            switch code {
            case _ where eea.contains(code): table[code] = .eea
            case "GB": table[code] = .gb
            case "CH": table[code] = .ch
            case "CA": table[code] = .ca
            case "HK": table[code] = .hk
            case "US": table[code] = .us
            default: table[code] = .row
            }
        }
        return table
    }()

    /// Why a code was refused, with a hint for the common near-misses.
    public static func problem(with code: String) -> String {
        switch code.uppercased() {
        case "UK": return "unknown country code \"\(code)\": the United Kingdom is GB in ISO 3166-1"
        case "EL": return "unknown country code \"\(code)\": Greece is GR in ISO 3166-1"
        case "EU": return "unknown country code \"\(code)\": give the member's country, not the union"
        default: return "unknown country code \"\(code)\": expected ISO 3166-1 alpha-2, e.g. DE, US"
        }
    }
}
