import AsyncHTTPClient
import Events
import Foundation
import Logging
import Primitives
import Synchronization
import TestSupport
import Testing
import WAL

@testable import Projections
@testable import RemoteWrite

/// Appends `count` scrapes of three series, timestamps `first`, `first + 1000`, …
private func appendScrapes(_ log: EventLog, count: Int, first: Int64) throws -> [SampleBatch] {
    let refs = log.refs(for: (0..<3).map { Labels(["__name__": "forwarded", "series": "\($0)"]) })
    return try (0..<count).map { index in
        let timestamp = first + Int64(index) * 1000
        let batch = SampleBatch(
            target: 1, timestamp: timestamp, refs: refs, values: refs.map { Double($0) + Double(index) })
        try log.append(batch)
        return batch
    }
}

/// (series label, timestamp) of every sample a receiver got.
private func received(_ receiver: TestReceiver) throws -> [String: [Int64]] {
    var out: [String: [Int64]] = [:]
    for request in receiver.requests {
        for series in try WriteRequestDecoder.decode(snappyCompressed: request.body) {
            let name = series.labels.first { $0.name == "series" }?.value ?? "?"
            out[name, default: []] += series.samples.map(\.timestamp)
        }
    }
    return out.mapValues { $0.sorted() }
}

@Suite(.serialized) struct ForwarderTests {
    @discardableResult
    private func forward(
        _ log: EventLog, cursor: String, to receiver: TestReceiver, until end: Position, as component: String? = nil,
        writeRelabel: (@Sendable (Labels) -> Labels?)? = nil, dropped: ((UInt64) -> Void)? = nil
    ) async throws -> Forwarder.Damage {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let file = try DeliveryCursorFile(path: cursor)
        let queue = RemoteWriteQueue(
            client: try RemoteWriteClient(
                endpoint: RemoteWriteEndpoint(name: "test", url: receiver.url), httpClient: client,
                logger: Logger(label: "test")),
            configuration: .init(
                shards: 2, capacity: 2_000, maxSamplesPerSend: 100, batchSendDeadline: .milliseconds(50)),
            resuming: try file.load(), logger: Logger(label: "test"), progressStore: file)
        let forwarder = Forwarder(
            name: "test", receiver: component, writeRelabel: writeRelabel, log: log, queue: queue,
            logger: Logger(label: "test"))
        let task = Task { try await forwarder.run() }
        await queue.waitUntilCommitted(Forwarder.pack(end))
        task.cancel()
        _ = await task.result
        try await client.shutdown()
        dropped?(queue.metrics.droppedSamplesTotal)
        return forwarder.passedOver
    }

