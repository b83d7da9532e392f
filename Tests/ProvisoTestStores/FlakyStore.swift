import Foundation
import Logging
import PostgresNIO
public import Synchronization
public import ProvisoCore
public import ProvisoStore
import ProvisoSQLite
import ProvisoPostgres

/// The store the suites that need one run on, chosen by `PROVISO_TEST_STORE`: `memory` (the
/// default), `sqlite` (a fresh file per store) or `postgres` (a fresh database per store on the
/// server at `PROVISO_TEST_POSTGRES_URL`, which the README's test command starts). So the same
/// server, gate and report tests hold on every store. Reads and writes can be made to fail
/// (`failing`), to prove readiness and fail-closed paths. The backing store is made on first
/// use, since opening a database is asynchronous.
public final class FlakyStore: ConsentStore {
    public let failing = Atomic(false)
    let backing = Mutex<Task<any ConsentStore, any Error>?>(nil)

    public init() {}

    /// The store behind this one (made on first use).
    public var inner: any ConsentStore {
        get async throws(StoreError) {
            let task = backing.withLock { t -> Task<any ConsentStore, any Error> in
                if let t { return t }
                let made = Task { () async throws -> any ConsentStore in try await TestStores.make() }
                t = made
                return made
            }
            do { return try await task.value } catch let e as StoreError { throw e } catch { throw .unavailable("\(error)") }
        }
    }

    func check() throws(StoreError) { if failing.load(ordering: .relaxed) { throw .unavailable("simulated outage") } }

    public func append(_ batch: WriteBatch) async throws(StoreError) -> AppendResult { try check(); return try await inner.append(batch) }
    public func events(after: Int64, limit: Int) async throws(StoreError) -> [LedgerEvent] { try check(); return try await inner.events(after: after, limit: limit) }
    public func events(member: String) async throws(StoreError) -> [LedgerEvent] { try check(); return try await inner.events(member: member) }
    public func head() async throws(StoreError) -> LedgerEvent? { try check(); return try await inner.head() }
    public func member(_ id: String) async throws(StoreError) -> Member? { try check(); return try await inner.member(id) }
    public func memberCount() async throws(StoreError) -> Int { try check(); return try await inner.memberCount() }
    public func memberID(handle: String) async throws(StoreError) -> String? { try check(); return try await inner.memberID(handle: handle) }
    /// How many times the projection was loaded through this store.
    public let loads = Atomic(0)

