import Foundation
import HTTPSecurity
import Logging
import TestSupport
import Testing

@testable import Scrape

/// A job's HTTP settings reach its scrapes: one ``HTTPClientCredentials`` per job, kept while the
/// settings stay, and a credential that cannot be read fails the scrape with its reason.
@Suite struct ScrapeCredentialsTests {
    let start: Int64 = 1_700_000_000 * 1_000_000_000

    func bearer(_ token: String) -> HTTPClientSettings {
        HTTPClientSettings(authorization: .credentials(type: "Bearer", credentials: .inline(Secret(token))))
    }

    @Test(.timeLimit(.minutes(1))) func aJobKeepsOneCredentialsObjectUntilItsSettingsChange() async throws {
        let clock = ManualClock(now: start)
        let scraper = FakeScraper()
        let service = ScrapeService(
            appender: MemoryAppender(), scraper: scraper, oracle: FakeOracle(), clock: clock,
            logger: Logger(label: "test"))
        let running = Task { await service.run() }
        let settings = ScrapeSettings(jobName: "j", interval: .seconds(10), http: bearer("first"))
        let targets = ScrapeService.targets(
            discovered: [["__address__": "a:1"], ["__address__": "b:1"]], settings: settings)
        for target in targets { scraper.serve(target.url, "x 1\n") }

        await service.update(job: "prometheus.scrape.j", settings: settings, targets: [targets[0]])
        await clock.waitForSleepers(1)
        // A target joins: same settings, same credentials.
        await service.update(job: "prometheus.scrape.j", settings: settings, targets: targets)
        await clock.waitForSleepers(2)
        clock.advance(to: start + 10 * 1_000_000_000)
        await clock.waitForSleepers(2)
        let a = try #require(scraper.credentials(targets[0].url).first ?? nil)
        let b = try #require(scraper.credentials(targets[1].url).first ?? nil)
        #expect(a === b)
        #expect(a.owner == "prometheus.scrape.j")
        #expect(a.settings == bearer("first"))

        // The token changes: the loops restart with new credentials, shared again.
        var changed = settings
        changed.http = bearer("second")
        await service.update(
            job: "prometheus.scrape.j", settings: changed,
            targets: ScrapeService.targets(
                discovered: [["__address__": "a:1"], ["__address__": "b:1"]], settings: changed))
        await clock.waitForSleepers(2)
        clock.advance(to: start + 20 * 1_000_000_000)
        await clock.waitForSleepers(2)
        let a2 = try #require(scraper.credentials(targets[0].url).last ?? nil)
        let b2 = try #require(scraper.credentials(targets[1].url).last ?? nil)
        #expect(a2 === b2)
        #expect(a2 !== a)
        #expect(a2.settings == bearer("second"))
        running.cancel()
        await running.value
    }

    @Test func anUnreadableTokenFileFailsTheScrapeNamingTheFileAndTheJob() async throws {
        let directory = TemporaryDirectory()
        let missing = directory.sub("token")
        let credentials = HTTPClientCredentials(
            settings: HTTPClientSettings(authorization: .credentials(type: "Bearer", credentials: .file(missing))),
            owner: "prometheus.scrape.nodes")
        let pool = HTTPScraper.makePool()
        let scraper = HTTPScraper(pool: pool)
        let error = await #expect(throws: ScrapeError.self) {
            _ = try await scraper.fetch(
                url: "http://127.0.0.1:1/metrics", timeout: .seconds(1), bodySizeLimit: 0, credentials: credentials)
        }
        #expect(
            error?.message
                == "prometheus.scrape.nodes: could not read credentials_file \(missing): No such file or directory")
        #expect(error?.kind == .failed)
        try await pool.shutdown()
    }
}
