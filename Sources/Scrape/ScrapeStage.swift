import Logging

/// One target's scrape work driven by hand, without the loop's clock: fetch through `scraper`,
/// parse, look the series up in the target's cache, register new ones and append the batch.
/// What `agentd-bench stages` measures per sample; the scrape loop runs the same engine.
public struct ScrapeStage {
    private var engine: ScrapeEngine

    public init(target: ScrapeTarget, settings: ScrapeSettings, appender: any ScrapeAppender) {
        engine = ScrapeEngine(target: target, settings: settings, appender: appender, logger: Logger(label: "stage"))
    }

    /// One scrape at `timestamp` (milliseconds since the epoch).
    public mutating func scrape(using scraper: any TargetScraper, at timestamp: Int64) async -> ScrapeReport {
        await engine.scrape(using: scraper, at: timestamp)
    }
}
