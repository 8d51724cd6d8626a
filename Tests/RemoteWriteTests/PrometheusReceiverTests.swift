import AsyncHTTPClient
import Events
import Foundation
import Logging
import Projections
import RemoteWrite
import TestSupport
import Testing
import WAL

/// End to end against a real Prometheus 2.42 remote-write receiver.
@Suite(.serialized, .timeLimit(.minutes(2)), .enabled(if: PrometheusProcess.isInstalled))
struct PrometheusReceiverTests {
    private func makeQueue(_ url: String) throws -> RemoteWriteQueue {
        // AsyncHTTPClient keeps reconnecting to a refused port until the request's deadline, so
        // one attempt against a stopped receiver lasts the remote timeout: keep it short here.
        let endpoint = RemoteWriteEndpoint(
            name: "prometheus", url: url, remoteTimeout: .milliseconds(500), minBackoff: .milliseconds(30),
            maxBackoff: .milliseconds(500))
        let client = try RemoteWriteClient(endpoint: endpoint, httpClient: .shared, logger: Logger(label: "test"))
        return RemoteWriteQueue(
            client: client,
            configuration: .init(
                shards: 2, capacity: 2_000, maxSamplesPerSend: 500, batchSendDeadline: .milliseconds(50)),
            externalLabels: [.init(name: "agent", value: "replay-test")], logger: Logger(label: "test"))
    }

