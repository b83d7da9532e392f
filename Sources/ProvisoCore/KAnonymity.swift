/// A figure about a group of members that is shown only when the group has at least `k`
/// members: organisations see aggregates, and an aggregate over two people is a disclosure.
public enum GroupFigure<Value: Sendable>: Sendable {
    case shown(Value)
    /// The group is smaller than k: nothing about it is shown, not even a rounded figure.
    case tooFewToShow

    public var value: Value? {
        if case let .shown(v) = self { v } else { nil }
    }
}

extension GroupFigure: Equatable where Value: Equatable {}

/// The k-anonymity threshold for organisation views.
public struct KAnonymity: Sendable, Equatable {
    public let k: Int
    /// The default threshold (the and most statistical offices' small-cell rule).
    public static let standard = KAnonymity(k: 10)

    /// k below 2 would show single members; refuse it.
    public init(k: Int) {
        precondition(k >= 2, "k must be at least 2")
        self.k = k
    }

    /// The figure for a group of `size`, computed only when it may be shown.
    public func figure<V: Sendable>(groupSize size: Int, _ compute: () -> V) -> GroupFigure<V> {
        size >= k ? .shown(compute()) : .tooFewToShow
    }
}
