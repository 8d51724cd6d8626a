import Events
import Logging
import NIOCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Forwards samples to one endpoint through parallel shards, as Prometheus's queue manager.
///
/// Input is neutral: the WAL tailer calls ``append(_:position:)`` for every `samples` record
/// (and for any other record, with no samples, so the position still advances); each sample
/// carries its series' label set, made once per series with ``labelSet(_:)``. A series goes to
/// the shard its labels hash to (``RemoteWriteLabelSet/shardKey``), whatever segment it came
/// from and however often the agent restarted, and each shard has one request in flight: a
/// series' samples leave in WAL order. A shard sends when it holds
/// ``Configuration/maxSamplesPerSend`` samples or its oldest sample has waited
/// ``Configuration/batchSendDeadline``; a request refused for some of its samples is split
/// until they are isolated (``RemoteWriteSender``).
///
/// Memory is bounded: each shard holds at most ``Configuration/capacity`` samples and `append`
/// suspends while its shard is full. The WAL is the buffer. ``progress`` says how far delivery
/// has got, exactly: the position everything before which is settled (sent, or refused and
/// counted) and, per shard, how many samples past it are settled too. Store it after every
/// acknowledged request (a ``DeliveryProgressStore``) and give it back as `resuming` after a restart: only
/// the requests that were in flight are sent again.
public final class RemoteWriteQueue: Sendable {
    /// Sharding and batching settings (`queue_config`).
    public struct Configuration: Sendable, Hashable {
        /// Parallel shards, each with one request in flight.
        public var shards: Int
        /// Samples a shard holds before `append` waits (`capacity`).
        public var capacity: Int
        /// Most samples in one request (`max_samples_per_send`).
        public var maxSamplesPerSend: Int
        /// Longest a sample waits for its batch to fill (`batch_send_deadline`).
        public var batchSendDeadline: Duration

        /// Creates a configuration; the defaults are Prometheus's except for the fixed shard count.
        public init(
            shards: Int = 4,
            capacity: Int = 10_000,
            maxSamplesPerSend: Int = 2_000,
            batchSendDeadline: Duration = .seconds(5)
        ) {
            precondition(shards > 0 && maxSamplesPerSend > 0 && capacity >= maxSamplesPerSend)
            self.shards = shards
            self.capacity = capacity
            self.maxSamplesPerSend = maxSamplesPerSend
            self.batchSendDeadline = batchSendDeadline
        }
    }

    /// One sample of a `samples` record.
    public struct Sample: Sendable {
        /// The series' labels, made by ``RemoteWriteQueue/labelSet(_:)``; nil when the series'
        /// labels are unknown: the sample is then skipped and counted as dropped.
        public var series: RemoteWriteLabelSet?
        /// Milliseconds since the Unix epoch.
        public var timestamp: Int64
        /// The value, sent bit-exact.
        public var value: Double

        /// Creates a sample.
        public init(series: RemoteWriteLabelSet?, timestamp: Int64, value: Double) {
            self.series = series
            self.timestamp = timestamp
            self.value = value
        }
    }

    private struct Queued: Sendable {
        var series: RemoteWriteLabelSet
        var timestamp: Int64
        var value: Double
        var position: UInt64
        /// The sample's rank among this shard's samples of its input record.
        var ordinal: Int32
    }

    private struct Shard: Sendable {
        var queue: [Queued] = []
        var head = 0
        var oldestSince: ContinuousClock.Instant?
        var consumer: CheckedContinuation<Void, Never>?
        var signalled = false

        var count: Int { self.queue.count - self.head }
    }

