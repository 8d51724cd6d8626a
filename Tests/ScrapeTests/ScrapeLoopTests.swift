import AsyncHTTPClient
import Events
import Foundation
import HTTPSecurity
import Logging
import Primitives
import TestSupport
import Testing
import WAL

@testable import Scrape

/// Reads every samples event of a WAL back as (series, value, timestamp) rows.
func readSamples(_ directory: String) throws -> [(labels: Labels, value: Double, timestamp: Int64, target: UInt64)] {
    var reader = try EventReader(directory: directory)
    var rows: [(Labels, Double, Int64, UInt64)] = []
    while let (_, event) = try reader.next() {
        guard case .samples(let batch) = event else { continue }
        for index in 0..<batch.count {
            rows.append(
                (reader.labels(for: batch.refs[index])!, batch.values[index], batch.timestamp(at: index), batch.target))
        }
    }
    return rows
}

@Suite(.serialized) struct ScrapeLoopTests {
    @Test func slotsDependOnTheKeyAloneAndAreAlignedToTheInterval() {
        let interval: Int64 = 15_000_000_000
        let key: UInt64 = 0xDEAD_BEEF_1234_5678
        let now: Int64 = 1_700_000_000_123_456_789
        let slot = ScrapeSlots(key: key, interval: interval).slot(atOrAfter: now)
        #expect(slot >= now && slot < now + interval)
        #expect((slot - Int64(key % UInt64(interval))) % interval == 0)
        #expect(ScrapeSlots(key: key, interval: interval).slot(atOrAfter: slot) == slot)
        #expect(ScrapeSlots(key: key, interval: interval).slot(atOrAfter: slot + 1) == slot + interval)
    }

