import Synchronization

/// Scrapes that failed on a limit, counted under Prometheus's names and rendered for `/metrics`;
/// fed as a ``ScrapeObserver``.
public final class ScrapeLimitCounters: ScrapeObserver {
    private let bodySize = Atomic<Int>(0)
    private let samples = Atomic<Int>(0)
    private let labels = Atomic<Int>(0)
    private let walRecord = Atomic<Int>(0)

    public init() {}

    public func scraped(_ key: UInt64, report: ScrapeReport) {
        if let kind = report.failureKind { count(kind) }
    }

    /// Counts one failed scrape of kind `kind` (failures without a counter are ignored).
    func count(_ kind: ScrapeError.Kind) {
        switch kind {
        case .bodySizeLimit: bodySize.add(1, ordering: .relaxed)
        case .sampleLimit: samples.add(1, ordering: .relaxed)
        case .labelLimits: labels.add(1, ordering: .relaxed)
        case .tooLargeForWAL: walRecord.add(1, ordering: .relaxed)
        case .failed, .timedOut: break
        }
    }

    public var bodySizeLimitExceeded: Int { bodySize.load(ordering: .relaxed) }
    public var sampleLimitExceeded: Int { samples.load(ordering: .relaxed) }
    public var labelLimitsExceeded: Int { labels.load(ordering: .relaxed) }
    public var tooLargeForWAL: Int { walRecord.load(ordering: .relaxed) }

    /// The counters in the text format.
    public func exposition() -> [UInt8] {
        var text = ""
        func counter(_ name: String, _ help: String, _ value: Int) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(value)\n"
        }
        counter(
            "prometheus_target_scrapes_exceeded_body_size_limit_total",
            "Total number of scrapes that hit the body size limit.", bodySizeLimitExceeded)
        counter(
            "prometheus_target_scrapes_exceeded_sample_limit_total",
            "Total number of scrapes that hit the sample limit and were rejected.", sampleLimitExceeded)
        counter(
            "prometheus_target_scrape_pool_exceeded_label_limits_total",
            "Total number of times scrapes hit the label limits (label_limit, label_name_length_limit, "
                + "label_value_length_limit or agentd's ceiling of labels per series).", labelLimitsExceeded)
        counter(
            "agentd_target_scrapes_exceeded_wal_record_size_total",
            "Scrapes refused because their series and samples would not fit in one WAL record.", tooLargeForWAL)
        return Array(text.utf8)
    }
}
