import Events

/// A span during which one member (or nobody) owned a target, derived from consecutive
/// ownership events.
public struct OwnershipInterval: Sendable, Hashable {
    /// The target key.
    public var key: UInt64
    /// The target's labels as of the event that opened the interval.
    public var targetLabels: [String: String]
    /// The owner during the interval; `nil` when nobody owned the target.
    public var owner: String?
    /// Start, the effective time of the opening event (ms since the epoch).
    public var from: Int64
    /// End, the effective time of the next event; `nil` while still current.
    public var until: Int64?
    /// Cause of the opening event.
    public var causeKind: OwnershipEvent.Cause
    /// Detail of the opening event's cause.
    public var causeDetail: String

    /// Whether the interval overlaps `[since, until]` (either bound may be open).
    public func overlaps(since: Int64?, until end: Int64?) -> Bool {
        if let since, let closed = self.until, closed <= since { return false }
        if let end, self.from > end { return false }
        return true
    }
}