    private struct State: Sendable {
        var shards: [Shard]
        var tracker: CommitTracker
        var metrics = RemoteWriteMetrics()
        var producers: [UInt64: (shard: Int, continuation: CheckedContinuation<Void, any Error>)] = [:]
        var commitWaiters: [(id: UInt64, position: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiterID: UInt64 = 0
        var flushing = 0
        /// How often a shard woke up to look for a batch (tests check that idle shards sleep).
        var wakeups = 0
        /// Per shard: settled up to here, and sent up to here.
        var acknowledged: [DeliveryProgress.Mark?]
        var sent: [DeliveryProgress.Mark?]
        /// What the previous run had settled and sent, per shard (nil: resume at the cursor).
        var resumed: (acknowledged: [DeliveryProgress.Mark?], sent: [DeliveryProgress.Mark?])?
        /// Positions at or below this may hold samples the previous run settled.
        var resumeHorizon: UInt64 = 0
        var outage = Outage()
    }

    /// A receiver failing: when it began, how often, and when it was last reported.
    private struct Outage: Sendable {
        var since: ContinuousClock.Instant?
        var failures = 0
        var lastReport: ContinuousClock.Instant?
    }

    /// The settings in force.
    public let configuration: Configuration
    /// External labels added to every series stored from now on.
    public let externalLabels: [RemoteWriteLabel]
    /// What decides a series' shard (see ``DeliveryProgress/mapping``).
    public let mapping: String
    private let client: RemoteWriteClient
    private let logger: Logger
    private let state: Mutex<State>
    private let progressStore: (any DeliveryProgressStore)?
    /// Held while a progress snapshot is taken and stored, so stores never go backwards.
    private let storing = Mutex<ContinuousClock.Instant?>(nil)
    private let wallClock: @Sendable () -> Int64

    /// How often a receiver that keeps failing is reported again.
    static let outageReportInterval: Duration = .seconds(60)

    /// Creates a queue; nothing is sent until ``run()`` runs.
    ///
    /// - Parameters:
    ///   - resuming: the progress stored by a previous run, if any.
    ///   - progressStore: where ``progress`` is stored after every acknowledged request and
    ///     before every send.
    ///   - wallClock: milliseconds since the epoch (the age of a backlog is measured with it).
    public init(
        client: RemoteWriteClient,
        configuration: Configuration = .init(),
        externalLabels: [RemoteWriteLabel] = [],
        resuming stored: DeliveryProgress? = nil,
        logger: Logger,
        progressStore: (any DeliveryProgressStore)? = nil,
        wallClock: @escaping @Sendable () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
    ) {
        self.client = client
        self.configuration = configuration
        self.externalLabels = externalLabels
        self.logger = logger
        self.progressStore = progressStore
        self.wallClock = wallClock
        let external = externalLabels.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
        let externalKey = String(TargetKey.hash(Array(external.utf8)), radix: 16)
        self.mapping = "shards=\(configuration.shards);xxh64(labels);external=\(externalKey)"
        let none = [DeliveryProgress.Mark?](repeating: nil, count: configuration.shards)
        var state = State(
            shards: Array(repeating: Shard(), count: configuration.shards),
            tracker: CommitTracker(committed: stored?.committed), acknowledged: none, sent: none)
        if let stored, stored.mapping == self.mapping, stored.acknowledged.count == configuration.shards,
            stored.sent.count == configuration.shards
        {
            state.resumed = (stored.acknowledged, stored.sent)
            state.acknowledged = stored.acknowledged
            state.sent = stored.acknowledged
            state.resumeHorizon = (stored.acknowledged + stored.sent).compactMap { $0?.position }.max() ?? 0
        }
        state.metrics.shards = configuration.shards
        self.state = Mutex(state)
    }

    /// The endpoint's URL, for the `url` label of the metrics.
    public var endpointURL: String { self.client.endpoint.url }

    /// Shard wake-ups so far.
    var wakeups: Int { self.state.withLock { $0.wakeups } }

    /// The highest position at or below which everything is sent or counted as dropped.
    public var committedPosition: UInt64? {
        self.state.withLock { $0.tracker.committed }
    }

    /// Where delivery stands now.
    public var progress: DeliveryProgress {
        self.state.withLock { state in
            DeliveryProgress(
                committed: state.tracker.committed, acknowledged: state.acknowledged, sent: state.sent,
                mapping: self.mapping)
        }
    }

    /// A snapshot of the counters.
    public var metrics: RemoteWriteMetrics {
        self.state.withLock { state in
            var metrics = state.metrics
            metrics.pendingSamples = state.shards.reduce(0) { $0 + $1.count }
            metrics.oldestPendingTimestamp = Self.oldestPending(state)
            return metrics
        }
    }

    /// The label set this queue sends for `labels`: normalized, external labels added.
    public func labelSet(_ labels: [RemoteWriteLabel]) -> RemoteWriteLabelSet {
        RemoteWriteLabelSet(labels, externalLabels: self.externalLabels)
    }

    /// Queues the samples of one input record at `position`, suspending while a shard is full.
    ///
    /// Samples without a label set are skipped and counted in `droppedSamplesTotal`; samples
    /// that the run this queue resumes had settled are passed over. If the task is cancelled
    /// mid-way, the position stays open, so ``committedPosition`` will not pass it.
    ///
    /// - Precondition: `position` is greater than every position appended before.
    public func append(_ samples: some Collection<Sample>, position: UInt64) async throws {
        self.state.withLock { $0.tracker.open(position) }
        var iterator = samples.makeIterator()
        var carried: Sample? = nil
        // Per shard: how many of its samples this record has had so far.
        var ordinals = [Int32](repeating: 0, count: self.configuration.shards)
        while true {
            var resume: [CheckedContinuation<Void, Never>] = []
            let blocked: Int? = self.state.withLock { state in
                var added = 0
                defer { if added > 0 { state.tracker.add(added, to: position) } }
                let resuming = state.resumed != nil && position <= state.resumeHorizon
                while let sample = carried ?? iterator.next() {
                    carried = nil
                    guard let series = sample.series else {
                        state.metrics.droppedSamplesTotal += 1
                        continue
                    }
                    let index = self.shardIndex(series.shardKey)
                    let count = state.shards[index].count
                    if count >= self.configuration.capacity {
                        carried = sample
                        return index
                    }
                    let ordinal = ordinals[index]
                    ordinals[index] += 1
                    if resuming, let settled = state.resumed!.acknowledged[index],
                        DeliveryProgress.Mark(position: position, samples: Int(ordinal)) < settled
                    {
                        continue  // Delivered before the restart.
                    }
                    state.shards[index].queue.append(
                        Queued(
                            series: series, timestamp: sample.timestamp, value: sample.value, position: position,
                            ordinal: ordinal))
                    added += 1
                    state.metrics.highestAppendedTimestamp = max(
                        state.metrics.highestAppendedTimestamp ?? sample.timestamp, sample.timestamp)
                    if count == 0 {
                        state.shards[index].oldestSince = .now
                    }
                    if count == 0 || count + 1 == self.configuration.maxSamplesPerSend {
                        if let consumer = Self.signal(&state.shards[index]) { resume.append(consumer) }
                    }
                }
                return nil
            }
            for continuation in resume { continuation.resume() }
            guard let shard = blocked else { break }
            try await self.waitForRoom(in: shard)
        }
        let waiters = self.state.withLock { state in
            state.tracker.finishAppend(position) ? Self.takeCommitWaiters(&state) : []
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Sends everything appended so far without waiting for batch deadlines, and returns once it
    /// has all been sent or dropped (or the task is cancelled).
    public func flush() async {
        let (target, consumers) = self.state.withLock { state in
            state.flushing += 1
            return (state.tracker.lastOpened, state.shards.indices.compactMap { Self.signal(&state.shards[$0]) })
        }
        for consumer in consumers { consumer.resume() }
        if let target {
            await self.waitUntilCommitted(target)
        }
        self.state.withLock { $0.flushing -= 1 }
    }

    /// Returns once ``committedPosition`` has reached `position` or the task is cancelled.
    public func waitUntilCommitted(_ position: UInt64) async {
        let id = self.state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = self.state.withLock { state -> Bool in
                    if Task.isCancelled || (state.tracker.committed.map { $0 >= position } ?? false) {
                        return true
                    }
                    state.commitWaiters.append((id, position, continuation))
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter = self.state.withLock { state in
                state.commitWaiters.firstIndex { $0.id == id }.map { state.commitWaiters.remove(at: $0) }
            }
            waiter?.continuation.resume()
        }
    }

    /// Runs the shards until the task is cancelled. Unsent samples are not flushed on the way
    /// out: they are after ``committedPosition``, and are replayed from the WAL next time.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for index in 0..<self.configuration.shards {
                group.addTask { await self.runShard(index) }
            }
        }
        try Task.checkCancellation()
    }

