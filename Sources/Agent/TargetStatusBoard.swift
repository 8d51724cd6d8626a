import Events
import Scrape
import Synchronization

/// What the agent knows about a target: who owns it and how its last scrape went.
public struct TargetStatus: Sendable, Codable, Equatable {
    public enum Health: String, Sendable, Codable { case up, down, unknown }

    public var key: UInt64
    /// The key its owner is computed from: `key`, or with `hash_labels` the listed labels' key.
    public var ownerKey: UInt64
    public var job: String
    public var url: String
    public var labels: [String: String]
    public var discoveredLabels: [String: String]
    public var health: Health = .unknown
    /// Milliseconds since the epoch.
    public var lastScrape: Int64?
    public var lastError: String?
    public var lastDurationSeconds: Double?
    public var lastSamples: Int?
    /// Whether this member scraped the target's latest slot.
    public var scrapedHere = false
    /// The member that owns the target now (filled in by the API).
    public var owner: String?
    /// Its series count as published for `balance = "series"` and in effect now (filled in by the
    /// API; nil for other targets and before the first publication takes effect).
    public var weight: UInt64?
}

/// The status of every target of every job, for the API and the web UI; kept by the scrape loops
/// as a `ScrapeObserver`.
public final class TargetStatusBoard: ScrapeObserver {
    private let statuses = Mutex<[UInt64: TargetStatus]>([:])
    /// Scrapes that failed on a limit, for `/metrics`.
    public let limitCounters = ScrapeLimitCounters()
    /// Scrape intervals, job syncs and active series, for `/metrics`.
    public let statistics = ScrapeStatistics()

    public init() {}

    public var all: [TargetStatus] {
        statuses.withLock { Array($0.values) }.sorted { ($0.job, $0.url) < ($1.job, $1.url) }
    }

    public func status(of key: UInt64) -> TargetStatus? { statuses.withLock { $0[key] } }

    public func targetStarted(_ target: ScrapeTarget, job: String) {
        let status = TargetStatus(
            key: target.key, ownerKey: target.ownerKey, job: job, url: target.url, labels: target.labels.dictionary,
            discoveredLabels: target.discovered.dictionary)
        // A target restarted with new settings keeps its status.
        statuses.withLock { $0[status.key] = $0[status.key] ?? status }
    }

    public func targetRemoved(_ key: UInt64) {
        statistics.targetRemoved(key)
        _ = statuses.withLock { $0.removeValue(forKey: key) }
    }

    public func jobSynced(_ job: String, duration: Duration) { statistics.jobSynced(job, duration: duration) }

    public func targetLimitExceeded(job: String, targets: Int, limit: Int) {
        limitCounters.targetLimitExceeded(job: job, targets: targets, limit: limit)
    }

    public func slotsSkipped(_ key: UInt64, count: Int) { limitCounters.slotsSkipped(key, count: count) }

    public func scraped(_ key: UInt64, report: ScrapeReport) {
        limitCounters.scraped(key, report: report)
        statistics.scraped(key, report: report)
        update(key) { status in
            status.health = report.error == nil ? .up : .down
            status.lastScrape = report.timestamp
            status.lastError = report.error
            status.lastDurationSeconds = report.duration
            status.lastSamples = report.samples
            status.scrapedHere = true
        }
    }

    public func slotOwnedElsewhere(_ key: UInt64, slot: Int64) {
        statistics.slotOwnedElsewhere(key, slot: slot)
        update(key) { $0.scrapedHere = false }
    }

    private func update(_ key: UInt64, _ change: (inout TargetStatus) -> Void) {
        statuses.withLock { all in
            if var status = all[key] {
                change(&status)
                all[key] = status
            }
        }
    }
}