    @Test func targetsGetJobInstanceAndURLFromTheirLabels() throws {
        let settings = ScrapeSettings(jobName: "node", params: ["module": ["cpu"]])
        let target = try #require(
            ScrapeTarget(
                discovered: ["__address__": "127.0.0.1:9101", "__meta_x": "y", "team": "a"], settings: settings))
        #expect(target.labels == Labels(["job": "node", "instance": "127.0.0.1:9101", "team": "a"]))
        #expect(target.url == "http://127.0.0.1:9101/metrics?module=cpu")
        #expect(target.key == TargetKey.of(["__address__": "127.0.0.1:9101", "team": "a"]))
        #expect(ScrapeTarget(discovered: ["job": "x"], settings: settings) == nil)
    }

    @Test func hashLabelsKeepATargetsOwnerKeyWhateverElseItsLabelsSay() throws {
        // alloy#6484: a discovery hands every member a differently signed URL for the same
        // database; with the owner hashed from `instance` alone, every member agrees on its owner.
        var settings = ScrapeSettings(jobName: "db")
        settings.hashLabels = ["instance", "job"]
        let first = try #require(
            ScrapeTarget(
                discovered: ["__address__": "db:5432", "instance": "orders", "__param_sig": "a1"], settings: settings))
        let second = try #require(
            ScrapeTarget(
                discovered: ["__address__": "db:5432", "instance": "orders", "__param_sig": "b2", "team": "x"],
                settings: settings))
        #expect(first.key != second.key)
        #expect(first.ownerKey == second.ownerKey)
        #expect(first.ownerLabels == Labels(["instance": "orders", "job": "db"]))
        #expect(
            first.ownerKey == TargetKey.of(Labels(["job": "db", "instance": "orders"]), only: ["job", "instance"]))
        // `instance` defaults to the address before it is hashed, as it does for the series.
        let defaulted = try #require(ScrapeTarget(discovered: ["__address__": "db:5432"], settings: settings))
        #expect(defaulted.ownerLabels == Labels(["instance": "db:5432", "job": "db"]))
        // A listed label changes the owner key; without the setting, the owner key is the key.
        let other = try #require(
            ScrapeTarget(discovered: ["__address__": "db:5432", "instance": "users"], settings: settings))
        #expect(other.ownerKey != first.ownerKey)
        let plain = try #require(
            ScrapeTarget(discovered: ["__address__": "db:5432", "__param_sig": "a1"], settings: .init(jobName: "db")))
        #expect(plain.ownerKey == plain.key && plain.ownerLabels == plain.discovered)
    }

    @Test func honorLabelsDecidesWhoWinsAConflict() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(sync: .never))
        let target = try #require(
            ScrapeTarget(discovered: ["__address__": "a:1", "job": "j"], settings: .init(jobName: "j")))
        let exposed: [(name: String, value: String)] = [("job", "exposed"), ("x", "1"), ("empty", "")]
        let renaming = ScrapeEngine(
            target: target, settings: .init(jobName: "j"), appender: log, logger: .init(label: "t"))
        #expect(
            renaming.seriesLabels(name: "m", exposed: exposed)
                == Labels(["__name__": "m", "job": "j", "exported_job": "exposed", "instance": "a:1", "x": "1"]))
        let honoring = ScrapeEngine(
            target: target, settings: .init(jobName: "j", honorLabels: true), appender: log, logger: .init(label: "t"))
        #expect(
            honoring.seriesLabels(name: "m", exposed: exposed)
                == Labels(["__name__": "m", "job": "exposed", "instance": "a:1", "x": "1"]))
        try log.close()
    }

    @Test(.timeLimit(.minutes(2))) func aRealNodeExporterIsScrapedIntoTheWALAndGoesStaleWhenItStops() async throws {
        let (exporter, port) = try await startNodeExporter()
        defer { exporter.stop() }
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(sync: .never))
        let clients = HTTPScraper.makePool()
        let observer = RecordingObserver()
        let service = ScrapeService(
            appender: log, scraper: HTTPScraper(pool: clients), oracle: OwnEverything(name: "me"),
            observers: [observer])
        let running = Task { await service.run() }
        // A timeout a loaded CI machine's debug build stays well within (400 ms once timed out
        // parsing a node exporter's 2,000 lines there).
        let settings = ScrapeSettings(jobName: "node", interval: .seconds(1), timeout: .milliseconds(900))
        let targets = ScrapeService.targets(
            discovered: [["__address__": "127.0.0.1:\(port)", "instance": "exporter-1"]], settings: settings)
        await service.update(job: "node", settings: settings, targets: targets)

        func rows() throws -> [(labels: Labels, value: Double, timestamp: Int64, target: UInt64)] {
            try log.writer.sync()
            return try readSamples(dir.path)
        }
        // Scrapes arrive: node_cpu_seconds_total with job and instance, and up = 1.
        let seen = await waitUntil(within: .seconds(10)) {
            (try? rows().contains { $0.labels.metricName == "up" && $0.value == 1 }) == true
                && observer.report(for: targets[0].key).map { $0.error == nil } == true
        }
        #expect(seen)
        let cpu = try rows().filter { $0.labels.metricName == "node_cpu_seconds_total" }
        #expect(!cpu.isEmpty)
        #expect(
            cpu.allSatisfy {
                $0.labels["job"] == "node" && $0.labels["instance"] == "exporter-1" && $0.labels["cpu"] != nil
            })
        #expect(observer.report(for: targets[0].key)?.error == nil)

        // The exporter stops: up = 0, and its series get staleness markers. The loop appends a
        // scrape before it tells its observers, so wait for the failed report as well.
        exporter.stop()
        let down = await waitUntil(within: .seconds(10)) {
            (try? rows().contains { $0.labels.metricName == "up" && $0.value == 0 }) == true
                && observer.report(for: targets[0].key)?.error != nil
        }
        #expect(down)
        let stale = try rows().filter { SampleBatch.isStaleMarker($0.value) }
        #expect(stale.contains { $0.labels.metricName == "node_cpu_seconds_total" })
        let report = try #require(observer.report(for: targets[0].key))
        #expect(report.error?.isEmpty == false)
        running.cancel()
        await running.value
        try await clients.shutdown()
        try log.close()
    }
}