    // MARK: - Shards

    private func runShard(_ index: Int) async {
        var sender = RemoteWriteSender(client: self.client, capacity: self.configuration.maxSamplesPerSend)
        var entries: [RemoteWriteBatch.Entry] = []
        entries.reserveCapacity(self.configuration.maxSamplesPerSend)
        while let items = await self.nextBatch(index) {
            entries.removeAll(keepingCapacity: true)
            for item in items {
                entries.append(.init(series: item.series, timestamp: item.timestamp, value: item.value))
            }
            let last = DeliveryProgress.Mark(position: items.last!.position, samples: Int(items.last!.ordinal) + 1)
            self.state.withLock { $0.sent[index] = max($0.sent[index] ?? last, last) }
            self.storeProgress()
            let result: RemoteWriteSender.Result
            do {
                result = try await sender.deliver(entries) { failure in
                    self.receiverFailed(failure, samples: items.count)
                }
            } catch {
                return  // Cancelled: the batch stays unsettled, so the cursor stays before it.
            }
            self.settle(items, as: result, shard: index, last: last)
            self.storeProgress()
        }
    }

    /// Counts what became of a batch, logs its refusals, and moves the shard's and the queue's progress.
    private func settle(
        _ items: [Queued], as result: RemoteWriteSender.Result, shard index: Int, last: DeliveryProgress.Mark
    ) {
        var refused: [RemoteWriteRefusal: Int] = [:]
        var recovered: (failures: Int, duration: Duration)?
        let waiters = self.state.withLock { state in
            let resumed = state.resumed?.sent[index]
            for (offset, refusal) in result.refused {
                let item = items[offset]
                // Sent before the restart too (its request was in flight): the receiver has it.
                let mark = DeliveryProgress.Mark(position: item.position, samples: Int(item.ordinal))
                let reason = resumed.map { mark < $0 } == true ? .alreadyDelivered : refusal
                refused[reason, default: 0] += 1
                state.metrics.refusedSamples[reason, default: 0] += 1
            }
            state.metrics.samplesTotal += UInt64(result.accepted)
            state.metrics.requestsTotal += UInt64(result.acceptedRequests)
            state.metrics.bytesTotal += UInt64(result.acceptedBytes)
            state.metrics.failedSamplesTotal += UInt64(result.dropped)
            state.metrics.failedRequestsTotal += UInt64(result.drops.count)
            if let newest = result.newestAccepted {
                state.metrics.highestSentTimestamp = max(state.metrics.highestSentTimestamp ?? newest, newest)
            }
            if result.acceptedRequests > 0 || !result.refused.isEmpty || !result.drops.isEmpty,
                let since = state.outage.since
            {
                recovered = (state.outage.failures, .now - since)
                state.outage = Outage()
            }
            state.acknowledged[index] = max(state.acknowledged[index] ?? last, last)
            var moved = false
            var start = 0
            while start < items.count {
                var end = start + 1
                while end < items.count, items[end].position == items[start].position { end += 1 }
                moved = state.tracker.settle(end - start, of: items[start].position) || moved
                start = end
            }
            return moved ? Self.takeCommitWaiters(&state) : []
        }
        for waiter in waiters { waiter.resume() }
        let endpoint = self.client.endpoint.name
        if let recovered {
            self.logger.info(
                "remote write receiver recovered",
                metadata: [
                    "remote_write.endpoint": "\(endpoint)", "remote_write.failed_attempts": "\(recovered.failures)",
                    "remote_write.outage": "\(recovered.duration)",
                ])
        }
        if let first = result.refused.first {
            let item = items[first.index]
            let counts = refused.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key)=\($0.value)" }
            self.logger.warning(
                "remote write receiver refused samples; the rest of the request was delivered",
                metadata: [
                    "remote_write.endpoint": "\(endpoint)", "remote_write.refused": "\(counts.joined(separator: ","))",
                    "remote_write.delivered": "\(result.accepted)", "remote_write.requests": "\(result.requests)",
                    "remote_write.series": "\(item.series)", "remote_write.timestamp": "\(item.timestamp)",
                    "remote_write.message": "\(result.refusalMessage ?? "")",
                ])
        }
        for (drop, _) in result.drops {
            self.logger.warning(
                "remote write request dropped: receiver refused it",
                metadata: [
                    "remote_write.endpoint": "\(endpoint)", "http.status": "\(drop.status)",
                    "remote_write.message": "\(drop.message)", "remote_write.attempts": "\(drop.attempts)",
                ])
        }
    }

