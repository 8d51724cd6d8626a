import Foundation
import Primitives

/// Chooses the effective time of a planned change (join, graceful leave): `eff = now + H`,
/// rounded up to the slot grid, where the hand-off delay `H` comfortably exceeds the time gossip
/// takes to reach every member.
///
/// `H = baseDelay · max(1, log10 N)`: gossip reaches all members in O(log N) rounds, so 2 s for
/// up to 10 members, 4 s for 100, 6 s for 1,000 with the defaults (measured dissemination to
/// 99.9% of 1,000 members takes about a second; see `docs/cluster.md`).
public struct HandoffPlanner: Sendable, Hashable {
    /// `H` for clusters of up to 10 members.
    public var baseDelay: Duration
    /// The grid effective times are rounded up to.
    public var alignment: Duration

    public init(baseDelay: Duration = .seconds(2), alignment: Duration = .seconds(1)) {
        precondition(alignment > .zero, "alignment must be positive")
        self.baseDelay = baseDelay
        self.alignment = alignment
    }

    /// The hand-off delay for a cluster of `clusterSize` members.
    public func delay(clusterSize: Int) -> Duration {
        self.baseDelay.scaled(by: max(1, log10(Double(max(clusterSize, 1)))))
    }

    /// The effective time of a change planned at `now`.
    public func effectiveTime(now: ClusterTime, clusterSize: Int) -> ClusterTime {
        let earliest = (now + self.delay(clusterSize: clusterSize)).nanoseconds
        let grid = self.alignment.nanoseconds
        let (quotient, remainder) = earliest.quotientAndRemainder(dividingBy: grid)
        let aligned = remainder == 0 ? earliest : (quotient + (remainder > 0 ? 1 : 0)) * grid
        return ClusterTime(nanoseconds: aligned)
    }
}