    @Test(.timeLimit(.minutes(1))) func aRecordThatDoesNotDecodeIsSkippedCountedAndForwardingGoesOn() async throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.sub("wal"), options: .init(sync: .never))
        let before = try appendScrapes(log, count: 10, first: 1_000_000)
        func varint(_ value: Int) -> [UInt8] {
            var bytes: [UInt8] = []
            Varint.append(UInt64(value), to: &bytes)
            return bytes
        }
        // A series record announcing 100,004 labels (more than a reader takes): intact on disk,
        // it used to stop forwarding for every target. Then a sample of that series.
        _ = try log.writer.write([Record(type: EventKind.series.rawValue, payload: varint(500) + varint(100_004))])
        var samples: [UInt8] = [0] + [UInt8](repeating: 7, count: 8) + varint(2_000_000 << 1) + varint(1)
        samples += varint(500 << 1) + [0x00]
        _ = try log.writer.write([Record(type: EventKind.samples.rawValue, payload: samples)])
        let after = try appendScrapes(log, count: 10, first: 1_010_000)
        let (damage, got) = try await TestReceiver.with { receiver in
            let damage = try await forward(log, cursor: dir.sub("cursor.json"), to: receiver, until: log.writer.end)
            return (damage, try received(receiver))
        }
        try log.close()
        for series in ["0", "1", "2"] {
            #expect(got[series] == (before + after).map(\.timestamp), "series \(series)")
        }
        #expect(damage.recordsSkipped == 1)
        #expect(damage.samplesLost == 1)
    }

    @Test(.timeLimit(.minutes(1))) func anEndpointGetsOnlyTheSamplesRoutedToItsComponent() async throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.sub("wal"), options: .init(sync: .never))
        let refs = log.refs(for: (0..<3).map { Labels(["__name__": "forwarded", "series": "\($0)"]) })
        // No route (a record from before routes): everywhere; then routed to a and b, to b, to nothing.
        let routes: [[String]?] = [nil, ["a", "b"], ["b"], []]
        for (index, route) in routes.enumerated() {
            try await log.append(
                SampleBatch(
                    target: 1, timestamp: 1_000_000 + Int64(index) * 1000, refs: refs, values: [1, 2, 3],
                    route: route))
        }
        for (component, expected) in [("a", [1_000_000, 1_001_000]), ("b", [1_000_000, 1_001_000, 1_002_000])] {
            let got = try await TestReceiver.with { receiver in
                try await forward(
                    log, cursor: dir.sub("cursor-\(component).json"), to: receiver, until: log.writer.end,
                    as: component)
                return try received(receiver)
            }
            for series in ["0", "1", "2"] {
                #expect(got[series] == expected.map(Int64.init), "component \(component), series \(series)")
            }
        }
        try log.close()
    }

    @Test(.timeLimit(.minutes(1))) func writeRelabelRulesRewriteOrDropSeriesAsTheyAreSentAndDropsAreCounted()
        async throws
    {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.sub("wal"), options: .init(segmentSize: 512, sync: .never))
        let batches = try appendScrapes(log, count: 20, first: 1_000_000)
        let droppedCount = Mutex<UInt64>(0)
        let got = try await TestReceiver.with { receiver in
            try await forward(
                log, cursor: dir.sub("cursor.json"), to: receiver, until: log.writer.end,
                writeRelabel: { labels in
                    // Series 1 dropped; the others sent with their series label renamed.
                    guard labels["series"] != "1" else { return nil }
                    return Labels(labels.map { $0.name == "series" ? Label("series", "w" + $0.value) : $0 })
                },
                dropped: { count in droppedCount.withLock { $0 = count } })
            return try received(receiver)
        }
        try log.close()
        #expect(Set(got.keys) == ["w0", "w2"])
        #expect(got["w0"] == batches.map(\.timestamp))
        #expect(droppedCount.withLock { $0 } == UInt64(batches.count))
    }

    @Test(.timeLimit(.minutes(1))) func forwardingResumesFromTheDurableCursorAfterARestart() async throws {
        let dir = TemporaryDirectory()
        let cursor = dir.sub("remote_write/test.json")
        let firstLog = try EventLog(directory: dir.sub("wal"), options: .init(segmentSize: 256, sync: .never))
        let first = try appendScrapes(firstLog, count: 60, first: 1_000_000)
        let firstRun = try await TestReceiver.with { receiver in
            try await forward(firstLog, cursor: cursor, to: receiver, until: firstLog.writer.end)
            return try received(receiver)
        }
        try firstLog.close()
        #expect(firstRun["0"] == first.map(\.timestamp))

        // The agent restarts: a new segment, more scrapes. Only the new ones are sent, all of them.
        let log = try EventLog(directory: dir.sub("wal"), options: .init(segmentSize: 256, sync: .never))
        let second = try appendScrapes(log, count: 40, first: 2_000_000)
        let secondRun = try await TestReceiver.with { receiver in
            try await forward(log, cursor: cursor, to: receiver, until: log.writer.end)
            return try received(receiver)
        }
        try log.close()
        for series in ["0", "1", "2"] {
            #expect(secondRun[series] == second.map(\.timestamp), "series \(series)")
        }
        #expect(try SegmentName.list(in: dir.sub("wal")).count > 3)
    }

    /// Tiny segments without checkpoints, then larger ones with a checkpoint every few scrapes.
    @Test(arguments: [(256, EventLog.defaultCheckpointInterval), (4096, 1)])
    func aReplayWindowReturnsExactlyTheSamplesInsideItAcrossSegments(segmentSize: Int, checkpointInterval: Int) throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(
            directory: dir.sub("wal"), options: .init(segmentSize: segmentSize, sync: .never),
            checkpointInterval: checkpointInterval)
        let batches = try appendScrapes(log, count: 1000, first: 1_000_000)
        try log.close()
        #expect(try SegmentName.list(in: dir.sub("wal")).count > 3)
        let checkpoints = try LogSummary.read(directory: dir.sub("wal")).segments.reduce(0) {
            $0 + ($1.records[.checkpoint] ?? 0)
        }
        #expect((checkpoints > 10) == (checkpointInterval == 1))
        let store = try ProjectionStore.open(path: dir.sub("index.sqlite"))
        try Projector.catchUp(store: store, walDirectory: dir.sub("wal"))
        let since: Int64 = 1_000_000 + 420 * 1000
        let until: Int64 = 1_000_000 + 580 * 1000
        let expected = batches.filter { $0.timestamp >= since && $0.timestamp <= until }.count * 3
        for index in [store, nil] as [ProjectionStore?] {
            let window = ReplayWindow(
                since: since, until: until, selectors: [try SeriesSelector("forwarded{series=~\"0|2\"}")])
            var seen: [(Int64, String)] = []
            let problems = try window.forEachSample(walDirectory: dir.sub("wal"), store: index) { sample in
                seen.append((sample.timestamp, sample.labels["series"]!))
            }
            #expect(problems.isEmpty)
            #expect(seen.count == expected / 3 * 2)
            #expect(seen.allSatisfy { $0.0 >= since && $0.0 <= until && $0.1 != "1" })
        }
        // The index really narrows the read: the window's segments are a fraction of all.
        let window = ReplayWindow(since: since, until: until)
        #expect(
            try window.segments(walDirectory: dir.sub("wal"), store: store).count < SegmentName.list(in: dir.sub("wal"))
                .count / 2)
    }

    private func ownership(
        _ time: Int64, _ key: UInt64, from: String, to: String, _ cause: OwnershipEvent.Cause, _ detail: String
    ) -> Event {
        .ownership(
            OwnershipEvent(
                time: time, effective: time + 500, target: key, labels: Labels(["instance": "node-\(key)"]),
                previousOwner: from, newOwner: to, cause: cause, detail: detail))
    }

    @Test func ownershipHistoryAnswersFromKnownEventsAndARebuildEqualsTheIncrementalProjection() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.sub("wal"), options: .init(segmentSize: 1024, sync: .never))
        let incremental = try ProjectionStore.open(path: dir.sub("incremental.sqlite"))
        var events: [Event] = []
        for round in 0..<20 {
            let time = Int64(1_000_000 + round * 10_000)
            events = [
                .membership(
                    MembershipEvent(
                        time: time, lamport: UInt64(round), member: "agentd-\(round % 3)", address: "127.0.0.1:1",
                        state: round % 2 == 0 ? .participant : .dead, incarnation: 1, reportedBy: ["agentd-9"])),
                ownership(time, 1, from: "agentd-1", to: "agentd-2", .memberLeft, "agentd-1 left gracefully"),
                ownership(
                    time + 1, 2, from: "agentd-2", to: "agentd-1", .memberDead,
                    "agentd-2 declared dead after suspicion by agentd-1"),
            ]
            for event in events { try log.append(event) }
            _ = try appendScrapes(log, count: 3, first: time)
            // Caught up after every round, as the running agent does.
            try Projector.catchUp(store: incremental, walDirectory: dir.sub("wal"))
        }
        try log.close()
        let rebuilt = try ProjectionStore.open(path: dir.sub("rebuilt.sqlite"))
        try Projector.rebuild(store: rebuilt, walDirectory: dir.sub("wal"))

        func strip(_ records: [OwnershipEventRecord]) -> [OwnershipEventRecord] {
            records.map {
                var copy = $0; copy.id = nil; return copy
            }
        }
        #expect(strip(try incremental.ownershipHistory()) == strip(try rebuilt.ownershipHistory()))
        #expect(
            try incremental.membershipHistory().map {
                var copy = $0; copy.id = nil; return copy
            }
                == rebuilt.membershipHistory().map {
                    var copy = $0; copy.id = nil; return copy
                })
        #expect(try incremental.allSegments() == rebuilt.allSegments())

        let history = try incremental.ownershipHistory(OwnershipQuery(targetKey: 2))
        #expect(history.count == 20)
        #expect(history.allSatisfy { $0.causeKind == .memberDead && $0.causeDetail.contains("declared dead") })
        let byMember = try incremental.ownershipHistory(OwnershipQuery(member: "agentd-1", since: 1_000_000 + 150_000))
        #expect(byMember.count == 2 * 5)
        #expect(try incremental.ownershipHistory(OwnershipQuery(targetLabels: ["instance": "node-1"])).count == 20)
    }
}
