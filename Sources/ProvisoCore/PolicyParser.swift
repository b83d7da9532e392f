extension Policy {
    /// The format tag every policy file carries, so a future format is never misread.
    public static let formatTag = "proviso-policy/1"

    /// Reads and validates a policy file. Every problem is reported, each naming its field,
    /// so an author fixes a file in one pass instead of one error at a time.
    public static func parse(_ text: String) throws(PolicyError) -> Policy {
        let root: JSON
        do {
            root = try JSON.parse(text)
        } catch {
            throw PolicyError(problems: [PolicyProblem(field: "(file)", message: error.description)])
        }
        var reader = PolicyReader()
        let policy = reader.read(root, source: text)
        guard reader.problems.isEmpty, let policy else { throw PolicyError(problems: reader.problems) }
        return policy
    }
}

/// Walks the JSON tree of a policy file, collecting problems with their field paths.
struct PolicyReader {
    var problems: [PolicyProblem] = []

    mutating func problem(_ field: String, _ message: String) {
        problems.append(PolicyProblem(field: field, message: message))
    }

    mutating func object(_ v: JSON?, _ path: String, allowed: Set<String>) -> [(key: String, value: JSON)]? {
        guard let v else { problem(path, "is required"); return nil }
        guard case let .object(fields) = v else { problem(path, "must be an object, not \(v.kindName)"); return nil }
        for f in fields where !allowed.contains(f.key) {
            problem(path.isEmpty ? f.key : "\(path).\(f.key)", "unknown field (expected one of: \(allowed.sorted().joined(separator: ", ")))")
        }
        return fields
    }

    mutating func string(_ v: JSON?, _ path: String, required: Bool = true) -> String? {
        guard let v, v != .null else {
            if required { problem(path, "is required") }
            return nil
        }
        guard case let .string(s) = v else { problem(path, "must be a string, not \(v.kindName)"); return nil }
        if required, s.isEmpty { problem(path, "must not be empty"); return nil }
        return s
    }

    mutating func bool(_ v: JSON?, _ path: String, default d: Bool) -> Bool {
        guard let v, v != .null else { return d }
        guard case let .bool(b) = v else { problem(path, "must be true or false, not \(v.kindName)"); return d }
        return b
    }

    mutating func array(_ v: JSON?, _ path: String, nonEmpty: Bool = true) -> [JSON]? {
        guard let v else { problem(path, "is required"); return nil }
        guard case let .array(items) = v else { problem(path, "must be an array, not \(v.kindName)"); return nil }
        if nonEmpty, items.isEmpty { problem(path, "must not be empty"); return nil }
        return items
    }

    /// A policy date: `YYYY-MM-DD`, meaning 00:00 UTC of that day.
    mutating func date(_ v: JSON?, _ path: String, required: Bool) -> Int? {
        guard let s = string(v, path, required: required) else { return nil }
        if let day = Time.parseDate(s) {
            let year = Time.civil(dayNumber: day).year
            guard (1970...9999).contains(year) else {
                problem(path, "\"\(s)\" is outside the years 1970–9999")
                return nil
            }
            return day
        }
        if s.count > 10, let day = Time.parseDate(String(s.prefix(10))) {
            problem(path, "dates in policies are UTC midnights: write \"\(Time.formatDate(dayNumber: day))\" instead of \"\(s)\"")
        } else {
            problem(path, "\"\(s)\" is not a real calendar date (expected YYYY-MM-DD)")
        }
        return nil
    }

