import Events
import Synchronization

/// What the agent knows about a target: who owns it and how its last scrape went.
public struct TargetStatus: Sendable, Codable, Equatable {
    public enum Health: String, Sendable, Codable { case up, down, unknown }

    public var key: UInt64
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
}

/// The status of every target of every job, shared between the scrape loops and the API.
public final class TargetStatusBoard: Sendable {
    private let statuses = Mutex<[UInt64: TargetStatus]>([:])
    /// Scrapes that failed on a limit, for `/metrics`.
    public let limitCounters = ScrapeLimitCounters()

    public init() {}

    public var all: [TargetStatus] {
        statuses.withLock { Array($0.values) }.sorted { ($0.job, $0.url) < ($1.job, $1.url) }
    }

    public func status(of key: UInt64) -> TargetStatus? { statuses.withLock { $0[key] } }

    func update(_ key: UInt64, _ change: (inout TargetStatus) -> Void) {
        statuses.withLock { all in
            if var status = all[key] {
                change(&status)
                all[key] = status
            }
        }
    }

    func insert(_ status: TargetStatus) { statuses.withLock { $0[status.key] = $0[status.key] ?? status } }

    func remove(_ key: UInt64) { _ = statuses.withLock { $0.removeValue(forKey: key) } }
}
