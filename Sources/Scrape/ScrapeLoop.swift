import HTTPSecurity
import Logging
import Primitives
import Synchronization

/// Scrapes one target at its slots: carries out what its ``ScrapeSchedule`` decides, with the
/// scraper, the appender, the ownership oracle and the clock it is given, and tells the observers.
/// Runs until its task is cancelled; the stop reason set before decides on staleness markers.
final class ScrapeLoop: Sendable {
    /// What a loop works with; the same for every loop of a service.
    struct Context: Sendable {
        var appender: any ScrapeAppender
        var scraper: any TargetScraper
        var oracle: any OwnershipOracle
        var observers: [any ScrapeObserver]
        var clock: any ScrapeClock
        var logger: Logger
    }

    let target: ScrapeTarget
    let settings: ScrapeSettings
    /// The job's credentials: one object for all its loops while its settings stay the same.
    let credentials: HTTPClientCredentials?
    private let context: Context
    private let logger: Logger
    private let stopReason = Mutex(ScrapeSchedule.StopReason.shutdown)

    init(target: ScrapeTarget, settings: ScrapeSettings, credentials: HTTPClientCredentials? = nil, context: Context) {
        self.target = target
        self.settings = settings
        self.credentials = credentials
        self.context = context
        var logger = context.logger
        logger[metadataKey: "scrape.target"] = "\(target.url)"
        self.logger = logger
    }

    /// Why the loop will stop when its task is cancelled (`shutdown` unless set).
    func setStopReason(_ reason: ScrapeSchedule.StopReason) { stopReason.withLock { $0 = reason } }

    func run() async {
        let clock = context.clock
        var engine = ScrapeEngine(
            target: target, settings: settings, credentials: credentials, appender: context.appender, logger: logger)
        var schedule = ScrapeSchedule(
            slots: ScrapeSlots(key: target.ownerKey, interval: settings.intervalNanoseconds), now: clock.now)
        var action = schedule.firstAction
        // When this member last scraped the target, if that was its previous slot.
        var previousScrape: Int64?
        // The slot being scraped: replicas stamp their samples with it.
        var currentSlot: Int64 = 0
        while true {
            switch action {
            case .waitForSlot(let slot), .skipMissedSlots(_, let slot):
                if case .skipMissedSlots(let behind, _) = action {
                    logger.warning(
                        "Scrape loop fell behind; skipping missed slots",
                        metadata: ["scrape.behind_ms": "\(behind / 1_000_000)"])
                }
                do {
                    try await clock.sleep(until: slot)
                } catch {
                    action = schedule.stop(stopReason.withLock { $0 })
                    continue
                }
                currentSlot = slot
                action = schedule.slotReached(owned: context.oracle.owns(target.ownerKey, atSlot: slot))
            case .scrape:
                let started = clock.now
                let stamp = settings.replicas > 1 ? currentSlot : started
                var report = await engine.scrape(using: context.scraper, at: stamp / 1_000_000)
                report.interval = settings.interval
                report.sinceLastScrape = previousScrape.map { .nanoseconds(started - $0) }
                previousScrape = started
                if !report.stopped {
                    for observer in context.observers { observer.scraped(target.key, report: report) }
                }
                action =
                    Task.isCancelled ? schedule.stop(stopReason.withLock { $0 }) : schedule.slotDone(now: clock.now)
            case .leaveToOwner(let slot):
                await engine.handOver(at: slot / 1_000_000)
                previousScrape = nil
                for observer in context.observers { observer.slotOwnedElsewhere(target.key, slot: slot) }
                action =
                    Task.isCancelled ? schedule.stop(stopReason.withLock { $0 }) : schedule.slotDone(now: clock.now)
            case .appendStaleness:
                await engine.markEverythingStale(at: clock.now / 1_000_000)
                return
            case .finish:
                if stopReason.withLock({ $0 }) == .shutdown { await engine.handOver(at: clock.now / 1_000_000) }
                return
            }
        }
    }
}
