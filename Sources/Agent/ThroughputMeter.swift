import Foundation
import Scrape
import Synchronization

/// Samples appended per second over the last minutes: the data behind the UI's
/// throughput graph. One bucket per wall-clock second, kept for `window` seconds; fed by the
/// scrape loops as a `ScrapeObserver`.
public final class ThroughputMeter: ScrapeObserver {
    public struct Point: Sendable, Codable, Equatable {
        /// Seconds since the epoch.
        public var time: Int64
        public var samples: Int
    }

    private struct State {
        var buckets: [Int64: Int] = [:]
    }

    public let window: Int64
    private let state = Mutex(State())

    public init(window: Int64 = 600) { self.window = window }

    public func record(_ samples: Int, at time: Date = Date()) {
        let second = Int64(time.timeIntervalSince1970)
        state.withLock { state in
            state.buckets[second, default: 0] += samples
            if state.buckets.count > Int(window) + 60 {
                state.buckets = state.buckets.filter { $0.key > second - window }
            }
        }
    }

    /// One point per second of the window, oldest first, zeros included.
    public func points(now: Date = Date()) -> [Point] {
        let end = Int64(now.timeIntervalSince1970)
        let buckets = state.withLock { $0.buckets }
        return ((end - window + 1)...end).map { Point(time: $0, samples: buckets[$0] ?? 0) }
    }

    public func scraped(_ key: UInt64, report: ScrapeReport) { record(report.appended) }
}
