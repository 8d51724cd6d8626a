/// A summary as Prometheus's client libraries keep one: the sum and count of every observation,
/// and quantiles over the recent ones.
///
/// The quantiles are exact over the observations of the last ``window`` (Prometheus's `MaxAge`,
/// 10 minutes), of which at most ``capacity`` of the newest are kept: where more arrive in the
/// window, the quantiles describe the newest `capacity` of them. With none in the window a
/// quantile is NaN, as Prometheus shows it.
public struct WindowedSummary: Sendable, Equatable {
    /// The quantiles Prometheus's scrape summaries report.
    public static let objectives: [Double] = [0.01, 0.05, 0.5, 0.9, 0.99]

    public private(set) var sum: Double
    public private(set) var count: Int
    public let window: Duration
    public let capacity: Int
    /// A ring of the newest observations and when they were made.
    private var values: [Double] = []
    private var times: [ContinuousClock.Instant] = []
    private var next = 0

    public init(sum: Double = 0, count: Int = 0, window: Duration = .seconds(600), capacity: Int = 1024) {
        precondition(capacity > 0)
        self.sum = sum
        self.count = count
        self.window = window
        self.capacity = capacity
    }

    public mutating func observe(_ value: Double, at now: ContinuousClock.Instant = .now) {
        sum += value
        count += 1
        if values.count < capacity {
            values.append(value)
            times.append(now)
        } else {
            values[next] = value
            times[next] = now
            next = (next + 1) % capacity
        }
    }

    /// Each of `quantiles` (nearest rank) over the observations of the window ending at `now`.
    public func quantiles(_ quantiles: [Double] = objectives, at now: ContinuousClock.Instant = .now)
        -> [(quantile: Double, value: Double)]
    {
        let recent = zip(values, times).filter { now - $0.1 <= window }.map(\.0).sorted()
        return quantiles.map { quantile in
            guard !recent.isEmpty else { return (quantile, .nan) }
            let rank = Int((quantile * Double(recent.count)).rounded(.up))
            return (quantile, recent[min(max(rank, 1), recent.count) - 1])
        }
    }
}
