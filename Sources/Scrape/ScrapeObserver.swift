/// Told what scraping does, for state kept outside it: the UI's target statuses and throughput,
/// the limit counters of `/metrics`. Called from the scrape loops: implementations are quick and
/// thread-safe. Every requirement has an empty default.
public protocol ScrapeObserver: Sendable {
    /// A loop started for `target` of `job`: a new target, or one restarted with new settings.
    func targetStarted(_ target: ScrapeTarget, job: String)
    /// Target `key` left discovery: its loop has stopped and its staleness markers are appended.
    func targetRemoved(_ key: UInt64)
    /// This member scraped target `key` at one of its slots (failed scrapes included).
    func scraped(_ key: UInt64, report: ScrapeReport)
    /// The slot of target `key` at `slot` (nanoseconds since the epoch) was another member's.
    func slotOwnedElsewhere(_ key: UInt64, slot: Int64)
    /// The loop of target `key` fell more than an interval behind and skipped `count` slots,
    /// scraped by no one unless they were another member's (it did not ask).
    func slotsSkipped(_ key: UInt64, count: Int)
    /// Discovery gave `job` more targets than its `target_limit`: every target's scrape fails
    /// until it gives fewer.
    func targetLimitExceeded(job: String, targets: Int, limit: Int)
    /// `job`'s target set was applied (loops started and stopped) in `duration`.
    func jobSynced(_ job: String, duration: Duration)
}

extension ScrapeObserver {
    public func targetStarted(_ target: ScrapeTarget, job: String) {}
    public func targetRemoved(_ key: UInt64) {}
    public func scraped(_ key: UInt64, report: ScrapeReport) {}
    public func slotOwnedElsewhere(_ key: UInt64, slot: Int64) {}
    public func slotsSkipped(_ key: UInt64, count: Int) {}
    public func targetLimitExceeded(job: String, targets: Int, limit: Int) {}
    public func jobSynced(_ job: String, duration: Duration) {}
}

/// How one scrape went.
public struct ScrapeReport: Sendable, Equatable {
    /// When it started, in milliseconds since the epoch: the timestamp of its samples.
    public var timestamp: Int64
    /// Seconds from the request to the end of parsing.
    public var duration: Double
    /// Samples scraped (0 when it failed).
    public var samples: Int
    /// Why it failed, if it did.
    public var error: String?
    /// What kind of failure `error` is.
    public var failureKind: ScrapeError.Kind?
    /// Samples written to the log, report series and staleness markers included.
    public var appended = 0
    /// Series the scrape wrote a sample for, its report series included (staleness markers not).
    public var series = 0
    /// Samples of a series the exposition had already given (the first is kept, the repeat
    /// dropped, as Prometheus does).
    public var duplicates = 0
    /// The job's scrape interval.
    public var interval: Duration = .zero
    /// Time since this member's previous scrape of the target, when that was the slot before
    /// (nil for a first scrape, or after slots owned by another member).
    public var sinceLastScrape: Duration?
    /// The scrape's task was cancelled before it finished (shutdown, reconfiguration, the target
    /// gone from discovery): it appended nothing and is no news about the target, so its loop
    /// gives it to no observer.
    public var stopped = false

    public init(
        timestamp: Int64, duration: Double, samples: Int, error: String? = nil, failureKind: ScrapeError.Kind? = nil,
        appended: Int = 0, series: Int = 0, duplicates: Int = 0
    ) {
        self.timestamp = timestamp
        self.duration = duration
        self.samples = samples
        self.error = error
        self.failureKind = failureKind
        self.appended = appended
        self.series = series
        self.duplicates = duplicates
    }
}
