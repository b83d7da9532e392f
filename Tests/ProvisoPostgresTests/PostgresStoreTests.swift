import Foundation
import Testing
import PostgresNIO
import ProvisoCore
import ProvisoStore
@testable import ProvisoPostgres

/// The server the README's test command starts (a throwaway cluster on loopback).
let adminURL = ProcessInfo.processInfo.environment["PROVISO_TEST_POSTGRES_URL"]

/// A fresh, empty database on that server for one test, dropped afterwards.
func withFreshDatabase(_ body: (String) async throws -> Void) async throws {
    let admin = try #require(adminURL.flatMap(URL.init(string:)))
    let name = "proviso_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
    let config = PostgresClient.Configuration(host: admin.host ?? "127.0.0.1", port: admin.port ?? 5432, username: admin.user ?? "postgres",
                                              password: admin.password, database: "postgres", tls: .disable)
    let client = PostgresClient(configuration: config)
    let runner = Task { await client.run() }
    defer { runner.cancel() }
    try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
    do {
        var url = URLComponents(url: admin, resolvingAgainstBaseURL: false)!
        url.path = "/" + name
        try await body(url.string!)
    } catch {
        _ = try? await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
        throw error
    }
    _ = try? await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
}

@Suite(.enabled(if: adminURL != nil, "set PROVISO_TEST_POSTGRES_URL (scripts/test.sh starts a cluster and does)"))
struct PostgresStoreTests {
    @Test(arguments: StoreConformance.checks)
    func postgresStoreMeetsTheStoreContract(_ check: StoreConformance.Check) async throws {
        try await withFreshDatabase { url in try await check.run(try await PostgresStore(url: url)) }
    }

    @Test func writesArePersistedAndReadBackByAnotherInstance() async throws {
        try await withFreshDatabase { url in
            let a = try await PostgresStore(url: url)
            _ = try await a.append(WriteBatch(members: [Member(id: "a", country: "DE", birthDay: 7000, handle: "anna")],
                                              events: [.choice(member: "a", setting: .genaiImprovement, on: false, at: 5, channel: .web, actor: "m", policyVersion: "p")],
                                              policy: .seed, actor: "t", recordedAt: 10))
            let b = try await PostgresStore(url: url)  // migrations are idempotent across instances
            let state = try await b.loadState()
            #expect(state.memberCount == 1 && state.ledgerSeq == 3)
            #expect(state.latestChoice(member: 0, setting: .genaiImprovement, at: 6)?.on == false)
            let v = try await b.verify()
            #expect(v.failure == nil && v.checked == 3)
        }
    }

    /// The stored projection checkpoint: a load from it plus the ledger after it gives exactly
    /// what a rebuild from the whole ledger gives; a damaged one is ignored.
    @Test func aLoadFromTheCheckpointPlusTheLedgerAfterItEqualsAFullRebuild() async throws {
        try await withFreshDatabase { url in
            let store = try await PostgresStore(url: url, checkpointAfter: 10)
            let l = try await StoreConformance.checkpointScenario(store) {
                let r = try await store.readState()
                return (r.fromCheckpoint, r.replayed, r.state)
            }
            try await store.dropCheckpoint()
            #expect(try await store.readState().fromCheckpoint == false)
            _ = try await store.loadState()  // renews it
            #expect(try await store.readState().fromCheckpoint)
            try await store.client.query("UPDATE state_checkpoint SET state = state || '\\x00'::bytea")
            let full = try await store.readState()
            #expect(!full.fromCheckpoint && full.replayed == 92)
            #expect(l.state.contentDifference(from: full.state) == nil)
            #expect(full.state.contentDifference(from: l.state) == nil)
        }
    }

