import AsyncHTTPClient
import Logging
import Testing

@testable import RemoteWrite

@Suite(.timeLimit(.minutes(2))) struct RemoteWriteQueueTests {
    private func makeQueue(
        _ receiver: TestReceiver, shards: Int = 3, capacity: Int = 100, maxSamplesPerSend: Int = 50,
        deadline: Duration = .milliseconds(20), external: [RemoteWriteLabel] = []
    ) throws -> RemoteWriteQueue {
        let endpoint = RemoteWriteEndpoint(
            name: "test", url: receiver.url, remoteTimeout: .seconds(2), minBackoff: .milliseconds(5),
            maxBackoff: .milliseconds(20))
        let client = try RemoteWriteClient(
            endpoint: endpoint, httpClient: receiver.httpClient, logger: Logger(label: "test"))
        return RemoteWriteQueue(
            client: client,
            configuration: .init(
                shards: shards, capacity: capacity, maxSamplesPerSend: maxSamplesPerSend, batchSendDeadline: deadline),
            externalLabels: external, logger: Logger(label: "test"))
    }

    @Test func everySampleArrivesInOrderPerSeriesAndTheCursorReachesTheEnd() async throws {
        try await TestReceiver.with { receiver in
            let queue = try makeQueue(receiver, external: [.init(name: "cluster", value: "c1")])
            let series = (0..<20 as Range<UInt64>).map { id in
                RemoteWriteLabelSet(
                    [
                        .init(name: "__name__", value: "m"), .init(name: "id", value: "\(id)"),
                        .init(name: "instance", value: "target-\(id)"),
                    ], externalLabels: queue.externalLabels)
            }
            try await running(queue) {
                for scrape in 0..<30 {
                    let samples = (0..<20 as Range<UInt64>).map {
                        RemoteWriteQueue.Sample(
                            series: series[Int($0)], timestamp: Int64(scrape) * 1000,
                            value: Double(scrape))
                    }
                    try await queue.append(samples, position: UInt64(scrape + 1))
                }
                await queue.flush()
            }
            #expect(queue.committedPosition == 30)
            var received: [String: [RemoteWriteSample]] = [:]
            for request in receiver.requests {
                for series in try WriteRequestDecoder.decode(snappyCompressed: request.body) {
                    #expect(series.labels.contains(.init(name: "cluster", value: "c1")))
                    received[series.labels.first { $0.name == "id" }!.value, default: []] += series.samples
                }
            }
            #expect(received.count == 20)
            for samples in received.values {
                #expect(samples.map(\.timestamp) == (0..<30).map { Int64($0) * 1000 })
            }
            let metrics = queue.metrics
            #expect(metrics.samplesTotal == 600)
            #expect(metrics.highestSentTimestamp == 29_000)
            #expect(metrics.bytesTotal == UInt64(receiver.requests.reduce(0) { $0 + $1.body.count }))
            #expect(metrics.pendingSamples == 0)
        }
    }

    @Test func aFullBacklogSuspendsAppendInsteadOfGrowing() async throws {
        try await TestReceiver.with(script: { _ in .hang }) { receiver in
            let queue = try makeQueue(receiver, shards: 1, capacity: 100, maxSamplesPerSend: 50)
            let series = RemoteWriteLabelSet(
                [.init(name: "__name__", value: "m")], externalLabels: queue.externalLabels)
            try await running(queue) {
                let appender = Task {
                    for position in 1...10 as ClosedRange<UInt64> {
                        let samples = (0..<50).map {
                            RemoteWriteQueue.Sample(
                                series: series, timestamp: Int64(position) * 100 + Int64($0), value: 1)
                        }
                        try await queue.append(samples, position: position)
                    }
                }
                // The first batch is out (and never answered); then the shard fills up again.
                await receiver.waitForRequests(1)
                await queue.waitUntilAppendSuspended()
                // One batch in flight (hanging) plus a full shard: 150 samples taken in, no more.
                #expect(queue.metrics.pendingSamples == 100)
                #expect(queue.committedPosition == nil)
                appender.cancel()
                await #expect(throws: CancellationError.self) { try await appender.value }
            }
        }
    }

    @Test func droppedBatchesAreCountedAndLetTheCursorAdvance() async throws {
        try await TestReceiver.with(script: { _ in .status(400, body: "bad labels") }) { receiver in
            let queue = try makeQueue(receiver, shards: 2)
            let series = RemoteWriteLabelSet(
                [.init(name: "__name__", value: "m")], externalLabels: queue.externalLabels)
            try await running(queue) {
                try await queue.append([.init(series: series, timestamp: 1, value: 1)], position: 7)
                try await queue.append([.init(series: nil, timestamp: 1, value: 1)], position: 8)
                await queue.flush()
            }
            #expect(queue.committedPosition == 8)
            #expect(queue.metrics.failedSamplesTotal == 1)
            #expect(queue.metrics.failedRequestsTotal == 1)
            #expect(queue.metrics.droppedSamplesTotal == 1)
            #expect(queue.metrics.samplesTotal == 0)
        }
    }

    @Test func theCursorStaysBeforeSamplesThatAreStillRetried() async throws {
        try await TestReceiver.with(script: { $0 < 3 ? .status(200) : .status(503) }) { receiver in
            let queue = try makeQueue(receiver, shards: 1, maxSamplesPerSend: 1, deadline: .milliseconds(1))
            let series = RemoteWriteLabelSet(
                [.init(name: "__name__", value: "m")], externalLabels: queue.externalLabels)
            try await running(queue) {
                for position in 1...5 as ClosedRange<UInt64> {
                    try await queue.append(
                        [.init(series: series, timestamp: Int64(position), value: 1)], position: position)
                }
                await queue.waitUntilCommitted(3)
                // Request 3 failed and request 4 is its retry: the failure was counted before it.
                await receiver.waitForRequests(5)
            }
            #expect(queue.committedPosition == 3)
            #expect(queue.metrics.retriedSamplesTotal > 0)
            #expect(queue.metrics.samplesTotal == 3)
        }
    }

    @Test func recordsWithoutSamplesStillAdvanceTheCursor() async throws {
        try await TestReceiver.with { receiver in
            let queue = try makeQueue(receiver)
            try await running(queue) {
                try await queue.append([], position: 42)
            }
            #expect(queue.committedPosition == 42)
            #expect(receiver.requests.isEmpty)
        }
    }

    @Test func aShardWaitingForItsBatchDeadlineSleepsInsteadOfSpinning() async throws {
        try await TestReceiver.with { receiver in
            let queue = try makeQueue(receiver, shards: 1, deadline: .milliseconds(600))
            try await running(queue) {
                let series = RemoteWriteLabelSet(
                    [.init(name: "__name__", value: "m")], externalLabels: queue.externalLabels)
                let before = queue.wakeups
                try await queue.append([.init(series: series, timestamp: 1, value: 1)], position: 1)
                await queue.waitUntilCommitted(1)
                // Waiting 600 ms for the batch deadline costs a handful of wake-ups, not a busy loop.
                #expect(queue.wakeups - before < 10, "\(queue.wakeups - before) wake-ups")
            }
        }
    }

    @Test func batchesThatFillBeforeTheirDeadlineShareOneAlarm() async throws {
        try await TestReceiver.with { receiver in
            let queue = try makeQueue(receiver, shards: 1, maxSamplesPerSend: 2, deadline: .seconds(600))
            try await running(queue) {
                let series = RemoteWriteLabelSet(
                    [.init(name: "__name__", value: "m")], externalLabels: queue.externalLabels)
                await queue.waitUntilShardWaits(0)
                for position in 1...41 {
                    let sample = RemoteWriteQueue.Sample(series: series, timestamp: Int64(position), value: 1)
                    try await queue.append([sample], position: UInt64(position))
                    // A full batch woke the shard: it sends it and waits again.
                    await queue.waitUntilShardWaits(0)
                }
                #expect(receiver.requests.count == 20)
                // Each batch but the first started while the alarm set for the one before it (earlier)
                // was still set: twenty-one batch deadlines, one timer.
                #expect(queue.alarmsSet == 1, "\(queue.alarmsSet) alarms for 21 batch deadlines")
                await queue.flush()
                #expect(queue.committedPosition == 41)
            }
            #expect(receiver.requests.count == 21)
        }
    }

    @Test func onlyAShardThatTricklesFreesItsRequestBuffers() {
        let start = ContinuousClock.now
        let gap = RemoteWriteQueue.sparseRequests
        func releases(batch: Int, after previous: Duration?) -> Bool {
            RemoteWriteQueue.releasesBuffers(
                batch: batch, maxSamplesPerSend: 2_000, started: start,
                previous: previous.map { start - $0 })
        }
        // A batch that left at its deadline, long after the shard's previous request or as its first.
        #expect(releases(batch: 1_025, after: gap * 5))
        #expect(releases(batch: 1_025, after: gap))
        #expect(releases(batch: 1, after: nil))
        // A full batch: more follow, however far apart.
        #expect(!releases(batch: 2_000, after: gap * 3))
        #expect(!releases(batch: 2_000, after: nil))
        // Partial batches sent close together (a short batch_send_deadline, or retries).
        #expect(!releases(batch: 1_025, after: gap / 2))
    }
}
