/// When a target is scraped: at its slots, `phase + k · interval` nanoseconds since the Unix epoch,
/// with the phase the target's key modulo the interval. Every member derives the same slots from the
/// key alone, so ownership (which member has slot k) and scraping (when slot k is due) agree; this
/// is the one place the formula lives.
public struct ScrapeSlots: Sendable, Hashable {
    /// The target's key (`TargetKey`).
    public let key: UInt64
    /// The scrape interval, in nanoseconds; positive.
    public let interval: Int64

    public init(key: UInt64, interval: Int64) {
        precondition(interval > 0, "scrape interval must be positive")
        self.key = key
        self.interval = interval
    }

    public init(key: UInt64, interval: Duration) {
        self.init(key: key, interval: interval.nanoseconds)
    }

    /// `key % interval`: where in every interval the target's slot falls.
    @inline(__always)
    public var phase: Int64 { Int64(self.key % UInt64(self.interval)) }

    /// The first slot at or after `time` (nanoseconds since the epoch).
    public func slot(atOrAfter time: Int64) -> Int64 {
        let (quotient, remainder) = (time - self.phase).quotientAndRemainder(dividingBy: self.interval)
        return self.phase + (remainder > 0 ? quotient + 1 : quotient) * self.interval
    }

    /// How many slots fall in `[start, end)`.
    public func count(from start: Int64, to end: Int64) -> Int {
        guard start < end else { return 0 }
        let first = self.slot(atOrAfter: start)
        guard first < end else { return 0 }
        return Int((end - 1 - first) / self.interval) + 1
    }
}
