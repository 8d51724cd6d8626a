import Events
import Logging
import Primitives
import Testing

@testable import Scrape

/// The service and its loops over in-memory fakes: a clock the test moves, a scraper, an
/// appender, an oracle and an observer. Nothing sleeps on real time.
@Suite struct ScrapeServiceTests {
    static let second: Int64 = 1_000_000_000
    let start: Int64 = 1_700_000_000 * 1_000_000_000
    let body = "# TYPE demo_total counter\ndemo_total 1\ndemo_gauge 2\n"
    let reportNames = [
        "up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ]

    struct Fixture {
        let clock: ManualClock
        let scraper = FakeScraper()
        let appender = MemoryAppender()
        let oracle = FakeOracle()
        let observer = RecordingObserver()
        let service: ScrapeService

        init(now: Int64, observers: [any ScrapeObserver] = []) {
            clock = ManualClock(now: now)
            service = ScrapeService(
                appender: appender, scraper: scraper, oracle: oracle, observers: [observer] + observers, clock: clock,
                logger: Logger(label: "test"))
        }
    }

    func targets(_ addresses: [String], _ settings: ScrapeSettings) -> [ScrapeTarget] {
        ScrapeService.targets(discovered: addresses.map { ["__address__": $0] }, settings: settings)
    }

    /// The target `a:1` of `settings`, served the test's body by `fixture`, and its first slot.
    func servedTarget(_ fixture: Fixture, _ settings: ScrapeSettings) throws -> (target: ScrapeTarget, first: Int64) {
        let target = try #require(targets(["a:1"], settings).first)
        fixture.scraper.serve(target.url, body)
        return (target, ScrapeSlots(key: target.key, interval: settings.intervalNanoseconds).slot(atOrAfter: start))
    }

    @Test(.timeLimit(.minutes(1)))
    func aTargetIsScrapedAtItsOwnSlotsLeftToItsOwnerAtOthersAndMarkedStaleWhenRemoved() async throws {
        let fixture = Fixture(now: start)
        let (clock, appender, observer) = (fixture.clock, fixture.appender, fixture.observer)
        let running = Task { await fixture.service.run() }
        let settings = ScrapeSettings(jobName: "j", interval: .seconds(10))
        let interval = settings.intervalNanoseconds
        let (target, first) = try servedTarget(fixture, settings)

        await fixture.service.update(job: "j", settings: settings, targets: [target])
        await clock.waitForSleepers(1)
        #expect(clock.deadlines == [first])
        clock.advance(to: first)
        await clock.waitForSleepers(1)
        #expect(clock.deadlines == [first + interval])
        fixture.oracle.giveAway(first + interval)
        clock.advance(to: first + interval)
        await clock.waitForSleepers(1)
        clock.advance(to: first + 2 * interval)
        await clock.waitForSleepers(1)
        await fixture.service.update(job: "j", settings: settings, targets: [])
        running.cancel()
        await running.value

        let key = target.key
        #expect(
            observer.events == [
                .started(key), .scraped(key, timestamp: first / 1_000_000),
                .ownedElsewhere(key, slot: first + interval),
                .scraped(key, timestamp: (first + 2 * interval) / 1_000_000),
                .removed(key),
            ])
        #expect(fixture.scraper.fetches == [target.url, target.url])
        // Two scrapes (the slot left to its owner appended nothing), then the markers.
        let batches = appender.batches
        #expect(batches.count == 3)
        let samples = appender.samples
        let scraped = ["demo_total", "demo_gauge"] + reportNames
        #expect(samples.map(\.name) == scraped + scraped + scraped)
        #expect(samples.prefix(3).map(\.value) == [1, 2, 1])
        #expect(samples[0..<7].allSatisfy { $0.timestamp == first / 1_000_000 })
        #expect(samples[7..<14].allSatisfy { $0.timestamp == (first + 2 * interval) / 1_000_000 })
        #expect(samples[14...].allSatisfy { SampleBatch.isStaleMarker($0.value) })
        #expect(appender.changes.map(\.added.count) == [1, 0])
        #expect(appender.changes.map(\.removed) == [[], [key]])
        #expect(observer.targets.isEmpty)
    }

    @Test(.timeLimit(.minutes(1))) func aTargetRemovedAfterASlotOfAnotherMemberGetsNoMarkers() async throws {
        let fixture = Fixture(now: start)
        let clock = fixture.clock
        let running = Task { await fixture.service.run() }
        let settings = ScrapeSettings(jobName: "j", interval: .seconds(10))
        let interval = settings.intervalNanoseconds
        let (target, first) = try servedTarget(fixture, settings)

        await fixture.service.update(job: "j", settings: settings, targets: [target])
        await clock.waitForSleepers(1)
        clock.advance(to: first)
        await clock.waitForSleepers(1)
        fixture.oracle.giveAway(first + interval)
        clock.advance(to: first + interval)
        await clock.waitForSleepers(1)
        await fixture.service.update(job: "j", settings: settings, targets: [])
        running.cancel()
        await running.value

        #expect(fixture.appender.batches.count == 1)
        #expect(!fixture.appender.samples.contains { SampleBatch.isStaleMarker($0.value) })
        #expect(fixture.appender.changes.map(\.removed) == [[], [target.key]])
    }