    /// One failed attempt that will be retried: counted, and reported when the receiver starts
    /// failing and then at most once per ``outageReportInterval`` with the backlog.
    private func receiverFailed(_ failure: RemoteWriteClient.RetryableFailure, samples: Int) {
        let now = ContinuousClock.now
        let report = self.state.withLock {
            state -> (first: Bool, failures: Int, since: Duration, pending: Int, oldest: Int64?)? in
            state.metrics.retriedSamplesTotal += UInt64(samples)
            state.outage.failures += 1
            let first = state.outage.since == nil
            if first { state.outage.since = now }
            if !first, let last = state.outage.lastReport, now - last < Self.outageReportInterval { return nil }
            state.outage.lastReport = now
            return (
                first, state.outage.failures, now - state.outage.since!, state.shards.reduce(0) { $0 + $1.count },
                Self.oldestPending(state)
            )
        }
        guard let report else { return }
        var metadata: Logger.Metadata = [
            "remote_write.endpoint": "\(self.client.endpoint.name)", "remote_write.error": "\(failure)",
            "remote_write.samples_pending": "\(report.pending)",
        ]
        if let oldest = report.oldest {
            metadata["remote_write.oldest_pending_age"] = "\(Duration.milliseconds(max(0, self.wallClock() - oldest)))"
        }
        if report.first {
            self.logger.warning("remote write receiver is failing; samples wait in the WAL", metadata: metadata)
        } else {
            metadata["remote_write.failing_for"] = "\(report.since)"
            metadata["remote_write.failed_attempts"] = "\(report.failures)"
            self.logger.warning("remote write receiver still failing", metadata: metadata)
        }
    }

