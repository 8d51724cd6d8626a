import HTTPSecurity
import Logging
import Primitives
import Synchronization

/// Scrapes one target at its slots: carries out what its ``ScrapeSchedule`` decides, with the
/// scraper, the appender, the ownership oracle and the clock it is given, and tells the observers.
/// Runs until its task is cancelled; the stop reason set before decides on staleness markers.
///
/// A scrape's samples are in the log, in order, before the loop goes on; the loop does not wait
/// for them to be durable (the scrape's report reaches the observers then), unless
/// ``scrapesAheadOfTheDisk`` scrapes already wait: a stalled `fdatasync` delays reports, not the
/// slots. Before it leaves a slot to another member, and before it ends, every report is in.
final class ScrapeLoop: Sendable {
    /// How many scrapes of a target may wait for the disk before its loop waits with them. Each
    /// holds only its report (its samples are written): 16 ride out a 16-second stall of the disk
    /// at 1-second intervals.
    static let scrapesAheadOfTheDisk = 16

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
        let (key, observers, logger) = (target.key, context.observers, logger)
        let reports = PendingReports { report, outcome in
            var report = report
            if case .failure(let error) = outcome { report = report.appendFailed(error, logger: logger) }
            for observer in observers { observer.scraped(key, report: report) }
        }
        // When this member last scraped the target, if that was its previous slot.
        var previousScrape: Int64?
        // The slot being scraped: replicas stamp their samples with it.
        var currentSlot: Int64 = 0
        while true {
            switch action {
            case .waitForSlot(let slot), .skipMissedSlots(_, let slot, _):
                if case .skipMissedSlots(let behind, _, let skipped) = action {
                    logger.warning(
                        "Scrape loop fell behind; skipping missed slots",
                        metadata: ["scrape.behind_ms": "\(behind / 1_000_000)", "scrape.skipped_slots": "\(skipped)"])
                    for observer in context.observers { observer.slotsSkipped(target.key, count: skipped) }
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
                let scrape = await engine.collect(using: context.scraper, at: stamp / 1_000_000)
                var report = scrape.report
                report.interval = settings.interval
                report.sinceLastScrape = previousScrape.map { .nanoseconds(started - $0) }
                previousScrape = started
                if !report.stopped {
                    let number = reports.add(report)
                    do {
                        try await context.appender.append(samples: scrape.batches) { reports.completed(number, $0) }
                    } catch {
                        reports.completed(number, .failure(error))
                    }
                    await reports.wait(untilFewerThan: Self.scrapesAheadOfTheDisk)
                }
                action =
                    Task.isCancelled ? schedule.stop(stopReason.withLock { $0 }) : schedule.slotDone(now: clock.now)
            case .leaveToOwner(let slot):
                await reports.wait(untilFewerThan: 1)
                await engine.handOver(at: slot / 1_000_000)
                previousScrape = nil
                for observer in context.observers { observer.slotOwnedElsewhere(target.key, slot: slot) }
                action =
                    Task.isCancelled ? schedule.stop(stopReason.withLock { $0 }) : schedule.slotDone(now: clock.now)
            case .appendStaleness:
                await reports.wait(untilFewerThan: 1)
                await engine.markEverythingStale(at: clock.now / 1_000_000)
                return
            case .finish:
                await reports.wait(untilFewerThan: 1)
                if stopReason.withLock({ $0 }) == .shutdown { await engine.handOver(at: clock.now / 1_000_000) }
                return
            }
        }
    }
}