    @Test(.timeLimit(.minutes(1))) func aLoopMoreThanAnIntervalLateSkipsTheSlotsItMissedAndCountsThem() async throws {
        let counters = ScrapeLimitCounters()
        let fixture = Fixture(now: start, observers: [counters])
        let clock = fixture.clock
        let running = Task { await fixture.service.run() }
        let settings = ScrapeSettings(jobName: "j", interval: .seconds(10))
        let interval = settings.intervalNanoseconds
        let (target, first) = try servedTarget(fixture, settings)

        await fixture.service.update(job: "j", settings: settings, targets: [target])
        await clock.waitForSleepers(1)
        // The loop wakes 35 s after its slot (a suspended process, say): it scrapes that slot, late,
        // then skips to the first slot after now.
        clock.advance(to: first + 35 * Self.second)
        await clock.waitForSleepers(1)
        #expect(clock.deadlines == [first + 4 * interval])
        running.cancel()
        await running.value
        #expect(fixture.observer.events.count == 2)
        #expect(fixture.observer.events.last == .scraped(target.key, timestamp: (first + 35 * Self.second) / 1_000_000))
        // The slots 10, 20 and 30 s after the first were scraped by no one
        // (`agentd_scrape_slots_skipped_total`).
        #expect(counters.slotsSkipped == 3)
    }

    @Test(.timeLimit(.minutes(1))) func aLateSlotWithinAnIntervalIsStillScraped() async throws {
        let counters = ScrapeLimitCounters()
        let fixture = Fixture(now: start, observers: [counters])
        let clock = fixture.clock
        let running = Task { await fixture.service.run() }
        let settings = ScrapeSettings(jobName: "j", interval: .seconds(10))
        let interval = settings.intervalNanoseconds
        let (target, first) = try servedTarget(fixture, settings)

        await fixture.service.update(job: "j", settings: settings, targets: [target])
        await clock.waitForSleepers(1)
        // 15 s late: the next slot (5 s ago) is scraped at once, then the one after on time.
        clock.advance(to: first + 15 * Self.second)
        await clock.waitForSleepers(1)
        #expect(clock.deadlines == [first + 2 * interval])
        running.cancel()
        await running.value
        let scraped = fixture.observer.events.filter { if case .scraped = $0 { true } else { false } }
        #expect(scraped.count == 2)
        #expect(counters.slotsSkipped == 0)
    }

