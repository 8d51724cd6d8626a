import Primitives

/// A target as ownership sees it: its 64-bit key (a hash of its labels, computed by discovery)
/// and its scrape interval. Its nominal scrape times are `phase + k · interval`, with the phase
/// derived from the key alone, so every member would scrape it at the same instants.
public struct ScrapeTarget: Sendable, Hashable {
    public var key: UInt64
    public var interval: Duration
    /// How many members scrape it at every slot (`clustering { replicas }`).
    public var replicas: Int
    /// How its owner is chosen (`clustering { balance }`).
    public var balance: Balance

    /// How a target's owner is chosen.
    public enum Balance: String, Sendable, Hashable, CaseIterable {
        /// The hash ring: members own about as many targets each.
        case targets
        /// Bounded loads over the published series counts (``SeriesBalance``): members carry about
        /// as many series each. Placed on the ring until its first weight takes effect.
        case series
    }

    public init(key: UInt64, interval: Duration, replicas: Int = 1, balance: Balance = .targets) {
        precondition(interval > .zero, "scrape interval must be positive")
        precondition(replicas >= 1, "a target needs at least one owner")
        precondition(balance == .targets || replicas == 1, "series balancing places one owner")
        self.key = key
        self.interval = interval
        self.replicas = replicas
        self.balance = balance
    }

    /// The target's slots (`ScrapeSlots`: the formula scraping uses too).
    public var slots: ScrapeSlots { ScrapeSlots(key: self.key, interval: self.interval) }

    /// `key % interval`, in nanoseconds.
    public var phase: Int64 { self.slots.phase }

    /// The first nominal scrape time at or after `time`.
    public func firstSlot(atOrAfter time: ClusterTime) -> ClusterTime {
        ClusterTime(nanoseconds: self.slots.slot(atOrAfter: time.nanoseconds))
    }

    /// How many nominal scrape times fall in `[start, end)`.
    public func slotCount(from start: ClusterTime, to end: ClusterTime) -> Int {
        self.slots.count(from: start.nanoseconds, to: end.nanoseconds)
    }
}
