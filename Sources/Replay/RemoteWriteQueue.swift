import Logging
import NIOCore
import Synchronization

/// Forwards samples to one endpoint through parallel shards, as Prometheus's queue manager.
///
/// Input is neutral: the WAL tailer calls ``append(_:position:)`` for every `samples` record
/// (and for any other record, with no samples, so the position still advances); each sample
/// carries its series' label set, made once per series with ``labelSet(_:)``. A sample's series
/// is hashed to a shard, so each series is sent in order. A shard sends when it holds ``Configuration/maxSamplesPerSend``
/// samples or its oldest sample has waited ``Configuration/batchSendDeadline``.
///
/// Memory is bounded: each shard holds at most ``Configuration/capacity`` samples and `append`
/// suspends while its shard is full. The WAL is the buffer. ``committedPosition`` is the highest
/// position at or below which every sample has been sent or dropped and counted: store it as
/// the durable cursor, and after a restart replay from just after it.
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
        /// Names the series; it picks the shard, so a series' samples stay in order.
        public var seriesID: UInt64
        /// Milliseconds since the Unix epoch.
        public var timestamp: Int64
        /// The value, sent bit-exact.
        public var value: Double

        /// Creates a sample.
        public init(series: RemoteWriteLabelSet?, seriesID: UInt64, timestamp: Int64, value: Double) {
            self.series = series
            self.seriesID = seriesID
            self.timestamp = timestamp
            self.value = value
        }
    }

    private struct Queued: Sendable {
        var series: RemoteWriteLabelSet
        var timestamp: Int64
        var value: Double
        var position: UInt64
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
    }

    /// The settings in force.
    public let configuration: Configuration
    /// External labels added to every series stored from now on.
    public let externalLabels: [RemoteWriteLabel]
    private let client: RemoteWriteClient
    private let logger: Logger
    private let state: Mutex<State>

    /// Creates a queue; nothing is sent until ``run()`` runs.
    ///
    /// - Parameter committedPosition: the stored cursor, if any.
    public init(
        client: RemoteWriteClient,
        configuration: Configuration = .init(),
        externalLabels: [RemoteWriteLabel] = [],
        committedPosition: UInt64? = nil,
        logger: Logger
    ) {
        self.client = client
        self.configuration = configuration
        self.externalLabels = externalLabels
        self.logger = logger
        var state = State(
            shards: Array(repeating: Shard(), count: configuration.shards),
            tracker: CommitTracker(committed: committedPosition))
        state.metrics.shards = configuration.shards
        self.state = Mutex(state)
    }

    /// The highest position at or below which everything is sent or counted as dropped.
    /// Shard wake-ups so far.
    var wakeups: Int { self.state.withLock { $0.wakeups } }

    public var committedPosition: UInt64? {
        self.state.withLock { $0.tracker.committed }
    }

    /// A snapshot of the counters.
    public var metrics: RemoteWriteMetrics {
        self.state.withLock { state in
            var metrics = state.metrics
            metrics.pendingSamples = state.shards.reduce(0) { $0 + $1.count }
            return metrics
        }
    }

    /// The label set this queue sends for `labels`: normalized, external labels added.
    public func labelSet(_ labels: [RemoteWriteLabel]) -> RemoteWriteLabelSet {
        RemoteWriteLabelSet(labels, externalLabels: self.externalLabels)
    }

    /// Queues the samples of one input record at `position`, suspending while a shard is full.
    ///
    /// Samples without a label set are skipped and counted in `droppedSamplesTotal`. If the task
    /// is cancelled mid-way, the position stays open, so ``committedPosition`` will not pass it.
    ///
    /// - Precondition: `position` is greater than every position appended before.
    public func append(_ samples: some Collection<Sample>, position: UInt64) async throws {
        self.state.withLock { $0.tracker.open(position) }
        var iterator = samples.makeIterator()
        var carried: Sample? = nil
        while true {
            var resume: [CheckedContinuation<Void, Never>] = []
            let blocked: Int? = self.state.withLock { state in
                var added = 0
                defer { if added > 0 { state.tracker.add(added, to: position) } }
                while let sample = carried ?? iterator.next() {
                    carried = nil
                    guard let series = sample.series else {
                        state.metrics.droppedSamplesTotal += 1
                        continue
                    }
                    let index = self.shardIndex(sample.seriesID)
                    let count = state.shards[index].count
                    if count >= self.configuration.capacity {
                        carried = sample
                        return index
                    }
                    state.shards[index].queue.append(
                        Queued(series: series, timestamp: sample.timestamp, value: sample.value, position: position))
                    added += 1
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
        var encoder = WriteRequestEncoder()
        var batch = RemoteWriteBatch(capacity: self.configuration.maxSamplesPerSend)
        while let items = await self.nextBatch(index) {
            batch.removeAll()
            for item in items {
                batch.append(item.series, timestamp: item.timestamp, value: item.value)
            }
            encoder.encode(batch)
            var body = ByteBuffer()
            encoder.withEncodedBytes { Snappy.compress($0, appendingTo: &body) }
            let outcome: RemoteWriteOutcome
            do {
                outcome = try await self.client.send(body) { _ in
                    self.state.withLock { $0.metrics.retriedSamplesTotal += UInt64(items.count) }
                }
            } catch {
                return  // Cancelled: the batch stays unsettled, so the cursor stays before it.
            }
            let waiters = self.state.withLock { state in
                switch outcome {
                case .sent:
                    state.metrics.samplesTotal += UInt64(items.count)
                    state.metrics.requestsTotal += 1
                    state.metrics.bytesTotal += UInt64(body.readableBytes)
                    if let newest = batch.maxTimestamp {
                        state.metrics.highestSentTimestamp = max(state.metrics.highestSentTimestamp ?? newest, newest)
                    }
                case .dropped:
                    state.metrics.failedSamplesTotal += UInt64(items.count)
                    state.metrics.failedRequestsTotal += 1
                }
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
        }
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
    private func shardIndex(_ seriesID: UInt64) -> Int {
        // SplitMix64's finalizer spreads sequential references evenly over the shards.
        var x = seriesID &+ 0x9e37_79b9_7f4a_7c15
        x = (x ^ (x >> 30)) &* 0xbf58_476d_1ce4_e5b9
        x = (x ^ (x >> 27)) &* 0x94d0_49bb_1331_11eb
        x ^= x >> 31
        return Int(x % UInt64(self.configuration.shards))
    }
}