    public func loadState() async throws(StoreError) -> ConsentState {
        try check()
        loads.add(1, ordering: .relaxed)
        return try await inner.loadState()
    }
    public func rebuildState() async throws(StoreError) -> ConsentState { try check(); return try await inner.rebuildState() }
    public func dropCheckpoint() async throws(StoreError) { try check(); try await inner.dropCheckpoint() }
    public func createToken(_ token: ServiceToken, hash: [UInt8]) async throws(StoreError) { try check(); try await inner.createToken(token, hash: hash) }
    public func activeToken(hash: [UInt8]) async throws(StoreError) -> ServiceToken? { try check(); return try await inner.activeToken(hash: hash) }
    public func revokeToken(name: String, at: Micros) async throws(StoreError) -> Bool { try check(); return try await inner.revokeToken(name: name, at: at) }
    public func tokens() async throws(StoreError) -> [ServiceToken] { try check(); return try await inner.tokens() }
    public func receiptKeys() async throws(StoreError) -> [ReceiptKey] { try check(); return try await inner.receiptKeys() }
    public func addReceiptKey(_ key: ReceiptKey, at: Micros) async throws(StoreError) { try check(); try await inner.addReceiptKey(key, at: at) }
    public func setPasswordHash(member: String, hash: String, at: Micros) async throws(StoreError) { try check(); try await inner.setPasswordHash(member: member, hash: hash, at: at) }
    public func passwordHash(member: String) async throws(StoreError) -> String? { try check(); return try await inner.passwordHash(member: member) }
    public func createSession(_ session: MemberSession, idHash: [UInt8]) async throws(StoreError) { try check(); try await inner.createSession(session, idHash: idHash) }
    public func session(idHash: [UInt8], now: Micros) async throws(StoreError) -> MemberSession? { try check(); return try await inner.session(idHash: idHash, now: now) }
    public func deleteSession(idHash: [UInt8]) async throws(StoreError) { try check(); try await inner.deleteSession(idHash: idHash) }
    public func registerSnapshot(_ snapshot: Snapshot, members: SnapshotMemberSet) async throws(StoreError) { try check(); try await inner.registerSnapshot(snapshot, members: members) }
    public func snapshots() async throws(StoreError) -> [Snapshot] { try check(); return try await inner.snapshots() }
    public func snapshot(id: String) async throws(StoreError) -> Snapshot? { try check(); return try await inner.snapshot(id: id) }
    public func snapshotMembers(id: String, page: Int) async throws(StoreError) -> [SnapshotMember]? { try check(); return try await inner.snapshotMembers(id: id, page: page) }
    public func snapshotUses(member: String) async throws(StoreError) -> [SnapshotUse] { try check(); return try await inner.snapshotUses(member: member) }
    public func publishPolicy(_ policy: Policy, publishedAt: Micros, actor: String, notices: [NoticeDelivery]) async throws(StoreError) -> PublishedPolicy { try check(); return try await inner.publishPolicy(policy, publishedAt: publishedAt, actor: actor, notices: notices) }
    public func notices(member: String) async throws(StoreError) -> [Notice] { try check(); return try await inner.notices(member: member) }
    public func markNoticesRead(member: String, at: Micros) async throws(StoreError) -> Int { try check(); return try await inner.markNoticesRead(member: member, at: at) }
    public func confirmNotice(member: String, id: Int64, at: Micros) async throws(StoreError) -> Bool { try check(); return try await inner.confirmNotice(member: member, id: id, at: at) }
    public func pendingEmails(limit: Int) async throws(StoreError) -> [OutboxEmail] { try check(); return try await inner.pendingEmails(limit: limit) }
    public func markEmailSent(id: Int64, at: Micros) async throws(StoreError) { try check(); try await inner.markEmailSent(id: id, at: at) }
    public func unreadNotices(member: String) async throws(StoreError) -> Int { try check(); return try await inner.unreadNotices(member: member) }
    public func unreadReminders(member: String) async throws(StoreError) -> Int { try check(); return try await inner.unreadReminders(member: member) }
    public func noticeReport() async throws(StoreError) -> [NoticeReportRow] { try check(); return try await inner.noticeReport() }
    public func publishedPolicies() async throws(StoreError) -> [PublishedPolicy] { try check(); return try await inner.publishedPolicies() }
    public func addPosts(_ posts: [Post]) async throws(StoreError) { try check(); try await inner.addPosts(posts) }
    public func posts(member: String) async throws(StoreError) -> [Post] { try check(); return try await inner.posts(member: member) }
    public func handles() async throws(StoreError) -> [(id: String, handle: String)] { try check(); return try await inner.handles() }
    public func createOrganisation(_ org: Organisation) async throws(StoreError) { try check(); try await inner.createOrganisation(org) }
    public func organisations() async throws(StoreError) -> [Organisation] { try check(); return try await inner.organisations() }
    public func organisation(id: String) async throws(StoreError) -> Organisation? { try check(); return try await inner.organisation(id: id) }
    public func organisations(matching query: String, limit: Int) async throws(StoreError) -> [Organisation] { try check(); return try await inner.organisations(matching: query, limit: limit) }
    public func addOrgAdmin(org: String, member: String, at: Micros) async throws(StoreError) { try check(); try await inner.addOrgAdmin(org: org, member: member, at: at) }
    public func administeredOrgs(member: String) async throws(StoreError) -> [String] { try check(); return try await inner.administeredOrgs(member: member) }
    public func setAffiliation(member: String, org: String?, at: Micros) async throws(StoreError) { try check(); try await inner.setAffiliation(member: member, org: org, at: at) }
    public func affiliation(member: String) async throws(StoreError) -> String? { try check(); return try await inner.affiliation(member: member) }
    public func affiliatedMembers(org: String) async throws(StoreError) -> [String] { try check(); return try await inner.affiliatedMembers(org: org) }
    public func publishOrgPolicy(org: String, markdown: String, at: Micros, by: String) async throws(StoreError) -> OrgPolicy { try check(); return try await inner.publishOrgPolicy(org: org, markdown: markdown, at: at, by: by) }
    public func orgPolicies(org: String) async throws(StoreError) -> [OrgPolicy] { try check(); return try await inner.orgPolicies(org: org) }
    public func sendCampaign(org: String, message: String, at: Micros, by: String) async throws(StoreError) -> Campaign { try check(); return try await inner.sendCampaign(org: org, message: message, at: at, by: by) }
    public func campaigns(org: String) async throws(StoreError) -> [Campaign] { try check(); return try await inner.campaigns(org: org) }
    public func campaignNotices(member: String) async throws(StoreError) -> [CampaignNotice] { try check(); return try await inner.campaignNotices(member: member) }
    public func markCampaignNoticesRead(member: String, at: Micros) async throws(StoreError) -> Int { try check(); return try await inner.markCampaignNoticesRead(member: member, at: at) }
    public func acknowledgeCampaign(member: String, notice: Int64, at: Micros) async throws(StoreError) -> Bool { try check(); return try await inner.acknowledgeCampaign(member: member, notice: notice, at: at) }
    public func grantRole(_ role: MemberRole, member: String, at: Micros) async throws(StoreError) { try check(); try await inner.grantRole(role, member: member, at: at) }
    public func roles(member: String) async throws(StoreError) -> Set<MemberRole> { try check(); return try await inner.roles(member: member) }
    public func profileFields(member: String) async throws(StoreError) -> [ProfileField] { try check(); return try await inner.profileFields(member: member) }
    public func affiliatedProfiles(org: String) async throws(StoreError) -> [String: MemberProfile] { try check(); return try await inner.affiliatedProfiles(org: org) }
    public func setProfileField(member: String, _ field: ProfileField, at: Micros) async throws(StoreError) { try check(); try await inner.setProfileField(member: member, field, at: at) }
    public func setFieldVisibility(member: String, kind: ProfileFieldKind, visibility: Visibility, at: Micros) async throws(StoreError) -> Bool { try check(); return try await inner.setFieldVisibility(member: member, kind: kind, visibility: visibility, at: at) }
    public func setPostVisibility(member: String, post: String, visibility: Visibility) async throws(StoreError) -> Bool { try check(); return try await inner.setPostVisibility(member: member, post: post, visibility: visibility) }
}

