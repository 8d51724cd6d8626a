import Synchronization

/// Scrapes that failed on a limit, and samples dropped as repeats (the agent shows them on
/// `/metrics` under Prometheus's names);
/// fed as a ``ScrapeObserver``.
public final class ScrapeLimitCounters: ScrapeObserver {
    private let bodySize = Atomic<Int>(0)
    private let samples = Atomic<Int>(0)
    private let labels = Atomic<Int>(0)
    private let walRecord = Atomic<Int>(0)
    private let targetLimit = Atomic<Int>(0)
    private let duplicates = Atomic<Int>(0)
    private let skipped = Atomic<Int>(0)

    public init() {}

    public func scraped(_ key: UInt64, report: ScrapeReport) {
        if let kind = report.failureKind { count(kind) }
        if report.duplicates > 0 { duplicates.add(report.duplicates, ordering: .relaxed) }
    }

    /// Counts one failed scrape of kind `kind` (failures without a counter are ignored).
    func count(_ kind: ScrapeError.Kind) {
        switch kind {
        case .bodySizeLimit: bodySize.add(1, ordering: .relaxed)
        case .sampleLimit: samples.add(1, ordering: .relaxed)
        case .labelLimits: labels.add(1, ordering: .relaxed)
        case .tooLargeForWAL: walRecord.add(1, ordering: .relaxed)
        case .failed, .timedOut, .targetLimit: break
        }
    }

    public var bodySizeLimitExceeded: Int { bodySize.load(ordering: .relaxed) }
    public var sampleLimitExceeded: Int { samples.load(ordering: .relaxed) }
    public var labelLimitsExceeded: Int { labels.load(ordering: .relaxed) }
    public var tooLargeForWAL: Int { walRecord.load(ordering: .relaxed) }
    /// Samples dropped because their series was repeated within one exposition.
    public var duplicateSamples: Int { duplicates.load(ordering: .relaxed) }
    /// Target set updates that found a job over its `target_limit`.
    public var targetLimitExceeded: Int { targetLimit.load(ordering: .relaxed) }

    public func targetLimitExceeded(job: String, targets: Int, limit: Int) {
        targetLimit.add(1, ordering: .relaxed)
    }

    /// Slots that loops skipped because they fell more than an interval behind.
    public var slotsSkipped: Int { skipped.load(ordering: .relaxed) }

    public func slotsSkipped(_ key: UInt64, count: Int) { skipped.add(count, ordering: .relaxed) }
}