    /// Stores ``progress``. A failure (a full disk, say) leaves the stored cursor behind, which
    /// costs samples sent twice after a restart, never samples lost; it is logged once a minute.
    private func storeProgress() {
        guard let progressStore else { return }
        self.storing.withLock { lastFailure in
            do {
                try progressStore.store(self.progress)
            } catch {
                let now = ContinuousClock.now
                if let last = lastFailure, now - last < Self.outageReportInterval { return }
                lastFailure = now
                self.logger.warning(
                    "could not store the remote write cursor; it stays behind (samples may be sent twice)",
                    metadata: ["remote_write.endpoint": "\(self.client.endpoint.name)", "error": "\(error)"])
            }
        }
    }

    /// The timestamp of the oldest sample waiting in a shard.
    private static func oldestPending(_ state: State) -> Int64? {
        state.shards.compactMap { $0.count > 0 ? $0.queue[$0.head].timestamp : nil }.min()
    }

    private enum Step {
        case batch([Queued])
        case wait(until: ContinuousClock.Instant?)
    }

    /// The next batch for shard `index`, or `nil` once the task is cancelled.
    private func nextBatch(_ index: Int) async -> [Queued]? {
        while !Task.isCancelled {
            var producers: [CheckedContinuation<Void, any Error>] = []
            let step = self.state.withLock { state -> Step in
                state.wakeups += 1
                let count = state.shards[index].count
                guard count > 0 else { return .wait(until: nil) }
                let deadline = state.shards[index].oldestSince! + self.configuration.batchSendDeadline
                guard count >= self.configuration.maxSamplesPerSend || state.flushing > 0 || deadline <= .now else {
                    return .wait(until: deadline)
                }
                let taken = min(count, self.configuration.maxSamplesPerSend)
                // No copy of the shard here: one would make the next mutation copy its whole queue.
                let head = state.shards[index].head
                let items = Array(state.shards[index].queue[head..<(head + taken)])
                state.shards[index].head += taken
                if state.shards[index].head == state.shards[index].queue.count {
                    state.shards[index].queue.removeAll(keepingCapacity: true)
                    state.shards[index].head = 0
                } else if state.shards[index].head >= self.configuration.capacity {
                    state.shards[index].queue.removeFirst(state.shards[index].head)
                    state.shards[index].head = 0
                }
                state.shards[index].oldestSince = state.shards[index].count > 0 ? .now : nil
                for (id, producer) in state.producers where producer.shard == index {
                    producers.append(producer.continuation)
                    state.producers[id] = nil
                }
                return .batch(items)
            }
            for producer in producers { producer.resume() }
            switch step {
            case .batch(let items):
                return items
            case .wait(let deadline):
                await self.waitForSignal(index, until: deadline)
            }
        }
        return nil
    }