/// Makes the stores `FlakyStore` stands in front of.
public enum TestStores {
    /// The kind the run asked for: memory, sqlite or postgres.
    public static let kind = ProcessInfo.processInfo.environment["PROVISO_TEST_STORE"] ?? "memory"

    static func make() async throws -> any ConsentStore {
        switch kind {
        case "memory":
            return MemoryStore()
        case "sqlite":
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proviso-test-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            return try SQLiteStore(path: dir.appendingPathComponent("p.sqlite").path)
        case "postgres":
            return try await PostgresStore(url: try await freshPostgresDatabase())
        default:
            throw StoreError.unavailable("PROVISO_TEST_STORE must be memory, sqlite or postgres, not \(kind)")
        }
    }

    /// A new, empty database on the test server (the throwaway cluster is deleted with it).
    static func freshPostgresDatabase() async throws -> String {
        guard let admin = ProcessInfo.processInfo.environment["PROVISO_TEST_POSTGRES_URL"].flatMap(URL.init(string:)) else {
            throw StoreError.unavailable("PROVISO_TEST_STORE=postgres needs PROVISO_TEST_POSTGRES_URL")
        }
        let name = "proviso_suite_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let config = PostgresConnection.Configuration(host: admin.host ?? "127.0.0.1", port: admin.port ?? 5432, username: admin.user ?? "postgres",
                                                      password: admin.password, database: "postgres", tls: .disable)
        let c = try await PostgresConnection.connect(configuration: config, id: 1, logger: Logger(label: "proviso.test"))
        do {
            try await c.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Logger(label: "proviso.test"))
        } catch {
            try? await c.close()
            throw error
        }
        try? await c.close()
        var url = URLComponents(url: admin, resolvingAgainstBaseURL: false)!
        url.path = "/" + name
        return url.string!
    }
}