    mutating func read(_ root: JSON, source: String) -> Policy? {
        let rootKeys: Set<String> = ["format", "version", "effective_from", "platform", "description", "settings", "purposes"]
        guard object(root, "(root)", allowed: rootKeys) != nil else { return nil }
        // Unknown root keys are reported without the "(root)." prefix.
        problems = problems.map { p in
            var p = p
            if p.field.hasPrefix("(root).") { p.field.removeFirst("(root).".count) }
            return p
        }
        if let format = string(root["format"], "format"), format != Policy.formatTag {
            problem("format", "\"\(format)\" is not supported (expected \"\(Policy.formatTag)\")")
        }
        let version = string(root["version"], "version")
        if let version {
            let ok = version.count <= 64 && version.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._:+-".unicodeScalars.contains($0)
            }
            if !ok { problem("version", "\"\(version)\" must be at most 64 letters, digits or . _ : + -") }
        }
        let effectiveFrom = date(root["effective_from"], "effective_from", required: false)
        let platform = string(root["platform"], "platform", required: false)
        let description = string(root["description"], "description", required: false)
        let settings = readSettings(root["settings"])
        let purposes = readPurposes(root["purposes"], settings: settings)
        guard problems.isEmpty, let version else { return nil }
        return Policy(version: version, effectiveFrom: effectiveFrom, platform: platform, description: description,
                      settings: settings, purposes: purposes, source: source)
    }

    mutating func readSettings(_ v: JSON?) -> [SettingDefinition] {
        guard let items = array(v, "settings") else { return [] }
        var out: [SettingDefinition] = []
        var rawDeps: [(index: Int, path: String, deps: [JSON])] = []
        for (i, item) in items.enumerated() {
            let path = "settings[\(i)]"
            guard object(item, path, allowed: ["id", "label", "switch_label", "section", "description", "depends_on"]) != nil else { continue }
            guard let code = string(item["id"], "\(path).id") else { continue }
            guard let id = SettingID(code: code) else {
                problem("\(path).id", "unknown setting \"\(code)\" (known: \(SettingID.allCases.map(\.code).joined(separator: ", ")))")
                continue
            }
            if out.contains(where: { $0.id == id }) { problem("\(path).id", "setting \"\(code)\" is defined twice"); continue }
            let label = string(item["label"], "\(path).label") ?? code
            let section = string(item["section"], "\(path).section") ?? ""
            let switchLabel = string(item["switch_label"], "\(path).switch_label", required: false)
            let description = string(item["description"], "\(path).description", required: false)
            if let depsValue = item["depends_on"], let deps = array(depsValue, "\(path).depends_on", nonEmpty: false) {
                rawDeps.append((out.count, path, deps))
            }
            out.append(SettingDefinition(id: id, label: label, switchLabel: switchLabel, section: section,
                                         description: description, dependsOn: []))
        }
        for (index, path, deps) in rawDeps {
            var resolved: [SettingID] = []
            for (k, d) in deps.enumerated() {
                let dpath = "\(path).depends_on[\(k)]"
                guard let code = string(d, dpath) else { continue }
                guard let dep = SettingID(code: code) else { problem(dpath, "unknown setting \"\(code)\""); continue }
                if dep == out[index].id { problem(dpath, "a setting cannot depend on itself"); continue }
                if !out.contains(where: { $0.id == dep }) { problem(dpath, "setting \"\(code)\" is not defined in this policy"); continue }
                if resolved.contains(dep) { problem(dpath, "\"\(code)\" is listed twice"); continue }
                resolved.append(dep)
            }
            out[index].dependsOn = resolved
        }
        // Dependencies must not form a cycle: a cycle would make both switches off forever.
        for (i, s) in out.enumerated() {
            var seen: Set<SettingID> = []
            var frontier = s.dependsOn
            while let next = frontier.popLast() {
                if next == s.id {
                    problem("settings[\(i)].depends_on", "dependency cycle through \"\(s.id.code)\"")
                    break
                }
                if seen.insert(next).inserted { frontier += out.first { $0.id == next }?.dependsOn ?? [] }
            }
        }
        return out
    }

    mutating func readPurposes(_ v: JSON?, settings: [SettingDefinition]) -> [PurposeDefinition] {
        guard let items = array(v, "purposes") else { return [] }
        var out: [PurposeDefinition] = []
        let allowed: Set<String> = ["id", "gated_by", "categories", "public_only", "exclude_minors", "notice_period_days", "rules", "description"]
        for (i, item) in items.enumerated() {
            let path = "purposes[\(i)]"
            guard object(item, path, allowed: allowed) != nil else { continue }
            guard let code = string(item["id"], "\(path).id") else { continue }
            guard let id = Purpose(code: code) else {
                problem("\(path).id", "unknown purpose \"\(code)\" (known: \(Purpose.allCases.map(\.code).joined(separator: ", ")))")
                continue
            }
            if out.contains(where: { $0.id == id }) { problem("\(path).id", "purpose \"\(code)\" is defined twice"); continue }
            var gate: SettingID?
            if let g = string(item["gated_by"], "\(path).gated_by") {
                if let s = SettingID(code: g) {
                    if settings.contains(where: { $0.id == s }) { gate = s } else {
                        problem("\(path).gated_by", "setting \"\(g)\" is not defined in this policy")
                    }
                } else {
                    problem("\(path).gated_by", "unknown setting \"\(g)\"")
                }
            }
            var categories: [Category] = []
            if let cats = array(item["categories"], "\(path).categories") {
                for (k, c) in cats.enumerated() {
                    let cpath = "\(path).categories[\(k)]"
                    guard let ccode = string(c, cpath) else { continue }
                    guard let cat = Category(code: ccode) else {
                        problem(cpath, "unknown category \"\(ccode)\" (known: \(Category.allCases.map(\.code).joined(separator: ", ")))")
                        continue
                    }
                    if cat.isNeverEligible {
                        problem(cpath, "\"\(ccode)\" is never eligible for any purpose and cannot be made usable by a policy")
                        continue
                    }
                    if categories.contains(cat) { problem(cpath, "\"\(ccode)\" is listed twice"); continue }
                    categories.append(cat)
                }
            }
            let publicOnly = bool(item["public_only"], "\(path).public_only", default: false)
            // Minors are excluded unless a policy says otherwise, explicitly (fail closed).
            let excludeMinors = bool(item["exclude_minors"], "\(path).exclude_minors", default: true)
            var notice = 0
            if let n = item["notice_period_days"] {
                if case let .number(raw) = n, let days = Int(raw), (0...3650).contains(days) { notice = days } else {
                    problem("\(path).notice_period_days", "must be a whole number of days from 0 to 3650")
                }
            } else {
                problem("\(path).notice_period_days", "is required")
            }
            let rules = readRules(item["rules"], path: "\(path).rules")
            if let gate {
                out.append(PurposeDefinition(id: id, gatedBy: gate, categories: categories, publicOnly: publicOnly,
                                             excludeMinors: excludeMinors, noticePeriodDays: notice, rules: rules))
            }
        }
        // Two purposes behind one switch must agree on the switch's default, or the switch
        // would be on and off at once.
        for (i, a) in out.enumerated() {
            for b in out[(i + 1)...] where a.gatedBy == b.gatedBy {
                for r in RegionGroup.allCases {
                    if let ra = a.rules.first(where: { $0.regions.contains(r) }),
                       let rb = b.rules.first(where: { $0.regions.contains(r) }), ra.defaultOn != rb.defaultOn {
                        let j = out.firstIndex { $0.id == b.id }!
                        problem("purposes[\(j)].rules", "contradicts purposes[\(i)]: both are gated by \"\(a.gatedBy.code)\" but their defaults in \(r.code) differ")
                    }
                }
            }
        }
        return out
    }

    mutating func readRules(_ v: JSON?, path: String) -> [RegionRule] {
        guard let items = array(v, path) else { return [] }
        var out: [RegionRule] = []
        var owner: [RegionGroup: Int] = [:]
        for (i, item) in items.enumerated() {
            let rpath = "\(path)[\(i)]"
            guard object(item, rpath, allowed: ["regions", "in_scope_from", "content_from", "default", "legal_basis", "gpc"]) != nil else { continue }
            var regions: [RegionGroup] = []
            if let rs = array(item["regions"], "\(rpath).regions") {
                for (k, r) in rs.enumerated() {
                    let gpath = "\(rpath).regions[\(k)]"
                    guard let code = string(r, gpath) else { continue }
                    guard let g = RegionGroup(code: code) else {
                        problem(gpath, "unknown region group \"\(code)\" (known: \(RegionGroup.allCases.map(\.code).joined(separator: ", ")))")
                        continue
                    }
                    if let earlier = owner[g] {
                        problem(gpath, "overlaps \(path)[\(earlier)]: \(code) already has a rule for this purpose")
                        continue
                    }
                    owner[g] = i
                    regions.append(g)
                }
            }
            let start = date(item["in_scope_from"], "\(rpath).in_scope_from", required: true)
            let contentFrom = date(item["content_from"], "\(rpath).content_from", required: false)
            var defaultOn: Bool?
            if let d = string(item["default"], "\(rpath).default") {
                switch d {
                case "on": defaultOn = true
                case "off": defaultOn = false
                default: problem("\(rpath).default", "must be \"on\" or \"off\", not \"\(d)\"")
                }
            }
            var basis: LegalBasis?
            if let b = string(item["legal_basis"], "\(rpath).legal_basis") {
                basis = LegalBasis(rawValue: b)
                if basis == nil {
                    problem("\(rpath).legal_basis", "unknown legal basis \"\(b)\" (known: \(LegalBasis.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
            }
            if basis == .consent, defaultOn == true {
                problem("\(rpath).default", "contradicts legal_basis \"consent\": consent cannot be on by default")
            }
            let gpc = bool(item["gpc"], "\(rpath).gpc", default: false)
            if let start, let defaultOn, let basis, !regions.isEmpty {
                out.append(RegionRule(regions: regions, inScopeFrom: start, contentFrom: contentFrom,
                                      defaultOn: defaultOn, legalBasis: basis, gpc: gpc))
            }
        }
        return out
    }
}
