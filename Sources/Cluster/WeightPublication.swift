/// One member's published target weights (`clustering { balance = "series" }`): a series count
/// per target, as it wants the cluster to place them from `effective` on.
///
/// A member publishes the whole map each time (every agreed weight of a current target carried
/// forward, its own measurements where they left the band), so a publication never retracts a
/// weight another publication needs.
/// `version` orders a member's publications; it starts from the wall clock so that it keeps
/// increasing across restarts. `effective` is planned like a join's (`now + H`, on the slot grid):
/// every member has the publication before it takes effect and moves targets at the same slot.
public struct WeightPublication: Sendable, Hashable {
    public var version: UInt64
    public var effective: ClusterTime
    /// Target key → series count.
    public var weights: [UInt64: UInt64]

    public init(version: UInt64, effective: ClusterTime, weights: [UInt64: UInt64]) {
        self.version = version
        self.effective = effective
        self.weights = weights
    }
}

/// Every weight publication a member has seen, as a function of time: the weight of a target at
/// `t` is the one of the latest publication effective at `t` that names it (ties: the higher
/// version, then the publisher's name), so every member that saw the same publications computes
/// the same weights for every instant.
///
/// A member's record carries only its newest publication; this history keeps the earlier ones
/// while they still decide weights inside the tracker's retention, so that a newer publication
/// does not rewrite the past.
public struct WeightHistory: Sendable, Hashable {
    private struct Entry: Sendable, Hashable {
        var publisher: String
        var publication: WeightPublication
    }

    /// Sorted by (effective, version, publisher).
    private var entries: [Entry] = []

    public init() {}

    /// The instants at which some weight changes.
    public var changePoints: [ClusterTime] { self.entries.map(\.publication.effective) }

    public var isEmpty: Bool { self.entries.isEmpty }

    /// Adds the publications not seen yet.
    public mutating func add(_ publications: [String: WeightPublication]) {
        var added = false
        for (publisher, publication) in publications
        where !self.entries.contains(where: {
            $0.publisher == publisher && $0.publication.version >= publication.version
        }) {
            self.entries.append(Entry(publisher: publisher, publication: publication))
            added = true
        }
        if added { self.entries.sort { Self.precedes($0, $1) } }
    }

    /// Forgets what no longer decides a weight at or after `horizon`: a member's publication whose
    /// successor from the same member took effect by then (a member's newer map names every target
    /// the older one did, unless the target is gone).
    public mutating func prune(before horizon: ClusterTime) {
        var newestEffective: [String: ClusterTime] = [:]
        for entry in self.entries where entry.publication.effective <= horizon {
            newestEffective[entry.publisher] = max(
                newestEffective[entry.publisher] ?? entry.publication.effective, entry.publication.effective)
        }
        self.entries.removeAll { entry in
            guard let newest = newestEffective[entry.publisher] else { return false }
            return entry.publication.effective < newest
        }
    }

    /// Every published weight in effect at `time`, counting only the publications of `publishers`
    /// (the participants then: a member that left or died no longer speaks for its targets).
    public func weights(at time: ClusterTime, publishers: Set<String>) -> [UInt64: UInt64] {
        var result: [UInt64: UInt64] = [:]
        for entry in self.entries where entry.publication.effective <= time && publishers.contains(entry.publisher) {
            for (key, weight) in entry.publication.weights { result[key] = weight }
        }
        return result.filter { $0.value > 0 }
    }

    private static func precedes(_ a: Entry, _ b: Entry) -> Bool {
        (a.publication.effective, a.publication.version, a.publisher)
            < (b.publication.effective, b.publication.version, b.publisher)
    }
}
