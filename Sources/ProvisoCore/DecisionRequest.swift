/// A decision request as interfaces receive it (codes, not yet resolved). Shared by the
/// CLI's `decide --batch`, the HTTP API and anything else speaking the contract.
public struct DecisionRequest: Sendable, Equatable {
    public var member: String
    public var purpose: String
    public var category: String
    public var at: Micros?
    public var createdAt: Micros?
    public var visibility: Visibility?
    public var sensitive: Bool
    public var gpc: Bool

    public init(member: String, purpose: String, category: String, at: Micros? = nil, createdAt: Micros? = nil,
                visibility: Visibility? = nil, sensitive: Bool = false, gpc: Bool = false) {
        self.member = member
        self.purpose = purpose
        self.category = category
        self.at = at
        self.createdAt = createdAt
        self.visibility = visibility
        self.sensitive = sensitive
        self.gpc = gpc
    }

    static let fields: Set<String> = ["member", "purpose", "category", "at", "visibility", "sensitive", "created_at", "gpc"]

    /// Reads one JSON request. Unknown fields are refused: a misspelt `sensitive` silently
    /// ignored would let sensitive data through.
    public static func from(json: JSON) throws(InputError) -> DecisionRequest {
        guard case let .object(fields) = json else { throw InputError("expected a JSON object, got \(json.kindName)") }
        for f in fields where !Self.fields.contains(f.key) {
            throw InputError("unknown field \"\(f.key)\" (expected: \(Self.fields.sorted().joined(separator: ", ")))")
        }
        func requiredString(_ key: String) throws(InputError) -> String {
            switch json[key] {
            case let .string(s)?: return s
            case nil, .null?: throw InputError("\(key) is required")
            case let v?: throw InputError("\(key) must be a string, not \(v.kindName)")
            }
        }
        func time(_ key: String) throws(InputError) -> Micros? {
            switch json[key] {
            case let .string(s)?:
                guard let t = Time.parseRFC3339(s) else { throw InputError("\(key) \"\(s)\" is not an RFC 3339 time") }
                return t
            case nil, .null?: return nil
            case let v?: throw InputError("\(key) must be an RFC 3339 string, not \(v.kindName)")
            }
        }
        func flag(_ key: String) throws(InputError) -> Bool {
            switch json[key] {
            case let .bool(b)?: return b
            case nil, .null?: return false
            case let v?: throw InputError("\(key) must be true or false, not \(v.kindName)")
            }
        }
        var visibility: Visibility?
        switch json["visibility"] {
        case let .string(s)?:
            guard let v = Visibility(strictCode: s) else {
                throw InputError("visibility \"\(s)\" is not one of public, connections, private")
            }
            visibility = v
        case nil, .null?: break
        case let v?: throw InputError("visibility must be a string, not \(v.kindName)")
        }
        return DecisionRequest(member: try requiredString("member"), purpose: try requiredString("purpose"),
                               category: try requiredString("category"), at: try time("at"),
                               createdAt: try time("created_at"), visibility: visibility,
                               sensitive: try flag("sensitive"), gpc: try flag("gpc"))
    }

    /// The engine query for this request against a state; `now` fills a missing `at`.
    public func query(in state: ConsentState, now: Micros) -> DecisionQuery {
        DecisionQuery(member: state.memberIndex(member), purpose: Purpose(code: purpose), category: Category(code: category),
                      at: at ?? now, createdAt: createdAt, visibility: visibility, sensitive: sensitive, gpc: gpc)
    }
}

extension Decision {
    /// The contract's answer to a request that could not be read: deny, with the reason.
    public static func invalidRequestJSON(_ error: String) -> String {
        "{\"allowed\":false,\"reasons\":[\"invalid-request\"],\"error\":" + JSON.quoted(error) + "}"
    }
}
