import AsyncHTTPClient
import Events
import Foundation
import Logging
import TestSupport
import Testing
import WAL

@testable import Scrape

@Suite(.serialized) struct MisbehavingTargetTests {
    /// `Fixtures/misbehaving_target.py` on a free port, once it answers.
    private func startMisbehavingTarget() async throws -> (ChildProcess, Int) {
        let port = freePort()
        let script = String(#filePath.dropLast("MisbehavingTargetTests.swift".count)) + "Fixtures/misbehaving_target.py"
        let server = try ChildProcess("/usr/bin/env", ["python3", script, String(port)], name: "misbehaving-target")
        let up = await waitUntil(within: .seconds(20)) {
            await httpGetAsync("http://127.0.0.1:\(port)/ok")?.status == 200
        }
        try #require(up, "the misbehaving target did not start: \(server.log)")
        return (server, port)
    }

    @Test(.timeLimit(.minutes(2))) func eachBadTargetFailsWithAClearReasonAndTheOthersAreUnaffected() async throws {
        let (server, port) = try await startMisbehavingTarget()
        defer { server.stop() }

        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(sync: .never))
        let client = HTTPScraper.makeClient()
        let manager = ScrapeManager(log: log, scraper: HTTPScraper(client: client), oracle: OwnEverything(name: "me"))
        let settings = ScrapeSettings(
            jobName: "bad", interval: .seconds(1), timeout: .milliseconds(800), bodySizeLimit: 1 << 20)
        let paths = ["ok", "slow", "huge", "garbage", "gzip", "status500", "missing"]
        var discovered = paths.map { ["__address__": "127.0.0.1:\(port)", "__metrics_path__": "/\($0)", "path": $0] }
        discovered.append(["__address__": "127.0.0.1:\(freePort())", "path": "refused"])
        await manager.update(
            job: "bad", settings: settings, targets: ScrapeManager.targets(discovered: discovered, settings: settings))

        var statuses: [String: TargetStatus] = [:]
        for _ in 0..<60 {
            try await Task.sleep(for: .milliseconds(200))
            statuses = Dictionary(manager.board.all.map { ($0.labels["path"]!, $0) }, uniquingKeysWith: { a, _ in a })
            if statuses.values.allSatisfy({ $0.lastScrape != nil }) { break }
        }
        await manager.stopAll()
        try await client.shutdown()
        try log.close()

        #expect(statuses["ok"]?.health == .up)
        #expect(statuses["ok"]?.lastSamples == 2)
        #expect(statuses["gzip"]?.health == .up)
        #expect(statuses["gzip"]?.lastSamples == 2)
        let reasons: [String: String] = [
            "slow": "timed out", "huge": "body size limit", "garbage": "invalid exposition",
            "status500": "500", "missing": "404", "refused": "onnection refused",
        ]
        for (path, reason) in reasons {
            let status = try #require(statuses[path], "no status for \(path)")
            #expect(status.health == .down, "\(path)")
            #expect(status.lastError?.contains(reason) == true, "\(path): \(status.lastError ?? "no error")")
        }
        // Every target, failed or not, wrote its `up` sample.
        let ups = try readSamples(dir.path).filter { $0.labels.metricName == "up" }
        #expect(Set(ups.compactMap { $0.labels["path"] }) == Set(paths + ["refused"]))
    }

    @Test(.timeLimit(.minutes(1))) func aTargetRemovedFromDiscoveryGetsStalenessMarkersAndATargetsEvent() async throws {
        let (server, port) = try await startMisbehavingTarget()
        defer { server.stop() }
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(sync: .never))
        let client = HTTPScraper.makeClient()
        let manager = ScrapeManager(log: log, scraper: HTTPScraper(client: client), oracle: OwnEverything(name: "me"))
        let settings = ScrapeSettings(jobName: "gone", interval: .milliseconds(300), timeout: .milliseconds(250))
        let targets = ScrapeManager.targets(
            discovered: [["__address__": "127.0.0.1:\(port)", "__metrics_path__": "/ok"]], settings: settings)
        await manager.update(job: "gone", settings: settings, targets: targets)
        #expect(await waitUntil(within: .seconds(20)) { manager.board.all.first?.health == .up })
        await manager.update(job: "gone", settings: settings, targets: [])
        await manager.stopAll()
        try await client.shutdown()
        try log.close()

