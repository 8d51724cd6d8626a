import Foundation

/// The time scrape loops keep: nanoseconds since the Unix epoch, since slots are (`ScrapeSlots`).
/// `WallClock` in production; tests pass a clock they move themselves.
public protocol ScrapeClock: Sendable {
    /// Now, in nanoseconds since the epoch.
    var now: Int64 { get }
    /// Returns at `deadline` (nanoseconds since the epoch) or at once if it has passed; throws
    /// `CancellationError` when the task is cancelled.
    func sleep(until deadline: Int64) async throws
}

/// The system's wall clock (to a quarter of a microsecond); sleeps on the continuous clock.
public struct WallClock: ScrapeClock {
    public init() {}

    public var now: Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }

    public func sleep(until deadline: Int64) async throws {
        try Task.checkCancellation()
        let wait = deadline - now
        if wait > 0 { try await Task.sleep(for: .nanoseconds(wait)) }
    }
}
