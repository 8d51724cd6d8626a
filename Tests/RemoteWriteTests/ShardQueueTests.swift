import Testing

@testable import RemoteWrite

/// The queue's decisions, driven with explicit instants: no receiver, no tasks, no sleeps.
@Suite struct ShardQueueTests {
    typealias Mark = DeliveryProgress.Mark

    /// Some instant; every other is made from it, and the machine never reads a clock.
    private let t0 = ContinuousClock.now

    private func machine(
        shards: Int = 1, capacity: Int = 100, maxSamplesPerSend: Int = 4, deadline: Duration = .seconds(5),
        resuming: DeliveryProgress? = nil
    ) -> ShardQueue {
        ShardQueue(
            configuration: .init(
                shards: shards, capacity: capacity, maxSamplesPerSend: maxSamplesPerSend,
                batchSendDeadline: deadline),
            endpoint: RemoteWriteEndpoint(
                name: "test", url: "http://127.0.0.1:1/api/v1/write", minBackoff: .milliseconds(100),
                maxBackoff: .milliseconds(400), maxRetryAfter: .seconds(2)),
            mapping: "m", resuming: resuming)
    }

    /// `count` series whose samples go to `shard` of `shards`.
    private func series(_ count: Int, shard: Int = 0, of shards: Int = 1) -> [RemoteWriteLabelSet] {
        (0..<10_000).lazy.map { RemoteWriteLabelSet([.init(name: "instance", value: "\($0)")]) }
            .filter { Int($0.shardKey % UInt64(shards)) == shard }.prefix(count).map { $0 }
    }

    /// Appends one record of `samples` at `position`; returns what became of each sample.
    @discardableResult
    private func append(
        _ machine: inout ShardQueue, _ samples: [(RemoteWriteLabelSet?, Int64)], at position: UInt64,
        now: ContinuousClock.Instant
    ) -> [ShardQueue.Enqueued] {
        machine.open(position)
        let enqueued = samples.map { machine.enqueue(.init(series: $0.0, timestamp: $0.1, value: 1), now: now) }
        _ = machine.finishAppend()
        return enqueued
    }

