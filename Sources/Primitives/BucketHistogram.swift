/// A cumulative histogram with fixed buckets, as the Prometheus text format shows one: a count
/// per upper bound (each counting every observation at or below it), the sum and the count.
///
/// A value type, so a snapshot is a copy; observing costs one scan of the (few) bounds.
public struct BucketHistogram: Sendable, Hashable {
    /// Upper bounds, ascending; `+Inf` is implied.
    public let upperBounds: [Double]
    /// Observations in each bucket alone (not cumulative), one per bound.
    public private(set) var bucketCounts: [UInt64]
    public private(set) var sum: Double = 0
    public private(set) var count: UInt64 = 0

    /// The buckets of Prometheus's `prometheus_remote_storage_sent_batch_duration_seconds`: the
    /// client library's defaults, then 25 s up to 5 minutes.
    public static let sendDurationBounds: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 120, 300,
    ]

    public init(upperBounds: [Double]) {
        precondition(zip(upperBounds, upperBounds.dropFirst()).allSatisfy { $0 < $1 }, "bounds must ascend")
        self.upperBounds = upperBounds
        self.bucketCounts = Array(repeating: 0, count: upperBounds.count)
    }

    public mutating func observe(_ value: Double) {
        if let bucket = upperBounds.firstIndex(where: { value <= $0 }) { bucketCounts[bucket] += 1 }
        sum += value
        count += 1
    }

    /// `(le, cumulative count)` for every bound, then `+Inf` with the total count.
    public var cumulativeBuckets: [(le: String, count: UInt64)] {
        var running: UInt64 = 0
        var buckets: [(le: String, count: UInt64)] = []
        for (bound, count) in zip(upperBounds, bucketCounts) {
            running += count
            buckets.append((Self.format(bound), running))
        }
        buckets.append(("+Inf", self.count))
        return buckets
    }

    /// `1` rather than `1.0`, as Prometheus's client writes bucket bounds.
    private static func format(_ bound: Double) -> String {
        bound == bound.rounded() && abs(bound) < 1e15 ? String(Int64(bound)) : String(bound)
    }
}