    /// Members and choices are read in one snapshot: a member registered and given a choice
    /// between the two reads is in neither (the tail brings both), and does not fail the load.
    @Test func aMemberRegisteredWithAChoiceDuringALoadNeitherFailsItNorHalfAppears() async throws {
        try await withFreshDatabase { url in
            let store = try await PostgresStore(url: url)
            _ = try await store.append(WriteBatch(members: [Member(id: "a", country: "DE", birthDay: 7000)],
                                                  events: [.choice(member: "a", setting: .genaiImprovement, on: false, at: 5, channel: .web, actor: "m", policyVersion: "p")],
                                                  policy: .seed, actor: "t", recordedAt: 10))
            let writer = try await PostgresStore(url: url)
            store.loadHook = {
                _ = try? await writer.append(WriteBatch(members: [Member(id: "late", country: "FR", birthDay: 8000)],
                                                        events: [.choice(member: "late", setting: .adsOffPlatform, on: true, at: 6, channel: .web, actor: "m", policyVersion: "p")],
                                                        actor: "t", recordedAt: 11))
            }
            let during = try await store.loadState()
            #expect(during.memberIndex("late") == -1 && during.memberCount == 1 && during.ledgerSeq == 3)
            store.loadHook = nil
            let after = try await store.loadState()
            let late = after.memberIndex("late")
            #expect(late >= 0 && after.ledgerSeq == 5)
            #expect(after.latestChoice(member: late, setting: .adsOffPlatform, at: 7)?.on == true)
        }
    }

    @Test(.timeLimit(.minutes(1))) func anAppendThroughAnotherInstanceWakesTheListener() async throws {
        try await withFreshDatabase { url in
            let listener = try await PostgresStore(url: url), writer = try await PostgresStore(url: url)
            let wakeups = try #require(listener.ledgerWakeups())
            var it = wakeups.makeAsyncIterator()
            // The first signal says the subscription is up (and asks for a catch-up).
            let subscribed: Void? = await it.next()
            #expect(subscribed != nil)
            _ = try await writer.append(WriteBatch(members: [Member(id: "a", country: "DE", birthDay: 7000)], policy: .seed, actor: "t", recordedAt: 1))
            // The notification arrives (the test's time limit bounds the wait; nothing sleeps).
            let woken: Void? = await it.next()
            #expect(woken != nil)
        }
    }

    @Test func twoInstancesAppendingAtOnceKeepOneUnbrokenChain() async throws {
        try await withFreshDatabase { url in
            let a = try await PostgresStore(url: url), b = try await PostgresStore(url: url)
            _ = try await a.append(WriteBatch(members: (0..<4).map { Member(id: "m\($0)", country: "US", birthDay: 7000) }, policy: .seed, actor: "t", recordedAt: 1))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (k, store) in [a, b, a, b].enumerated() {
                    group.addTask {
                        for i in 0..<10 {
                            _ = try await store.append(WriteBatch(events: [.choice(member: "m\(k)", setting: .adsOffPlatform, on: i % 2 == 0, at: 2,
                                                                                    channel: .api, actor: "t", policyVersion: "p")],
                                                                  actor: "t", recordedAt: 2))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let v = try await a.verify()
            #expect(v.failure == nil && v.checked == 1 + 4 + 40)
        }
    }

    @Test func theDatabaseRefusesToChangeTheLedger() async throws {
        try await withFreshDatabase { url in
            let store = try await PostgresStore(url: url)
            _ = try await store.append(WriteBatch(members: [Member(id: "a", country: "DE", birthDay: 7000)], policy: .seed, actor: "t", recordedAt: 1))
            let u = try #require(URL(string: url))
            let client = PostgresClient(configuration: .init(host: u.host!, port: u.port ?? 5432, username: u.user ?? "postgres",
                                                             password: u.password, database: String(u.path.dropFirst()), tls: .disable))
            let runner = Task { await client.run() }
            defer { runner.cancel() }
            await #expect(throws: (any Error).self) { try await client.query("DELETE FROM ledger") }
            await #expect(throws: (any Error).self) { try await client.query("UPDATE ledger SET actor = 'mallory'") }
            #expect(try await store.verify().checked == 2)
        }
    }
}