    private func request(
        _ action: ShardQueue.Action, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ShardQueue.Request {
        guard case .send(let request) = action else {
            Issue.record("expected a request, got \(action)", sourceLocation: sourceLocation)
            throw Unexpected()
        }
        return request
    }

    private func waitsUntil(_ action: ShardQueue.Action) -> ContinuousClock.Instant?? {
        guard case .wait(let until) = action else { return .none }
        return .some(until)
    }

    private func settlement(_ reply: ShardQueue.Reply) throws -> ShardQueue.Settlement {
        guard case .settled(let settlement) = reply else {
            Issue.record("expected a settlement, got \(reply)")
            throw Unexpected()
        }
        return settlement
    }

    private struct Unexpected: Error {}

    private let refusedOutOfOrder = RemoteWriteDrop(status: 400, message: "out of order sample", attempts: 1)

    // MARK: - Batching

    @Test func anIdleShardWaitsForSamplesWithoutATimer() {
        var queue = machine()
        #expect(waitsUntil(queue.nextAction(shard: 0, now: t0)) == .some(nil))
    }

    @Test func aPartialBatchWaitsForItsDeadlineAndAFullOneLeavesAtOnce() throws {
        var queue = machine(maxSamplesPerSend: 4, deadline: .seconds(5))
        let a = series(1)[0]
        let enqueued = append(&queue, [(a, 1), (a, 2), (a, 3)], at: 1, now: t0)
        // The first sample wakes the shard: it has a deadline to wait for.
        #expect(
            enqueued == [.queued(shard: 0, wake: true), .queued(shard: 0, wake: false), .queued(shard: 0, wake: false)])
        #expect(waitsUntil(queue.nextAction(shard: 0, now: t0 + .seconds(1))) == .some(t0 + .seconds(5)))
        // The fourth fills a batch: the shard is woken and sends it before the deadline.
        #expect(
            append(&queue, [(a, 4), (a, 5)], at: 2, now: t0 + .seconds(2)) == [
                .queued(shard: 0, wake: true), .queued(shard: 0, wake: false),
            ])
        let full = try request(queue.nextAction(shard: 0, now: t0 + .seconds(2)))
        #expect(full.samples.map(\.timestamp) == [1, 2, 3, 4])
        #expect(full.isNewBatch && full.attempt == 1)
        _ = queue.answered(shard: 0, .accepted(bytes: 10, newest: 4), now: t0 + .seconds(2))
        // The rest has waited since the batch left: its deadline counts from then.
        #expect(waitsUntil(queue.nextAction(shard: 0, now: t0 + .seconds(3))) == .some(t0 + .seconds(7)))
        let late = try request(queue.nextAction(shard: 0, now: t0 + .seconds(7)))
        #expect(late.samples.map(\.timestamp) == [5])
        #expect(queue.metrics.pendingSamples == 0)
    }

    @Test func aSeriesKeepsItsShardAndItsOrder() throws {
        var queue = machine(shards: 2, maxSamplesPerSend: 100)
        let (a, b) = (series(1, shard: 0, of: 2)[0], series(1, shard: 1, of: 2)[0])
        for position in 1...3 as ClosedRange<UInt64> {
            append(&queue, [(a, Int64(position)), (b, Int64(position))], at: position, now: t0)
        }
        _ = queue.beginFlush()
        for (shard, labels) in [(0, a), (1, b)] {
            let sent = try request(queue.nextAction(shard: shard, now: t0))
            #expect(sent.samples.allSatisfy { $0.series.isSameSet(as: labels) })
            #expect(sent.samples.map(\.timestamp) == [1, 2, 3])
        }
    }

    @Test func aShardWithARequestOutWaitsForItsAnswer() throws {
        var queue = machine()
        append(&queue, [(series(1)[0], 1)], at: 1, now: t0)
        _ = queue.beginFlush()
        _ = try request(queue.nextAction(shard: 0, now: t0))
        append(&queue, [(series(1)[0], 2)], at: 2, now: t0)
        #expect(waitsUntil(queue.nextAction(shard: 0, now: t0 + .seconds(10))) == .some(nil))
    }

    // MARK: - Back-pressure

    @Test func aFullShardTakesNoMoreUntilABatchLeavesIt() throws {
        var queue = machine(capacity: 4, maxSamplesPerSend: 2)
        let a = series(1)[0]
        queue.open(1)
        let enqueued = (1...5).map { queue.enqueue(.init(series: a, timestamp: Int64($0), value: 1), now: t0) }
        #expect(enqueued.last == .full(shard: 0))
        #expect(!queue.hasRoom(in: 0))
        #expect(queue.metrics.pendingSamples == 4)
        let sent = try request(queue.nextAction(shard: 0, now: t0))
        #expect(sent.samples.count == 2 && sent.isNewBatch)
        #expect(queue.hasRoom(in: 0))
        #expect(queue.enqueue(.init(series: a, timestamp: 5, value: 1), now: t0) == .queued(shard: 0, wake: false))
        #expect(queue.metrics.pendingSamples == 3)
        // The record stays open while its samples are in the shard or in flight.
        let moved = queue.finishAppend()
        #expect(!moved && queue.committed == nil)
    }

    // MARK: - Retries

    @Test func aFailedRequestIsRetriedAfterABackoffThatDoublesUpToItsMaximum() throws {
        var queue = machine()
        append(&queue, [(series(1)[0], 1), (series(1)[0], 2)], at: 1, now: t0)
        _ = queue.beginFlush()
        var now = t0
        var sent = try request(queue.nextAction(shard: 0, now: now))
        var delays: [Duration] = []
        for attempt in 1...4 {
            #expect(sent.attempt == attempt && sent.run == 0..<2)
            guard
                case .retrying(let failure, _) = queue.answered(
                    shard: 0, .failed(reason: .serverError, status: 503, message: "down", retryAfter: nil), now: now)
            else {
                Issue.record("expected a retry")
                return
            }
            delays.append(failure.delay)
            #expect(waitsUntil(queue.nextAction(shard: 0, now: now + failure.delay / 2)) == .some(now + failure.delay))
            now = now + failure.delay
            sent = try request(queue.nextAction(shard: 0, now: now))
            #expect(!sent.isNewBatch)
        }
        #expect(delays == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(400)])
        #expect(queue.metrics.retriedSamplesTotal == 8)
        #expect(queue.committed == nil)
        let settled = try settlement(queue.answered(shard: 0, .accepted(bytes: 10, newest: 2), now: now))
        #expect(settled.recovered?.failures == 4)
        #expect(settled.recovered?.outage == .milliseconds(1100))
        #expect(queue.committed == 1)
        #expect(queue.metrics.samplesTotal == 2)
    }

    @Test func retryAfterReplacesTheBackoffUpToItsMaximum() throws {
        var queue = machine()
        append(&queue, [(series(1)[0], 1)], at: 1, now: t0)
        _ = queue.beginFlush()
        _ = try request(queue.nextAction(shard: 0, now: t0))
        var delays: [Duration] = []
        var now = t0
        for retryAfter in [Duration.seconds(1), .seconds(60), nil] {
            guard
                case .retrying(let failure, _) = queue.answered(
                    shard: 0, .failed(reason: .rateLimited, status: 429, message: "slow down", retryAfter: retryAfter),
                    now: now)
            else {
                Issue.record("expected a retry")
                return
            }
            delays.append(failure.delay)
            now = now + failure.delay
            _ = try request(queue.nextAction(shard: 0, now: now))
        }
        // Capped at maxRetryAfter; the backoff goes on from the delay it replaced, capped too.
        #expect(delays == [.seconds(1), .seconds(2), .milliseconds(400)])
    }

    @Test func anOutageIsReportedWhenItStartsThenAtMostOnceAMinute() throws {
        var queue = machine()
        append(&queue, [(series(1)[0], 7)], at: 1, now: t0)
        _ = queue.beginFlush()
        var now = t0
        var reports: [ShardQueue.OutageReport?] = []
        for _ in 0..<200 {
            _ = try request(queue.nextAction(shard: 0, now: now))
            guard
                case .retrying(let failure, let outage) = queue.answered(
                    shard: 0, .failed(reason: .network, status: nil, message: "refused", retryAfter: nil), now: now)
            else {
                Issue.record("expected a retry")
                return
            }
            reports.append(outage)
            now = now + failure.delay
        }
        let made = reports.compactMap { $0 }
        #expect(
            made.first
                == .init(
                    first: true, reasonChanged: false, failures: 1, failingFor: .zero, pending: 0, oldestPending: nil))
        #expect(made.dropFirst().allSatisfy { !$0.first })
        // 200 attempts 400 ms apart: 80 s, so one report when it starts and one a minute later.
        #expect(made.count == 2)
        #expect(made.last?.failingFor ?? .zero >= .seconds(60))
    }

    @Test func failuresAreCountedByReasonAndAChangeOfReasonIsReportedAtOnce() throws {
        var queue = machine()
        append(&queue, [(series(1)[0], 7)], at: 1, now: t0)
        _ = queue.beginFlush()
        var now = t0
        var reports: [ShardQueue.OutageReport?] = []
        let reasons: [RemoteWriteFailureReason] = [
            .tls, .tls, .unauthorized, .unauthorized, .unauthorized, .credentials,
        ]
        for reason in reasons {
            _ = try request(queue.nextAction(shard: 0, now: now))
            guard
                case .retrying(let failure, let outage) = queue.answered(
                    shard: 0, .failed(reason: reason, status: nil, message: "no", retryAfter: nil), now: now)
            else {
                Issue.record("expected a retry")
                return
            }
            #expect(failure.reason == reason)
            reports.append(outage)
            now = now + failure.delay
        }
        #expect(reports.map { $0?.first } == [true, nil, false, nil, nil, false])
        #expect(reports.map { $0?.reasonChanged } == [false, nil, true, nil, nil, true])
        #expect(queue.metrics.failedAttempts == [.tls: 2, .unauthorized: 3, .credentials: 1])
        // Nothing was dropped: the batch is still in flight, and is delivered once accepted.
        #expect(queue.metrics.failedSamplesTotal == 0)
        _ = try request(queue.nextAction(shard: 0, now: now))
        _ = try settlement(queue.answered(shard: 0, .accepted(bytes: 10, newest: 7), now: now))
        #expect(queue.metrics.samplesTotal == 1)
        #expect(queue.committed == 1)
    }

    // MARK: - Refusals

    @Test func refusedSamplesAreIsolatedAndTheRestDelivered() throws {
        var queue = machine()
        let a = series(1)[0]
        append(&queue, [(a, 1), (a, 2), (a, 3), (a, 4)], at: 1, now: t0)
        _ = queue.beginFlush()
        // The receiver refuses every request holding the sample at offset 1.
        var runs: [Range<Int>] = []
        var reply = ShardQueue.Reply.next
        while case .next = reply {
            let sent = try request(queue.nextAction(shard: 0, now: t0))
            runs.append(sent.run)
            reply = queue.answered(
                shard: 0, sent.run.contains(1) ? .refused(refusedOutOfOrder) : .accepted(bytes: 1, newest: nil), now: t0
            )
        }
        #expect(runs == [0..<4, 0..<2, 0..<1, 1..<2, 2..<4])
        let settled = try settlement(reply)
        #expect(settled.refused == [.outOfOrder: 1])
        #expect(settled.result.accepted == 3 && settled.result.requests == 5)
        #expect(settled.commitMoved && queue.committed == 1)
        #expect(queue.metrics.refusedSamples == [.outOfOrder: 1])
        #expect(queue.metrics.samplesTotal == 3 && queue.metrics.requestsTotal == 2)
    }

    @Test func samplesNoNewerThanOneOutOfBoundsAreRefusedWithoutBeingSent() throws {
        var queue = machine(shards: 1, maxSamplesPerSend: 4)
        let sets = series(4)
        append(&queue, [(sets[0], 2), (sets[1], 1), (sets[2], 1), (sets[3], 5)], at: 1, now: t0)
        _ = queue.beginFlush()
        var runs: [Range<Int>] = []
        var reply = ShardQueue.Reply.next
        let outOfBounds = RemoteWriteDrop(status: 400, message: "out of bounds", attempts: 1)
        while case .next = reply {
            let sent = try request(queue.nextAction(shard: 0, now: t0))
            runs.append(sent.run)
            let old = sent.samples.contains { $0.timestamp <= 2 }
            reply = queue.answered(shard: 0, old ? .refused(outOfBounds) : .accepted(bytes: 1, newest: 5), now: t0)
        }
        #expect(runs == [0..<4, 0..<2, 0..<1, 3..<4])
        #expect(try settlement(reply).refused == [.outOfBounds: 3])
        #expect(queue.metrics.samplesTotal == 1)
    }

    @Test func aRequestRefusedForAnotherReasonIsDroppedWholeAndCounted() throws {
        var queue = machine()
        append(&queue, [(series(1)[0], 1), (series(1)[0], 2)], at: 1, now: t0)
        append(&queue, [(nil, 3)], at: 2, now: t0)
        _ = queue.beginFlush()
        _ = try request(queue.nextAction(shard: 0, now: t0))
        let drop = RemoteWriteDrop(status: 400, message: "bad labels", attempts: 1)
        let settled = try settlement(queue.answered(shard: 0, .refused(drop), now: t0))
        #expect(settled.result.drops.map { $0.drop } == [drop])
        #expect(queue.committed == 2)
        let metrics = queue.metrics
        #expect(metrics.failedSamplesTotal == 2 && metrics.failedRequestsTotal == 1)
        #expect(metrics.droppedSamplesTotal == 1 && metrics.samplesTotal == 0)
    }

    // MARK: - Progress

    @Test func theSentMarkMovesBeforeASendAndTheAcknowledgedMarkAfterItsAnswer() throws {
        var queue = machine(shards: 1, maxSamplesPerSend: 3)
        let a = series(1)[0]
        append(&queue, [(a, 1), (a, 2)], at: 10, now: t0)
        append(&queue, [(a, 3), (a, 4)], at: 20, now: t0)
        let first = try request(queue.nextAction(shard: 0, now: t0))
        #expect(first.isNewBatch)
        #expect(queue.progress.sent == [Mark(position: 20, samples: 1)])
        #expect(queue.progress.acknowledged == [nil])
        _ = queue.answered(shard: 0, .accepted(bytes: 1, newest: 3), now: t0)
        #expect(queue.progress.acknowledged == [Mark(position: 20, samples: 1)])
        #expect(queue.committed == 10)
        #expect(
            queue.progress
                == DeliveryProgress(
                    committed: 10, acknowledged: [Mark(position: 20, samples: 1)],
                    sent: [Mark(position: 20, samples: 1)], mapping: "m"))
    }

    @Test func theCommittedPositionPassesARecordOnlyOnceEveryShardHasSettledIt() throws {
        var queue = machine(shards: 2, maxSamplesPerSend: 100)
        let (a, b) = (series(1, shard: 0, of: 2)[0], series(1, shard: 1, of: 2)[0])
        append(&queue, [(a, 1), (b, 1)], at: 1, now: t0)
        append(&queue, [(a, 2)], at: 2, now: t0)
        _ = queue.beginFlush()
        _ = try request(queue.nextAction(shard: 0, now: t0))
        _ = try request(queue.nextAction(shard: 1, now: t0))
        let shard0 = try settlement(queue.answered(shard: 0, .accepted(bytes: 1, newest: 2), now: t0))
        #expect(!shard0.commitMoved && queue.committed == nil)
        #expect(queue.progress.acknowledged == [Mark(position: 2, samples: 1), nil])
        #expect(queue.progress.sent == [Mark(position: 2, samples: 1), Mark(position: 1, samples: 1)])
        let shard1 = try settlement(queue.answered(shard: 1, .accepted(bytes: 1, newest: 1), now: t0))
        #expect(shard1.commitMoved && queue.committed == 2)
    }

    @Test func aRecordWithoutSamplesIsCommittedWhenItsAppendEnds() {
        var queue = machine()
        queue.open(42)
        #expect(queue.committed == nil)
        let moved = queue.finishAppend()
        #expect(moved && queue.committed == 42)
    }

    @Test func resumingSkipsWhatThePreviousRunAcknowledgedAndKnowsWhatItSent() throws {
        // The previous run settled two samples of record 3 and had sent one of record 4.
        let stored = DeliveryProgress(
            committed: 2, acknowledged: [Mark(position: 3, samples: 2)], sent: [Mark(position: 4, samples: 1)],
            mapping: "m")
        var queue = machine(resuming: stored)
        #expect(queue.progress.acknowledged == stored.acknowledged)
        let a = series(1)[0]
        let record3 = append(&queue, [(a, 1), (a, 2), (a, 3)], at: 3, now: t0)
        #expect(record3 == [.skipped, .skipped, .queued(shard: 0, wake: true)])
        append(&queue, [(a, 4), (a, 5)], at: 4, now: t0)
        _ = queue.beginFlush()
        // The receiver has what was sent before the restart, and refuses it again.
        var reply = ShardQueue.Reply.next
        while case .next = reply {
            _ = try request(queue.nextAction(shard: 0, now: t0))
            let drop = RemoteWriteDrop(status: 400, message: "duplicate sample for timestamp", attempts: 1)
            reply = queue.answered(shard: 0, .refused(drop), now: t0)
        }
        // (3, 2) and (4, 0) were sent before; (4, 1) was not: a real duplicate.
        #expect(try settlement(reply).refused == [.alreadyDelivered: 2, .duplicate: 1])
        #expect(queue.committed == 4)
    }

    @Test func progressUnderAnotherMappingResumesAtTheCommittedPositionAlone() {
        let stored = DeliveryProgress(
            committed: 5, acknowledged: [Mark(position: 9, samples: 3)], sent: [nil], mapping: "other")
        var queue = machine(resuming: stored)
        #expect(queue.progress.acknowledged == [nil] && queue.committed == 5)
        #expect(append(&queue, [(series(1)[0], 1)], at: 9, now: t0) == [.queued(shard: 0, wake: true)])
    }

    // MARK: - Draining

    @Test func aFlushSendsWithoutWaitingForTheDeadlineUntilEverythingIsCommitted() throws {
        var queue = machine(deadline: .seconds(5))
        append(&queue, [(series(1)[0], 1)], at: 7, now: t0)
        #expect(waitsUntil(queue.nextAction(shard: 0, now: t0)) == .some(t0 + .seconds(5)))
        #expect(queue.beginFlush() == 7)
        _ = try request(queue.nextAction(shard: 0, now: t0))
        _ = queue.answered(shard: 0, .accepted(bytes: 1, newest: 1), now: t0)
        #expect(queue.committed == 7)
        queue.endFlush()
        append(&queue, [(series(1)[0], 2)], at: 8, now: t0)
        #expect(waitsUntil(queue.nextAction(shard: 0, now: t0)) == .some(t0 + .seconds(5)))
    }
}
