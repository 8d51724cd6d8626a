import Primitives

/// A wall-clock instant, in nanoseconds since the Unix epoch.
///
/// Membership runs on the wall clock because effective times of planned changes travel between
/// members; clocks are assumed synchronised (NTP), as Prometheus assumes for sample timestamps.
public struct ClusterTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// The instant `seconds` after the epoch (fractions allowed).
    public init(seconds: Double) {
        self.nanoseconds = Int64((seconds * 1e9).rounded())
    }

    public static let zero = ClusterTime(nanoseconds: 0)

    /// Seconds since the epoch.
    public var seconds: Double { Double(self.nanoseconds) / 1e9 }

    public static func < (lhs: ClusterTime, rhs: ClusterTime) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    public static func + (lhs: ClusterTime, rhs: Duration) -> ClusterTime {
        ClusterTime(nanoseconds: lhs.nanoseconds &+ rhs.nanoseconds)
    }

    public static func - (lhs: ClusterTime, rhs: Duration) -> ClusterTime {
        ClusterTime(nanoseconds: lhs.nanoseconds &- rhs.nanoseconds)
    }

    public static func - (lhs: ClusterTime, rhs: ClusterTime) -> Duration {
        .nanoseconds(lhs.nanoseconds &- rhs.nanoseconds)
    }

    public var description: String {
        let whole = self.nanoseconds / 1_000_000_000
        let millis = (self.nanoseconds % 1_000_000_000) / 1_000_000
        return "\(whole).\(String(millis, zeroPaddedTo: 3))s"
    }
}

extension Duration {
    /// This duration multiplied by a floating-point factor, to the nanosecond.
    public func scaled(by factor: Double) -> Duration {
        .nanoseconds(Int64((Double(self.nanoseconds) * factor).rounded()))
    }
}