    private func waitForSignal(_ index: Int, until deadline: ContinuousClock.Instant?) async {
        await withTaskGroup(of: Void.self) { group in
            if let deadline {
                group.addTask {
                    // A timer cancelled because the wait ended otherwise must not signal: a stale
                    // signal would end the next wait at once, and the shard would spin until its
                    // batch deadline (seen as two busy cores while a batch filled up).
                    do {
                        try await Task.sleep(until: deadline, clock: .continuous)
                    } catch {
                        return
                    }
                    self.state.withLock { Self.signal(&$0.shards[index]) }?.resume()
                }
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let ready = self.state.withLock { state -> Bool in
                        if state.shards[index].signalled || Task.isCancelled {
                            state.shards[index].signalled = false
                            return true
                        }
                        state.shards[index].consumer = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                self.state.withLock { Self.signal(&$0.shards[index]) }?.resume()
            }
            group.cancelAll()
        }
    }

    private func waitForRoom(in index: Int) async throws {
        let id = self.state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = self.state.withLock { state -> Result<Void, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.shards[index].count < self.configuration.capacity { return .success(()) }
                    state.producers[id] = (index, continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            self.state.withLock { $0.producers.removeValue(forKey: id) }?.continuation.resume(
                throwing: CancellationError())
        }
    }

    /// Wakes the shard's consumer, or leaves a signal for its next wait.
    private static func signal(_ shard: inout Shard) -> CheckedContinuation<Void, Never>? {
        if let consumer = shard.consumer {
            shard.consumer = nil
            return consumer
        }
        shard.signalled = true
        return nil
    }

    private static func takeCommitWaiters(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        guard let committed = state.tracker.committed else { return [] }
        var ready: [CheckedContinuation<Void, Never>] = []
        state.commitWaiters.removeAll { waiter in
            guard waiter.position <= committed else { return false }
            ready.append(waiter.continuation)
            return true
        }
        return ready
    }

    @inline(__always)
    private func shardIndex(_ shardKey: UInt64) -> Int {
        Int(shardKey % UInt64(self.configuration.shards))
    }
}
