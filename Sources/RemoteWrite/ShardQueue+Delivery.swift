extension ShardQueue {
    /// What `shard` does at `now`: send a run of its batch, or wait.
    ///
    /// A shard without a batch in flight takes one when it holds a full batch, when its oldest
    /// sample has waited the batch deadline, or during a flush; otherwise it waits until that
    /// deadline. A shard whose run failed waits until its retry is due.
    mutating func nextAction(shard index: Int, now: Instant) -> Action {
        self.wakeups += 1
        if var flight = self.shards[index].flight.take() {
            defer { self.shards[index].flight = flight }
            switch flight.phase {
            case .sending:
                return .wait(until: nil)
            case .retrying(let at) where now < at:
                return .wait(until: at)
            case .ready, .retrying:
                flight.phase = .sending
                flight.attempts += 1
                return .send(
                    Request(
                        shard: index, batch: flight.batch, run: flight.run, attempt: flight.attempts,
                        isNewBatch: false))
            }
        }
        let count = self.shards[index].count
        guard count > 0 else { return .wait(until: nil) }
        let deadline = self.shards[index].oldestSince! + self.configuration.batchSendDeadline
        guard count >= self.configuration.maxSamplesPerSend || self.flushing > 0 || deadline <= now else {
            return .wait(until: deadline)
        }
        let batch = self.takeBatch(index, now: now)
        let last = batch[batch.count - 1].end
        self.sent[index] = max(self.sent[index] ?? last, last)
        var isolation = RefusalIsolation(count: batch.count)
        let run = isolation.nextRun(timestamp: { batch[$0].timestamp })!
        self.shards[index].flight = Flight(
            batch: batch, isolation: isolation, run: run, phase: .sending, attempts: 1,
            backoff: RetryBackoff(self.endpoint))
        return .send(Request(shard: index, batch: batch, run: run, attempt: 1, isNewBatch: true))
    }

    /// The receiver's answer to the request `shard` made last, at `now`.
    ///
    /// - Precondition: the shard's last action was ``Action/send(_:)`` and this is its answer.
    mutating func answered(shard index: Int, _ answer: Answer, now: Instant) -> Reply {
        guard var flight = self.shards[index].flight.take(), flight.phase == .sending else {
            preconditionFailure("shard \(index) answered without a request out")
        }
        let batch = flight.batch
        switch answer {
        case .failed(let reason, let status, let message, let retryAfter):
            let failure = RemoteWriteClient.RetryableFailure(
                reason: reason, status: status, message: message, delay: flight.backoff.delay(retryAfter: retryAfter))
            flight.phase = .retrying(at: now + failure.delay)
            self.shards[index].flight = flight
            return .retrying(failure, outage: self.receiverFailed(samples: batch.count, reason: reason, now: now))
        case .accepted(let bytes, let newest):
            flight.isolation.accepted(flight.run, bytes: bytes, newest: newest)
        case .refused(let drop):
            flight.isolation.refused(flight.run, drop: drop) { batch[$0].timestamp }
        }
        if let run = flight.isolation.nextRun(timestamp: { batch[$0].timestamp }) {
            flight.run = run
            flight.phase = .ready
            flight.attempts = 0
            flight.backoff = RetryBackoff(self.endpoint)
            self.shards[index].flight = flight
            return .next
        }
        return .settled(self.settle(batch, as: flight.isolation.result, shard: index, now: now))
    }

    /// Takes the shard's oldest samples: a full batch, or all when fewer are queued.
    private mutating func takeBatch(_ index: Int, now: Instant) -> [Item] {
        let batch = self.shards[index].takeFirstChunk()
        self.shards[index].oldestSince = self.shards[index].count > 0 ? now : nil
        return batch
    }

    /// Counts what became of a batch and moves the shard's and the queue's progress.
    private mutating func settle(
        _ batch: [Item], as result: RemoteWriteSender.Result, shard index: Int, now: Instant
    ) -> Settlement {
        var refused: [RemoteWriteRefusal: Int] = [:]
        let resumed = self.resumed?.sent[index]
        for (offset, refusal) in result.refused {
            let item = batch[offset]
            // Sent before the restart too (its request was in flight): the receiver has it.
            let mark = DeliveryProgress.Mark(position: item.position, samples: Int(item.ordinal))
            let reason = resumed.map { mark < $0 } == true ? .alreadyDelivered : refusal
            refused[reason, default: 0] += 1
            self.counters.refusedSamples[reason, default: 0] += 1
        }
        self.counters.samplesTotal += UInt64(result.accepted)
        self.counters.requestsTotal += UInt64(result.acceptedRequests)
        self.counters.bytesTotal += UInt64(result.acceptedBytes)
        self.counters.failedSamplesTotal += UInt64(result.dropped)
        self.counters.failedRequestsTotal += UInt64(result.drops.count)
        for (drop, _) in result.drops {
            self.counters.failedAttempts[.classify(status: drop.status), default: 0] += 1
        }
        if let newest = result.newestAccepted {
            self.counters.highestSentTimestamp = max(self.counters.highestSentTimestamp ?? newest, newest)
        }
        var recovered: (failures: Int, outage: Duration)?
        if result.acceptedRequests > 0 || !result.refused.isEmpty || !result.drops.isEmpty,
            let since = self.outage.since
        {
            recovered = (self.outage.failures, now - since)
            self.outage = Outage()
        }
        let last = batch[batch.count - 1].end
        self.acknowledged[index] = max(self.acknowledged[index] ?? last, last)
        var moved = false
        var start = 0
        while start < batch.count {
            var end = start + 1
            while end < batch.count, batch[end].position == batch[start].position { end += 1 }
            moved = self.tracker.settle(end - start, of: batch[start].position) || moved
            start = end
        }
        return Settlement(batch: batch, result: result, refused: refused, recovered: recovered, commitMoved: moved)
    }

    /// Counts a failed attempt of a batch of `samples`; reports the outage when the receiver
    /// starts failing, when the reason changes, and otherwise at most once per
    /// ``outageReportInterval``.
    private mutating func receiverFailed(samples: Int, reason: RemoteWriteFailureReason, now: Instant)
        -> OutageReport?
    {
        self.counters.retriedSamplesTotal += UInt64(samples)
        self.counters.failedAttempts[reason, default: 0] += 1
        self.outage.failures += 1
        let first = self.outage.since == nil
        if first { self.outage.since = now }
        let reasonChanged = !first && self.outage.lastReason != reason
        if !first, !reasonChanged, let last = self.outage.lastReport, now - last < Self.outageReportInterval {
            return nil
        }
        self.outage.lastReport = now
        self.outage.lastReason = reason
        return OutageReport(
            first: first, reasonChanged: reasonChanged, failures: self.outage.failures,
            failingFor: now - self.outage.since!, pending: self.pending, oldestPending: self.oldestPending)
    }
}
