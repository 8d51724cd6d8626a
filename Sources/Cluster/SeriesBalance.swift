/// Ownership balanced by series rather than by target count (`clustering { balance = "series" }`):
/// consistent hashing with bounded loads, over weights.
///
/// Every member computes it alike from the same inputs: the ring of the participants and each
/// target's published weight (its series count, as its owner measured and gossiped it). Targets are
/// placed heaviest first (ties by key); each goes to the first member clockwise from its key on the
/// ring whose load stays within `capacity = ⌊bound · total / N⌋`, or, when none can take it, to
/// the least loaded (ties in ring order). A target alone heavier than the bound of what is left
/// first takes a member of its own, and the others share the rest. So no member carries more than
/// `bound` times the mean unless one target alone is heavier than that; and a target stays where
/// the plain ring puts it while that member has room, so a join or a leave moves little more than
/// the ring would.
///
/// Weights change only through ``SeriesBalance/published(_:measured:tolerance:)``, which keeps the
/// published weight until the measurement leaves a band around it: a series count's small drift
/// changes no input, so it moves no target.
///
/// ``OwnershipTracker`` computes one per epoch, over the weights the participants published.
public struct SeriesBalance: Sendable, Hashable {
    /// How far above the mean load a member may go: 1.10 keeps max/mean within 10 %.
    public static let defaultBound = 1.10
    /// The band around a published weight within which a new measurement changes nothing.
    public static let defaultTolerance = 0.10

    public let members: [String]
    /// The most weight a member sharing targets takes while another member has room.
    public let capacity: UInt64
    /// Each member's total weight.
    public let loads: [String: UInt64]
    private let owners: [UInt64: String]

    /// Assigns `weights` (target key → published weight) over `ring`. A target weighing 0 (not
    /// measured yet) counts as the mean of the measured ones, or 1 when none is.
    public init(ring: HashRing, weights: [UInt64: UInt64], bound: Double = SeriesBalance.defaultBound) {
        precondition(bound >= 1, "a bound below the mean cannot be met")
        self.members = ring.members
        let measured = weights.values.filter { $0 > 0 }
        let fallback = measured.isEmpty ? 1 : max(measured.reduce(0, +) / UInt64(measured.count), 1)
        var items = weights.map { (key: $0.key, weight: $0.value > 0 ? $0.value : fallback) }
            .sorted { ($1.weight, $0.key) < ($0.weight, $1.key) }[...]
        var total = items.reduce(UInt64(0)) { $0 + $1.weight }
        var loads = Dictionary(uniqueKeysWithValues: ring.members.map { ($0, UInt64(0)) })
        var owners: [UInt64: String] = [:]
        owners.reserveCapacity(items.count)
        var sharing = Set(ring.members)
        // A target heavier than the bound of what is left takes a member of its own (its first on
        // the ring among those left): nobody could stay within the bound carrying it, and the
        // others then share the rest within the bound.
        while let giant = items.first, sharing.count > 1,
            Double(giant.weight) > bound * Double(total) / Double(sharing.count)
        {
            let owner = ring.firstSuccessor(of: giant.key) { sharing.contains($0) }!
            sharing.remove(owner)
            loads[owner] = giant.weight
            owners[giant.key] = owner
            total -= giant.weight
            items.removeFirst()
        }
        let capacity = sharing.isEmpty ? 0 : UInt64(bound * Double(total) / Double(sharing.count))
        self.capacity = capacity
        for item in items where !sharing.isEmpty {
            // The first member clockwise with room; failing that, the least loaded, the earliest
            // on the ring among equals.
            var lightest: String?
            let roomy = ring.firstSuccessor(of: item.key) { member in
                guard sharing.contains(member) else { return false }
                if loads[member]! + item.weight <= capacity { return true }
                if lightest == nil || loads[member]! < loads[lightest!]! { lightest = member }
                return false
            }
            let owner = roomy ?? lightest!
            loads[owner]! += item.weight
            owners[item.key] = owner
        }
        self.loads = loads
        self.owners = owners
    }

    /// The member owning `key`; nil when there is no member or the target was not assigned.
    public func owner(of key: UInt64) -> String? { self.owners[key] }

    /// The heaviest member's load over the mean (1 when perfectly even).
    public var imbalance: Double {
        let total = self.loads.values.reduce(0, +)
        guard total > 0 else { return 1 }
        return Double(self.loads.values.max()!) * Double(self.loads.count) / Double(total)
    }

    /// The weight to gossip after measuring `measured`: the published one while the measurement
    /// stays within `tolerance` of it (relative), else the measurement.
    public static func published(_ published: UInt64?, measured: UInt64, tolerance: Double = defaultTolerance)
        -> UInt64
    {
        guard let published, published > 0 else { return measured }
        let drift = abs(Double(measured) - Double(published)) / Double(published)
        return drift <= tolerance ? published : measured
    }
}