        let rows = try readSamples(dir.path)
        let stale = Set(rows.filter { SampleBatch.isStaleMarker($0.value) }.map { $0.labels.metricName })
        #expect(stale.isSuperset(of: ["demo_total", "demo_gauge", "up"]), "\(stale)")
        // Nothing is scraped after the markers.
        let lastMarker = rows.lastIndex { SampleBatch.isStaleMarker($0.value) } ?? 0
        #expect(rows[(lastMarker + 1)...].allSatisfy { SampleBatch.isStaleMarker($0.value) })
        var reader = try EventReader(directory: dir.path)
        var removed: [UInt64] = []
        while let (_, event) = try reader.next() {
            if case .targets(let change) = event { removed += change.removed }
        }
        #expect(removed == [targets[0].key])
        #expect(manager.board.all.isEmpty)
    }

    /// The engine's bookkeeping across scrapes: a series repeated in one exposition (even with
    /// its labels in another order) is kept once, a vanished one gets a staleness marker once,
    /// and `scrape_series_added` counts the series the previous scrape did not have.
    @Test(.timeLimit(.minutes(1))) func repeatedVanishedAndNewSeriesAcrossScrapes() async throws {
        let (server, port) = try await startMisbehavingTarget()
        defer { server.stop() }
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(sync: .never))
        let client = HTTPScraper.makeClient()
        let settings = ScrapeSettings(jobName: "changing", interval: .seconds(1), timeout: .seconds(1))
        let target = try #require(
            ScrapeTarget(
                discovered: ["__address__": "127.0.0.1:\(port)", "__metrics_path__": "/changing"], settings: settings))
        var engine = ScrapeEngine(target: target, settings: settings, log: log, logger: Logger(label: "test"))
        var reports: [ScrapeEngine.Report] = []
        for _ in 0..<3 { reports.append(await engine.scrape(using: HTTPScraper(client: client))) }
        try await client.shutdown()
        try log.close()
        #expect(reports.map(\.error) == [nil, nil, nil])
        #expect(reports.map(\.samples) == [4, 3, 3])

        // Per scrape (by timestamp): the exposed series' values, then the report series.
        let rows = try readSamples(dir.path)
        let scrapes = Dictionary(grouping: rows, by: \.timestamp).sorted { $0.key < $1.key }.map(\.value)
        #expect(scrapes.count == 3)
        func values(_ rows: [(labels: Labels, value: Double, timestamp: Int64, target: UInt64)]) -> [String: [Double]] {
            Dictionary(
                grouping: rows.filter { !$0.labels.metricName.hasPrefix("scrape_") && $0.labels.metricName != "up" }
            ) {
                $0.labels.metricName
            }.mapValues { $0.map(\.value) }
        }
        func added(_ rows: [(labels: Labels, value: Double, timestamp: Int64, target: UInt64)]) -> Double? {
            rows.first { $0.labels.metricName == "scrape_series_added" }?.value
        }
        #expect(values(scrapes[0]) == ["a": [1], "b": [2], "c": [3], "d": [4]])
        #expect(added(scrapes[0]) == 4)
        let second = values(scrapes[1])
        #expect(second["a"] == [1] && second["c"] == [3] && second["e"] == [6])
        #expect(second["b"]?.count == 1 && second["b"].map { SampleBatch.isStaleMarker($0[0]) } == true)
        #expect(
            scrapes[1].filter { SampleBatch.isStaleMarker($0.value) }.map(\.labels.metricName).sorted() == ["b", "d"])
        #expect(added(scrapes[1]) == 1)
        #expect(values(scrapes[2]) == ["a": [1], "c": [3], "e": [6]])
        #expect(added(scrapes[2]) == 0)
    }
}
