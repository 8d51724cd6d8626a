import Logging
import Testing

@testable import Events
@testable import Scrape

@Suite struct MetricPipelineTests {
    /// One scrape fanned out along two pipelines: through a stage dropping `go_.*` to receiver a,
    /// and as scraped to receiver b.
    @Test func aScrapeIsAppendedOncePerPipelineRelabelledAndRoutedAndTheStageCounts() async throws {
        let counters = MetricRelabelCounters()
        let dropGo = MetricRelabelStage(
            id: "prometheus.relabel.drop_go",
            rules: [try RelabelRule(sourceLabels: ["__name__"], regex: "go_.*", action: .drop)],
            counters: counters)
        let settings = ScrapeSettings(
            jobName: "j",
            pipelines: [MetricPipeline(stages: [dropGo], route: ["a"]), MetricPipeline(route: ["b"])])
        let target = try #require(ScrapeTarget(discovered: ["__address__": "t:1", "job": "j"], settings: settings))
        let appender = MemoryAppender()
        let scraper = FakeScraper()
        var engine = ScrapeEngine(target: target, settings: settings, appender: appender, logger: Logger(label: "t"))

        scraper.serve(target.url, "go_goroutines 7\nnode_load1 0.5\n")
        _ = await engine.scrape(using: scraper, at: 1000)
        // The second scrape: go_goroutines is gone, so both pipelines mark it stale where it went.
        scraper.serve(target.url, "node_load1 0.25\n")
        _ = await engine.scrape(using: scraper, at: 2000)
        await engine.markEverythingStale(at: 3000)

        let batches = appender.batches
        #expect(batches.map(\.route) == [["a"], ["b"], ["a"], ["b"], ["a"], ["b"]])
        func names(_ batch: SampleBatch) -> [String] {
            batch.refs.map { appender.labels($0)?.metricName ?? "?" }
        }
        let report = [
            "up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling",
            "scrape_series_added",
        ]
        #expect(names(batches[0]) == ["node_load1"] + report)
        #expect(names(batches[1]) == ["go_goroutines", "node_load1"] + report)
        #expect(names(batches[2]) == ["node_load1"] + report)
        #expect(names(batches[3]) == ["node_load1", "go_goroutines"] + report)
        #expect(SampleBatch.isStaleMarker(batches[3].values[1]))
        #expect(names(batches[4]) == ["node_load1"] + report)
        #expect(names(batches[5]) == ["node_load1"] + report)
        // Seven samples entered the stage in each scrape (the second's go_ one a staleness marker), the
        // go_ one was dropped; six at the end. Two series were relabelled for the first time.
        let reading = counters.reading
        #expect(reading.processed == 7 + 7 + 6)
        #expect(reading.written == 6 + 6 + 6)
        #expect(reading.cacheMisses == 2)
        #expect(reading.cacheHits == reading.processed - 2)
    }

    @Test func aRuleThatRewritesLabelsGivesTheRelabelledSeriesItsOwnRef() async throws {
        let stage = MetricRelabelStage(
            id: "prometheus.relabel.tag",
            rules: [try RelabelRule(targetLabel: "env", replacement: "prod")], counters: MetricRelabelCounters())
        let settings = ScrapeSettings(jobName: "j", pipelines: [MetricPipeline(stages: [stage], route: ["a"])])
        let target = try #require(ScrapeTarget(discovered: ["__address__": "t:1", "job": "j"], settings: settings))
        let appender = MemoryAppender()
        let scraper = FakeScraper()
        var engine = ScrapeEngine(target: target, settings: settings, appender: appender, logger: Logger(label: "t"))
        scraper.serve(target.url, "m 1\n")
        _ = await engine.scrape(using: scraper, at: 1000)
        let batch = try #require(appender.batches.first)
        #expect(batch.route == ["a"])
        #expect(
            appender.labels(batch.refs[0]) == Labels(["__name__": "m", "env": "prod", "instance": "t:1", "job": "j"]))
    }
}
