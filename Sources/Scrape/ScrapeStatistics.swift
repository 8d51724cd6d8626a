import Primitives
import Synchronization

/// The scrape loops' figures that Prometheus shows under `prometheus_target_*` and
/// `prometheus_agent_active_series`: the time between a target's consecutive scrapes by
/// interval, the time a job's target set took to apply, and the series the member's scrapes
/// write now. Fed as a ``ScrapeObserver``.
public final class ScrapeStatistics: ScrapeObserver {
    /// Sum, count and quantiles over the last 10 minutes, as Prometheus's summaries.
    public typealias Summary = WindowedSummary

    private struct State {
        var intervalLengths: [String: Summary] = [:]
        var syncLengths: [String: Summary] = [:]
        /// Per target this member scrapes: the series its last scrape wrote.
        var series: [UInt64: Int] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func scraped(_ key: UInt64, report: ScrapeReport) {
        state.withLock { state in
            state.series[key] = report.series
            if let since = report.sinceLastScrape {
                state.intervalLengths[report.interval.prometheusText, default: Summary()].observe(since.seconds)
            }
        }
    }

    public func targetRemoved(_ key: UInt64) { _ = state.withLock { $0.series.removeValue(forKey: key) } }

    public func slotOwnedElsewhere(_ key: UInt64, slot: Int64) {
        _ = state.withLock { $0.series.removeValue(forKey: key) }
    }

    public func jobSynced(_ job: String, duration: Duration) {
        state.withLock { $0.syncLengths[job, default: Summary()].observe(duration.seconds) }
    }

    /// `prometheus_target_interval_length_seconds`, by the configured interval (`15s`, `1m`).
    public var intervalLengths: [String: Summary] { state.withLock { $0.intervalLengths } }
    /// `prometheus_target_sync_length_seconds`, by job.
    public var syncLengths: [String: Summary] { state.withLock { $0.syncLengths } }
    /// `prometheus_agent_active_series`: the series written by the last scrape of each target
    /// this member scrapes (what the target exposed, after `sample_limit` and the like, and its
    /// five report series; a scrape fanned out through several `prometheus.relabel` paths counts
    /// its series once).
    public var activeSeries: Int { state.withLock { $0.series.values.reduce(0, +) } }
}
