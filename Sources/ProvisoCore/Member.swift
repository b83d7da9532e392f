/// A member as the consent core needs them: where they live (which law applies), how old
/// they are, whether the account is closed; plus the display fields the pages show.
public struct Member: Sendable, Equatable {
    public var id: String
    /// ISO 3166-1 alpha-2, upper case.
    public var country: String
    /// Day number of the birth date.
    public var birthDay: Int
    public var suspectedMinor: Bool
    public var closedAt: Micros?
    public var handle: String?
    public var name: String?
    public var headline: String?

    public init(id: String, country: String, birthDay: Int, suspectedMinor: Bool = false, closedAt: Micros? = nil,
                handle: String? = nil, name: String? = nil, headline: String? = nil) {
        self.id = id
        self.country = country
        self.birthDay = birthDay
        self.suspectedMinor = suspectedMinor
        self.closedAt = closedAt
        self.handle = handle
        self.name = name
        self.headline = headline
    }

    /// The region group whose rules apply; countries are validated at the edge, and an
    /// unknown one would fall into `ROW` only if validation had been bypassed.
    public var region: RegionGroup { RegionGroup(country: country) ?? .row }

    /// Day number of the 18th birthday.
    public var adultDay: Int { Time.anniversary(of: birthDay, years: 18) }

    /// Canonical JSON of the member, recorded in the ledger so state can be rebuilt from it.
    public var payload: String {
        var fields: [(key: String, value: JSON)] = [
            ("id", .string(id)), ("country", .string(country)),
            ("birth_date", .string(Time.formatDate(dayNumber: birthDay))),
            ("suspected_minor", .bool(suspectedMinor)),
        ]
        if let closedAt { fields.append(("closed_at", .string(Time.formatRFC3339(closedAt)))) }
        if let handle { fields.append(("handle", .string(handle))) }
        if let name { fields.append(("name", .string(name))) }
        if let headline { fields.append(("headline", .string(headline))) }
        return JSON.object(fields).serialized
    }

    /// Fields a member import line may carry.
    public static let importFields: Set<String> = ["id", "country", "birth_date", "suspected_minor", "closed_at", "handle", "name", "headline"]

    /// Reads one member from an import line; the error says what is wrong in member terms.
    /// `now` bounds birth dates: nobody is born in the future.
    public static func from(json: JSON, now: Micros) throws(InputError) -> Member {
        guard case let .object(fields) = json else { throw InputError("expected a JSON object, got \(json.kindName)") }
        var problems: [String] = []
        for f in fields where !importFields.contains(f.key) {
            problems.append("unknown field \"\(f.key)\"")
        }
        var id = ""
        switch json["id"] {
        case let .string(s)? where !s.isEmpty && s.utf8.count <= 256 && s.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }): id = s
        case .string?: problems.append("id must be 1–256 bytes without control characters")
        case nil: problems.append("id is required")
        case let v?: problems.append("id must be a string, not \(v.kindName)")
        }
        var country = ""
        switch json["country"] {
        case let .string(s)?:
            if RegionGroup(country: s) != nil { country = s } else { problems.append(Countries.problem(with: s)) }
        case nil: problems.append("country is required")
        case let v?: problems.append("country must be a string, not \(v.kindName)")
        }
        var birthDay = 0
        switch json["birth_date"] {
        case let .string(s)?:
            if let d = Time.parseDate(s) {
                if Time.micros(dayNumber: d) > now { problems.append("birth_date \(s) is in the future") } else { birthDay = d }
            } else {
                problems.append("birth_date \"\(s)\" is not a date (expected YYYY-MM-DD)")
            }
        case nil: problems.append("birth_date is required")
        case let v?: problems.append("birth_date must be a string, not \(v.kindName)")
        }
        var suspected = false
        switch json["suspected_minor"] {
        case let .bool(b)?: suspected = b
        case nil, .null?: break
        case let v?: problems.append("suspected_minor must be true or false, not \(v.kindName)")
        }
        var closedAt: Micros?
        switch json["closed_at"] {
        case let .string(s)?:
            if let t = Time.parseRFC3339(s) { closedAt = t } else { problems.append("closed_at \"\(s)\" is not an RFC 3339 time") }
        case nil, .null?: break
        case let v?: problems.append("closed_at must be a string, not \(v.kindName)")
        }
        func optionalString(_ key: String) -> String? {
            switch json[key] {
            case let .string(s)?: return s
            case nil, .null?: return nil
            case let v?: problems.append("\(key) must be a string, not \(v.kindName)"); return nil
            }
        }
        let handle = optionalString("handle")
        let name = optionalString("name")
        let headline = optionalString("headline")
        guard problems.isEmpty else { throw InputError(problems.joined(separator: "; ")) }
        return Member(id: id, country: country, birthDay: birthDay, suspectedMinor: suspected, closedAt: closedAt,
                      handle: handle, name: name, headline: headline)
    }
}

/// Bad input from a person or a file, with a message meant for them.
public struct InputError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
