public import ProvisoCore
public import ProvisoStore

extension ExposureRules {
    /// Reviews one member's stored profile fields and posts: the member's checkup and the
    /// organisation aggregate read the same data the same way.
    public static func review(member id: String, in store: some ConsentStore, today: Int) async throws(StoreError) -> [ExposureFinding] {
        review(fields: try await store.profileFields(member: id), posts: try await store.posts(member: id), today: today)
    }
}
