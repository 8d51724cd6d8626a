import AsyncHTTPClient
import Foundation
import Logging
import Synchronization
import TestSupport
import Testing
import WAL

@testable import RemoteWrite

/// Progress kept in memory, as a cursor file would keep it.
private final class MemoryProgressStore: DeliveryProgressStore {
    private let stored = Mutex<DeliveryProgress?>(nil)
    var progress: DeliveryProgress? { self.stored.withLock { $0 } }
    func store(_ progress: DeliveryProgress) throws { self.stored.withLock { $0 = progress } }
}

@Suite(.timeLimit(.minutes(2))) struct RemoteWriteDeliveryTests {
    private func makeQueue(
        _ receiver: TestReceiver, shards: Int = 2, maxSamplesPerSend: Int = 50, external: [RemoteWriteLabel] = [],
        resuming: DeliveryProgress? = nil, store: (any DeliveryProgressStore)? = nil
    ) throws -> RemoteWriteQueue {
        let endpoint = RemoteWriteEndpoint(
            name: "test", url: receiver.url, remoteTimeout: .seconds(5), minBackoff: .milliseconds(5),
            maxBackoff: .milliseconds(20))
        return RemoteWriteQueue(
            client: try RemoteWriteClient(
                endpoint: endpoint, httpClient: receiver.httpClient, logger: Logger(label: "test")),
            configuration: .init(
                shards: shards, capacity: 1_000, maxSamplesPerSend: maxSamplesPerSend,
                batchSendDeadline: .milliseconds(10)),
            externalLabels: external, resuming: resuming, logger: Logger(label: "test"), progressStore: store)
    }

    private func series(_ queue: RemoteWriteQueue, _ count: Int) -> [RemoteWriteLabelSet] {
        (0..<count).map {
            // One target each: the shard key is the family on its target (`__name__`, `instance`, `job`).
            RemoteWriteLabelSet(
                [
                    .init(name: "__name__", value: "m"), .init(name: "id", value: "\($0)"),
                    .init(name: "instance", value: "target-\($0)"),
                ], externalLabels: queue.externalLabels)
        }
    }

    /// Record `scrape` of a fixed set of series: one sample per series at `scrape × 1000`.
    private func scrape(_ series: [RemoteWriteLabelSet], _ scrape: Int) -> [RemoteWriteQueue.Sample] {
        series.enumerated().map { index, set in
            .init(series: set, timestamp: Int64(scrape) * 1000, value: Double(scrape * 100 + index))
        }
    }

    @Test func aSeriesKeepsItsShardWhateverLabelSetObjectCarriesIt() throws {
        let labels: [RemoteWriteLabel] = [
            .init(name: "__name__", value: "up"), .init(name: "job", value: "a"), .init(name: "instance", value: "h:1"),
            .init(name: "route", value: "/1"),
        ]
        // Made again for every segment, as the forwarder does: the shard comes from the labels alone.
        let first = RemoteWriteLabelSet(labels, externalLabels: [.init(name: "cluster", value: "c")])
        let again = RemoteWriteLabelSet(labels.reversed(), externalLabels: [.init(name: "cluster", value: "c")])
        #expect(!first.isSameSet(as: again))
        #expect(first.shardKey == again.shardKey)
        // A family's series on one target share a shard, so a request holds them together.
        func with(_ name: String, _ value: String) -> RemoteWriteLabelSet {
            RemoteWriteLabelSet(labels.filter { $0.name != name } + [.init(name: name, value: value)])
        }
        #expect(with("route", "/2").shardKey == first.shardKey)
        #expect(
            RemoteWriteLabelSet(labels, externalLabels: [.init(name: "cluster", value: "d")]).shardKey == first.shardKey
        )
        // Another family, target or job is another key.
        #expect(with("__name__", "down").shardKey != first.shardKey)
        #expect(with("instance", "h:2").shardKey != first.shardKey)
        #expect(with("job", "b").shardKey != first.shardKey)
        // The value moved to another of the three labels is another key too.
        #expect(
            RemoteWriteLabelSet([.init(name: "job", value: "x")]).shardKey
                != RemoteWriteLabelSet([.init(name: "instance", value: "x")]).shardKey)
        // Many targets spread over the shards.
        let keys = (0..<400).map {
            RemoteWriteLabelSet([.init(name: "__name__", value: "up"), .init(name: "instance", value: "h:\($0)")])
                .shardKey % 4
        }
        #expect(Set(keys).count == 4)
        #expect(keys.filter { $0 == 0 }.count > 50)
    }

    @Test func refusedSamplesAreIsolatedAndEveryOtherSampleIsDelivered() async throws {
        // Scrapes 0-4 are older than the receiver's window: out of bounds.
        let tsdb = TSDBLikeStore(minValidTime: 5_000)
        let (metrics, committed, requests) = try await TestReceiver.with(answering: { tsdb.answer($1) }) { receiver in
            let queue = try makeQueue(receiver, shards: 1, maxSamplesPerSend: 64)
            let sets = series(queue, 10)
            try await running(queue) {
                for index in 0..<30 {
                    var samples = scrape(sets, index)
                    if index == 12 {
                        // Series 3 goes back in time: out of order at the receiver.
                        samples[3].timestamp = 10_500
                    }
                    try await queue.append(samples, position: UInt64(index + 1))
                }
                await queue.flush()
            }
            return (queue.metrics, queue.committedPosition, receiver.requests.count)
        }
        #expect(committed == 30)
        #expect(metrics.refusedSamples == [.outOfOrder: 1, .outOfBounds: 50])
        #expect(metrics.samplesTotal == 300 - 51)
        #expect(metrics.failedSamplesTotal == 0)
        // Out of bounds is learnt once per request, not found sample by sample.
        #expect(requests < 60)
        let stored = tsdb.stored
        #expect(stored.count == 10)
        for (key, samples) in stored {
            #expect(samples.count == (key.contains("id=3,") ? 24 : 25), "\(key)")
            #expect(samples.map(\.timestamp) == samples.map(\.timestamp).sorted(), "\(key)")
        }
    }

    @Test func aRestartResendsOnlyTheRequestsThatWereInFlight() async throws {
        let tsdb = TSDBLikeStore()
        let progress = MemoryProgressStore()
        let total = 40
        let shards = 2
        // First run: the receiver applies request 9 and every later one, but never answers them:
        // the agent dies with those in flight.
        let inFlight = Mutex(0)
        try await TestReceiver.with(answering: { index, request in
            let answer = tsdb.answer(request)
            guard index >= 9 else { return answer }
            inFlight.withLock { $0 += 1 }
            return .hang
        }) { receiver in
            let queue = try makeQueue(receiver, shards: shards, maxSamplesPerSend: 30, store: progress)
            let sets = series(queue, 12)
            await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await queue.run() }
                group.addTask {
                    for index in 0..<total { try await queue.append(scrape(sets, index), position: UInt64(index + 1)) }
                }
                // Requests from the 10th on hang, and each shard has one out: two hang, one per shard.
                await receiver.waitForRequests(9 + shards)
                #expect(inFlight.withLock { $0 } == shards)
                group.cancelAll()
            }
        }
        let stored = try #require(progress.progress)
        #expect(stored.committed.map { $0 < UInt64(total) } ?? true)
        let before = tsdb.stored.values.reduce(0) { $0 + $1.count }

        // Second run, resuming from the stored progress.
        let (metrics, requests) = try await TestReceiver.with(answering: { tsdb.answer($1) }) { receiver in
            let queue = try makeQueue(
                receiver, shards: shards, maxSamplesPerSend: 30, resuming: stored, store: progress)
            let sets = series(queue, 12)
            let start = Int(stored.committed ?? 0)
            try await running(queue) {
                for index in start..<total { try await queue.append(scrape(sets, index), position: UInt64(index + 1)) }
                await queue.flush()
            }
            return (queue.metrics, receiver.requests.count)
        }
        // Everything is there exactly once, in order.
        for (key, samples) in tsdb.stored {
            #expect(samples.map(\.timestamp) == (0..<total).map { Int64($0) * 1000 }, "\(key)")
        }
        // Only the two requests in flight were sent again: their samples are the only refusals,
        // all known as already delivered, and no more than two requests' worth.
        let refused = metrics.refusedSamples.values.reduce(0, +)
        #expect(metrics.refusedSamples.keys.allSatisfy { $0 == .alreadyDelivered })
        #expect(refused > 0 && refused <= UInt64(shards * 30))
        // Accepted: what the receiver lacked, plus the newest sample of each series of the
        // resent requests (identical to what it holds, so accepted as Prometheus does).
        #expect(metrics.samplesTotal >= UInt64(total * 12 - before))
        #expect(metrics.samplesTotal + refused <= UInt64(total * 12 - before + shards * 30))
        #expect(requests > 0)
    }

    @Test func progressUnderAnotherShardMappingResumesAtTheCommittedPosition() async throws {
        try await TestReceiver.with { receiver in
            let old = DeliveryProgress(
                committed: 5, acknowledged: [.init(position: 9, samples: 3), nil], sent: [nil, nil], mapping: "other")
            let queue = try makeQueue(receiver, shards: 2, resuming: old)
            #expect(queue.progress.committed == 5)
            #expect(queue.progress.acknowledged == [nil, nil])
        }
    }

    @Test func theCursorFileRoundTripsAndNamesAreSafe() throws {
        let dir = TemporaryDirectory()
        let file = try DeliveryCursorFile(path: DeliveryCursorFile.path(root: dir.path, endpoint: "a/b"))
        #expect(file.path.hasPrefix(dir.path + "/remote_write/_a_b-"))
        #expect(try file.load() == nil)
        let progress = DeliveryProgress(
            committed: Forwarder.pack(.init(segment: 3, offset: 1234)),
            acknowledged: [.init(position: Forwarder.pack(.init(segment: 3, offset: 2000)), samples: 7), nil],
            sent: [.init(position: Forwarder.pack(.init(segment: 4, offset: 8)), samples: 1), nil], mapping: "m")
        try file.store(progress)
        #expect(try file.load() == progress)
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: file.path))
        #expect(throws: DeliveryCursorError.self) { try file.load() }
        #expect(DeliveryCursorFile.path(root: "/s", endpoint: "default") == "/s/remote_write/default.cursor")
        // A torn slot (a power loss mid-write) costs one step back, not the cursor.
        let again = try DeliveryCursorFile(path: file.path + "2")
        var older = progress
        older.committed = Forwarder.pack(.init(segment: 3, offset: 1000))
        try again.store(older)
        try again.store(progress)
        let handle = try #require(FileHandle(forUpdatingAtPath: again.path))
        try handle.seek(toOffset: 20)  // the newer store (sequence 2) is in slot 0
        try handle.write(contentsOf: Data([0xFF, 0xFF]))
        try handle.close()
        #expect(try again.load() == older)
    }

    /// What a store writes reads back whatever the progress holds: no committed position, shards
    /// with and without marks, offsets up to 2⁴⁰ − 1, and a mapping JSON must escape; and a new
    /// mapping replaces the one the file kept escaped.
    @Test func theCursorFileKeepsEveryFieldItWrites() throws {
        let dir = TemporaryDirectory()
        let file = try DeliveryCursorFile(path: DeliveryCursorFile.path(root: dir.path, endpoint: "e"))
        let far = Forwarder.pack(.init(segment: 99_999_999, offset: 1 << 40 - 1))
        var progress = DeliveryProgress(
            committed: nil, acknowledged: [nil, .init(position: far, samples: 0), .init(position: 0, samples: 12_345)],
            sent: [.init(position: 7, samples: Int(Int32.max)), nil, nil],
            mapping: "shards=3;q\"uote\\back\u{01}ctl;é")
        try file.store(progress)
        #expect(try file.load() == progress)
        progress.committed = far
        progress.mapping = "shards=3;plain"
        try file.store(progress)
        #expect(try file.load() == progress)
        #expect(try DeliveryCursorFile(path: file.path).load() == progress)
    }

}