    /// A disk that does not answer (an `fdatasync` that stalls) delays scrapes' reports, not the
    /// scrapes: the loop scrapes its next slots on time with its samples in the log, the reports
    /// come in order once the disk answers, and the loop waits with the disk only when
    /// `scrapesAheadOfTheDisk` scrapes do. A slot left to another member waits for them all.
    @Test(.timeLimit(.minutes(1))) func aStalledDiskDelaysTheReportsNotTheScrapes() async throws {
        struct DiskFailed: Error, CustomStringConvertible { var description: String { "the disk failed" } }
        let fixture = Fixture(now: start)
        let (clock, appender, observer) = (fixture.clock, fixture.appender, fixture.observer)
        let running = Task { await fixture.service.run() }
        let settings = ScrapeSettings(jobName: "j", interval: .seconds(10))
        let interval = settings.intervalNanoseconds
        let (target, first) = try servedTarget(fixture, settings)
        let key = target.key
        func slot(_ index: Int) -> Int64 { first + Int64(index) * interval }
        let limit = ScrapeLoop.scrapesAheadOfTheDisk

        appender.holdDisk()
        await fixture.service.update(job: "j", settings: settings, targets: [target])
        await clock.waitForSleepers(1)
        for index in 0..<(limit - 1) {
            clock.advance(to: slot(index))
            await clock.waitForSleepers(1)
            #expect(clock.deadlines == [slot(index + 1)], "scrape \(index)")
        }
        #expect(appender.batches.count == limit - 1)
        #expect(observer.events == [.started(key)])
        // One more, and the loop waits with the disk instead of sleeping until its next slot.
        clock.advance(to: slot(limit - 1))
        await appender.waitForHeld(limit)
        #expect(clock.deadlines.isEmpty)
        #expect(observer.events == [.started(key)])
        appender.releaseDisk()
        #expect(observer.events == [.started(key)] + (0..<limit).map { .scraped(key, timestamp: slot($0) / 1_000_000) })
        await clock.waitForSleepers(1)
        #expect(clock.deadlines == [slot(limit)])

        // A scrape whose sync fails is reported as failed, before the slot after it is left to its owner.
        appender.holdDisk()
        fixture.oracle.giveAway(slot(limit + 1))
        clock.advance(to: slot(limit))
        await appender.waitForHeld(1)
        await clock.waitForSleepers(1)
        clock.advance(to: slot(limit + 1))
        appender.releaseDisk(failing: DiskFailed())
        await clock.waitForSleepers(1)
        #expect(
            observer.events.suffix(2) == [
                .scraped(key, timestamp: slot(limit) / 1_000_000), .ownedElsewhere(key, slot: slot(limit + 1)),
            ])
        #expect(observer.report(for: key)?.error == "WAL append failed: the disk failed")
        running.cancel()
        await running.value
        #expect(appender.batches.count == limit + 1)
    }

    @Test(.timeLimit(.minutes(1))) func shutdownStopsEveryLoopWithoutMarkers() async throws {
        let fixture = Fixture(now: start)
        let clock = fixture.clock
        let running = Task { await fixture.service.run() }
        let settings = ScrapeSettings(jobName: "j", interval: .seconds(10))
        let all = targets(["a:1", "b:1"], settings)
        for target in all { fixture.scraper.serve(target.url, body) }

        await fixture.service.update(job: "j", settings: settings, targets: all)
        await clock.waitForSleepers(2)
        clock.advance(to: start + settings.intervalNanoseconds)
        await clock.waitForSleepers(2)
        running.cancel()
        await running.value

        #expect(fixture.appender.batches.count == 2)
        #expect(!fixture.appender.samples.contains { SampleBatch.isStaleMarker($0.value) })
        #expect(fixture.appender.changes.map(\.added.count) == [2])
        // Nothing runs or starts after the service has stopped.
        #expect(fixture.service.targets.isEmpty)
        await fixture.service.update(job: "k", settings: settings, targets: targets(["c:1"], settings))
        #expect(fixture.service.targets.isEmpty)
    }

    @Test(.timeLimit(.minutes(1))) func anIntervalChangeRestartsTheLoopQuietlyOnTheNewGrid() async throws {
        let fixture = Fixture(now: start)
        let clock = fixture.clock
        let running = Task { await fixture.service.run() }
        let slow = ScrapeSettings(jobName: "j", interval: .seconds(10))
        let fast = ScrapeSettings(jobName: "j", interval: .seconds(4))
        let (target, first) = try servedTarget(fixture, slow)

        await fixture.service.update(job: "j", settings: slow, targets: [target])
        await clock.waitForSleepers(1)
        clock.advance(to: first)
        await clock.waitForSleepers(1)
        await fixture.service.update(job: "j", settings: fast, targets: [target])
        // The old loop has stopped (without markers); the new one waits for the new grid's slot.
        await clock.waitForSleepers(1)
        let next = ScrapeSlots(key: target.key, interval: fast.intervalNanoseconds).slot(atOrAfter: first)
        #expect(clock.deadlines == [next])
        #expect(fixture.service.targets.map(\.settings) == [fast])
        running.cancel()
        await running.value

        #expect(!fixture.appender.samples.contains { SampleBatch.isStaleMarker($0.value) })
        // The target set did not change: one `targets` event, from the start.
        #expect(fixture.appender.changes.count == 1)
        #expect(fixture.observer.events.filter { $0 == .started(target.key) }.count == 2)
    }

    @Test(.timeLimit(.minutes(1))) func aFailedScrapeIsReportedAndStillAppendsItsUpSample() async throws {
        let counters = ScrapeLimitCounters()
        let fixture = Fixture(now: start, observers: [counters])
        let clock = fixture.clock
        let running = Task { await fixture.service.run() }
        let settings = ScrapeSettings(jobName: "j", interval: .seconds(10))
        let target = try #require(targets(["a:1"], settings).first)
        fixture.scraper.fail(target.url, ScrapeError("body size limit exceeded", kind: .bodySizeLimit))

        await fixture.service.update(job: "j", settings: settings, targets: [target])
        await clock.waitForSleepers(1)
        clock.advance(to: clock.deadlines[0])
        await clock.waitForSleepers(1)
        running.cancel()
        await running.value

        let report = try #require(fixture.observer.report(for: target.key))
        #expect(
            report.error
                == "body size limit exceeded (agentd's default body_size_limit; set body_size_limit to raise it)")
        #expect(report.failureKind == .bodySizeLimit)
        #expect(counters.bodySizeLimitExceeded == 1)
        #expect(fixture.appender.samples.map(\.name) == reportNames)
        #expect(fixture.appender.samples.first?.value == 0)
    }
}