    private static var nowMilliseconds: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    @Test func samplesArriveWithExactValuesAndTimestamps() async throws {
        try await withTemporaryDirectory { directory in
            let prometheus = PrometheusProcess(directory: directory, port: freePort())
            try await prometheus.start()
            let queue = try makeQueue(prometheus.writeURL)
            let start = Self.nowMilliseconds - 60_000
            let values: [Double] = [0, -0.0, 1.5, -2.25e-300, 123_456_789.123, .infinity, -.infinity, 0.1]
            let labelSets = ["replay_test_a", "replay_test_b"].map { name in
                RemoteWriteLabelSet(
                    [.init(name: "__name__", value: name), .init(name: "instance", value: "ü:9100")],
                    externalLabels: queue.externalLabels)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try? await queue.run() }
                for (index, value) in values.enumerated() {
                    let timestamp = start + Int64(index) * 1_001
                    try await queue.append(
                        [
                            .init(series: labelSets[0], timestamp: timestamp, value: value),
                            .init(series: labelSets[1], timestamp: timestamp, value: -value),
                        ],
                        position: UInt64(index + 1))
                }
                await queue.flush()
                group.cancelAll()
            }
            #expect(queue.committedPosition == UInt64(values.count))
            #expect(queue.metrics.samplesTotal == UInt64(2 * values.count))

            let result = try await prometheus.rawSamples("replay_test_a", at: Self.nowMilliseconds)
            await prometheus.stop()
            let series = try #require(result.first)
            #expect(series.labels == ["__name__": "replay_test_a", "instance": "ü:9100", "agent": "replay-test"])
            #expect(series.samples.map(\.0) == values.indices.map { start + Int64($0) * 1_001 })
            // -0.0 is stored as such; Prometheus prints it as "-0", parsed back bit-exact.
            #expect(series.samples.map(\.1.bitPattern) == values.map(\.bitPattern))
        }
    }

    @Test func samplesSentWhileTheReceiverIsDownArriveAfterItRestarts() async throws {
        try await withTemporaryDirectory { directory in
            let prometheus = PrometheusProcess(directory: directory, port: freePort())
            try await prometheus.start()
            let queue = try makeQueue(prometheus.writeURL)
            let series = RemoteWriteLabelSet(
                [.init(name: "__name__", value: "replay_restart")], externalLabels: queue.externalLabels)
            let start = Self.nowMilliseconds - 120_000
            let count = 60
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try? await queue.run() }
                for index in 0..<count {
                    if index == 20 {
                        // Delivered before the outage.
                        await queue.waitUntilCommitted(20)
                        await prometheus.stop()
                    }
                    if index == 40 {
                        // The queue keeps retrying while the receiver is down.
                        #expect(await waitUntil(within: .seconds(30)) { queue.metrics.retriedSamplesTotal > 0 })
                        #expect(queue.committedPosition ?? 0 < 40)
                        try await prometheus.start()
                    }
                    try await queue.append(
                        [
                            .init(
                                series: series, timestamp: start + Int64(index) * 1_000,
                                value: Double(index))
                        ],
                        position: UInt64(index + 1))
                }
                await queue.flush()
                group.cancelAll()
            }
            #expect(queue.committedPosition == UInt64(count))
            #expect(queue.metrics.retriedSamplesTotal > 0)
            #expect(queue.metrics.failedSamplesTotal == 0)
            let result = try await prometheus.rawSamples("replay_restart", at: Self.nowMilliseconds)
            await prometheus.stop()
            let samples = try #require(result.first).samples
            #expect(samples.map(\.0) == (0..<count).map { start + Int64($0) * 1_000 })
            #expect(samples.map(\.1) == (0..<count).map(Double.init))
        }
    }

    /// `agentd replay --to`: a window of a WAL (several segments, checkpoints) sent in small
    /// requests arrives exactly; samples the receiver refuses (older than its head allows)
    /// are counted with its message.
    @Test func aReplayedWindowArrivesExactlyAndRefusedSamplesAreReportedWithTheReceiversMessage() async throws {
        try await withTemporaryDirectory { directory in
            let wal = directory.appendingPathComponent("wal").path
            let log = try EventLog(
                directory: wal, options: .init(segmentSize: 512, sync: .never), checkpointInterval: 1)
            let refs = log.refs(for: (0..<3).map { Labels(["__name__": "replayed", "series": "\($0)"]) })
            let now = Self.nowMilliseconds
            let old = now - 4 * 3_600_000
            let recent = now - 300_000
            var appended: [Int64: [Double]] = [:]
            for scrape in 0..<20 {
                for first in [old, recent] {
                    let timestamp = first + Int64(scrape) * 5_000
                    let values = refs.map { Double($0) * 1000 + Double(scrape) + 0.5 }
                    try await log.append(SampleBatch(target: 1, timestamp: timestamp, refs: refs, values: values))
                    appended[timestamp] = values
                }
            }
            try log.close()
            #expect(try SegmentName.list(in: wal).count > 2)

            let prometheus = PrometheusProcess(directory: directory, port: freePort())
            try await prometheus.start()
            let recentWindow = ReplayWindow(since: recent, until: now)
            let sent = try await RemoteWriteReplay.send(
                window: recentWindow, walDirectory: wal, store: nil, to: prometheus.writeURL, batchSize: 7)
            #expect(sent.sentSamples == 60)
            #expect(sent.rejectedSamples == 0)
            #expect(sent.requests == 9)  // 60 samples, 7 per request

            let refused = try await RemoteWriteReplay.send(
                window: ReplayWindow(since: old, until: old + 3_600_000), walDirectory: wal, store: nil,
                to: prometheus.writeURL, batchSize: 7)
            let result = try await prometheus.rawSamples("replayed", at: Self.nowMilliseconds)
            await prometheus.stop()
            #expect(refused.sentSamples == 0)
            #expect(refused.rejectedSamples == 60)
            #expect(refused.rejections.keys.contains { $0.contains("HTTP 400") && $0.contains("out of bounds") })
            #expect(refused.summary.contains("60 rejected by the receiver"))

            #expect(result.count == 3)
            for series in result {
                let index = Double(try #require(series.labels["series"].flatMap(Int.init)))
                #expect(series.samples.map(\.0) == (0..<20).map { recent + Int64($0) * 5_000 })
                #expect(series.samples.map(\.1) == (0..<20).map { index * 1000 + Double($0) + 0.5 })
            }
        }
    }
}
