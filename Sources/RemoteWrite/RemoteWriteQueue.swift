import Events
import Logging
import NIOCore
import Primitives
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
/// the shard its family on its target hashes to (``RemoteWriteLabelSet/shardKey``), whatever
/// segment it came from and however often the agent restarted, and each shard has one request
/// in flight: a series' samples leave in WAL order. A shard sends when it holds
/// ``Configuration/maxSamplesPerSend`` samples or its oldest sample has waited
/// ``Configuration/batchSendDeadline``; a request refused for some of its samples is split
/// until they are isolated (``RefusalIsolation``).
///
/// Memory is bounded: each shard holds at most ``Configuration/capacity`` samples and `append`
/// suspends while its shard is full. The WAL is the buffer. ``progress`` says how far delivery
/// has got, exactly: the position everything before which is settled (sent, or refused and
/// counted) and, per shard, how many samples past it are settled too. Store it after every
/// acknowledged request (a ``DeliveryProgressStore``) and give it back as `resuming` after a restart: only
/// the requests that were in flight are sent again.
///
/// Every decision is ``ShardQueue``'s, a state machine given `now`; this class is its shell: it
/// holds the machine under a lock, makes the requests it asks for (one attempt each), sleeps
/// exactly until the instants it names, stores the progress and logs.
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

    /// The machine and what waits on it.
    private struct State: Sendable {
        var machine: ShardQueue
        /// Per shard: its task waiting for something to do, or a signal left for its next wait.
        var consumers: [Consumer]
        var producers: [UInt64: (shard: Int, continuation: CheckedContinuation<Void, any Error>)] = [:]
        var commitWaiters: [(id: UInt64, position: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        /// Waiting for an append to be suspended (tests).
        var suspensionWaiters: [CheckedContinuation<Void, Never>] = []
        var nextWaiterID: UInt64 = 0
        /// Alarms set so far (``setAlarm(_:at:)``).
        var alarmsSet = 0
        /// Waiting for a shard to wait for a signal (tests).
        var parkWaiters: [(shard: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private struct Consumer: Sendable {
        var continuation: CheckedContinuation<Void, Never>?
        var signalled = false
        /// The task that will signal this shard at an instant (``setAlarm(_:at:)``).
        var alarm: (at: ContinuousClock.Instant, task: Task<Void, Never>)?
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

    /// How often a receiver that keeps failing, or a cursor that cannot be stored, is reported again.
    static let outageReportInterval = ShardQueue.outageReportInterval
    /// The shortest gap between a shard's requests after which it may free its request buffers
    /// (``releasesBuffers(batch:maxSamplesPerSend:started:previous:)``).
    static let sparseRequests: Duration = .seconds(1)

    /// Whether a shard frees its request buffers once a request is answered: when the request's
    /// batch left before it filled (at its deadline, or in a flush) and the request started
    /// ``sparseRequests`` or more after the shard's previous one (or is its first). Such a shard
    /// trickles (a few scrapes every few seconds) and would keep the buffers for nothing most of
    /// the time. A shard whose batches fill keeps them: more full requests follow, and each
    /// request after a release pays for its buffers' pages again (at 100,000 series scraped
    /// every 30 s, four shards each sending a full request every 2.4 s, releasing after every
    /// request cost 30 % more CPU).
    static func releasesBuffers(
        batch: Int, maxSamplesPerSend: Int, started: ContinuousClock.Instant, previous: ContinuousClock.Instant?
    ) -> Bool {
        guard batch < maxSamplesPerSend else { return false }
        return previous.map { started - $0 >= Self.sparseRequests } ?? true
    }

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
        self.mapping = "shards=\(configuration.shards);xxh64%65536(__name__,instance,job);external=\(externalKey)"
        let machine = ShardQueue(
            configuration: configuration, endpoint: client.endpoint, mapping: self.mapping, resuming: stored)
        self.state = Mutex(
            State(machine: machine, consumers: Array(repeating: Consumer(), count: configuration.shards)))
    }

    /// The endpoint's URL, for the `url` label of the metrics.
    public var endpointURL: String { self.client.endpoint.url }

    /// Shard wake-ups so far.
    var wakeups: Int { self.state.withLock { $0.machine.wakeups } }

    /// Shard alarms set so far: timers armed for batch deadlines and retries.
    var alarmsSet: Int { self.state.withLock { $0.alarmsSet } }

    /// The highest position at or below which everything is sent or counted as dropped.
    public var committedPosition: UInt64? {
        self.state.withLock { $0.machine.committed }
    }

    /// Where delivery stands now.
    public var progress: DeliveryProgress {
        self.state.withLock { $0.machine.progress }
    }

    /// A snapshot of the counters.
    public var metrics: RemoteWriteMetrics {
        self.state.withLock { $0.machine.metrics }
    }

    /// Queues the samples of one input record at `position`, suspending while a shard is full.
    ///
    /// Samples without a label set are skipped and counted in `droppedSamplesTotal`; samples
    /// that the run this queue resumes had settled are passed over. If the task is cancelled
    /// mid-way, the position stays open, so ``committedPosition`` will not pass it.
    ///
    /// - Precondition: `position` is greater than every position appended before.
    public func append(_ samples: some Collection<Sample>, position: UInt64) async throws {
        self.state.withLock { $0.machine.open(position) }
        var iterator = samples.makeIterator()
        var carried: Sample? = nil
        while true {
            var resume: [CheckedContinuation<Void, Never>] = []
            let now = ContinuousClock.now
            let blocked: Int? = self.state.withLock { state in
                defer { state.machine.countQueued() }
                var wakes: [Int] = []
                let blocked = state.machine.enqueue(from: &iterator, carried: &carried, now: now, wakes: &wakes)
                for shard in wakes {
                    if let consumer = Self.signal(&state.consumers[shard]) { resume.append(consumer) }
                }
                return blocked
            }
            for continuation in resume { continuation.resume() }
            guard let shard = blocked else { break }
            try await self.waitForRoom(in: shard)
        }
        let waiters = self.state.withLock { state in
            state.machine.finishAppend() ? Self.takeCommitWaiters(&state) : []
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Sends everything appended so far without waiting for batch deadlines, and returns once it
    /// has all been sent or dropped (or the task is cancelled).
    public func flush() async {
        let (target, consumers) = self.state.withLock { state in
            (state.machine.beginFlush(), state.consumers.indices.compactMap { Self.signal(&state.consumers[$0]) })
        }
        for consumer in consumers { consumer.resume() }
        if let target {
            await self.waitUntilCommitted(target)
        }
        self.state.withLock { $0.machine.endFlush() }
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
                    if Task.isCancelled || (state.machine.committed.map { $0 >= position } ?? false) {
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

    /// Returns once an ``append(_:position:)`` is suspended because its shard is full.
    func waitUntilAppendSuspended() async {
        await withCheckedContinuation { continuation in
            let suspended = self.state.withLock { state -> Bool in
                if !state.producers.isEmpty { return true }
                state.suspensionWaiters.append(continuation)
                return false
            }
            if suspended { continuation.resume() }
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
        let alarms = self.state.withLock { state in
            state.consumers.indices.compactMap { index in
                defer { state.consumers[index].alarm = nil }
                return state.consumers[index].alarm?.task
            }
        }
        for alarm in alarms { alarm.cancel() }
        try Task.checkCancellation()
    }

    // MARK: - Shards

    /// Carries out shard `index`'s actions until the task is cancelled. A batch cut short by
    /// cancellation stays unsettled, so the cursor stays before it.
    private func runShard(_ index: Int) async {
        var encoder = RequestEncoder()
        var previousRequest: ContinuousClock.Instant?
        while !Task.isCancelled {
            var producers: [CheckedContinuation<Void, any Error>] = []
            let action = self.state.withLock { state in
                let action = state.machine.nextAction(shard: index, now: .now)
                if case .send(let request) = action, request.isNewBatch {
                    // The batch left the shard: appends waiting for room may go on.
                    for (id, producer) in state.producers where producer.shard == index {
                        producers.append(producer.continuation)
                        state.producers[id] = nil
                    }
                }
                return action
            }
            for producer in producers { producer.resume() }
            switch action {
            case .wait(let deadline):
                await self.waitForSignal(index, until: deadline)
            case .send(let request):
                if request.isNewBatch { self.storeProgress() }
                let body = encoder.encode(request.samples)
                let answer: ShardQueue.Answer
                let started = ContinuousClock.now
                let result = await self.client.attempt(body)
                let took = ContinuousClock.now - started
                switch result {
                case .success:
                    answer = .accepted(bytes: body.readableBytes, newest: encoder.newest)
                case .permanent(let status, let message):
                    let drop = RemoteWriteDrop(status: status, message: message, attempts: request.attempt)
                    self.client.traceRefusal(drop)
                    answer = .refused(drop)
                case .retryable(let reason, let status, let message, let retryAfter):
                    // A request cut short by cancellation is no failure of the receiver's.
                    if Task.isCancelled { return }
                    answer = .failed(reason: reason, status: status, message: message, retryAfter: retryAfter)
                }
                let (reply, waiters) = self.state.withLock {
                    state -> (ShardQueue.Reply, [CheckedContinuation<Void, Never>]) in
                    state.machine.counters.sendDurations.observe(took.seconds)
                    let reply = state.machine.answered(shard: index, answer, now: .now)
                    guard case .settled(let settlement) = reply, settlement.commitMoved else {
                        return (reply, [])
                    }
                    return (reply, Self.takeCommitWaiters(&state))
                }
                for waiter in waiters { waiter.resume() }
                switch reply {
                case .next:
                    break
                case .retrying(let failure, let outage):
                    self.client.traceRetry(failure)
                    if let outage { self.reportOutage(outage, failure) }
                case .settled(let settlement):
                    self.report(settlement)
                    self.storeProgress()
                }
                let sparse = Self.releasesBuffers(
                    batch: request.batch.count, maxSamplesPerSend: self.configuration.maxSamplesPerSend,
                    started: started, previous: previousRequest)
                if sparse { encoder.releaseBuffers() }
                previousRequest = started
            }
        }
    }

    /// Logs what became of a batch: its refusals, its dropped requests, and the end of an outage.
    private func report(_ settlement: ShardQueue.Settlement) {
        let endpoint = self.client.endpoint.name
        let result = settlement.result
        if let recovered = settlement.recovered {
            self.logger.info(
                "remote write receiver recovered",
                metadata: [
                    "remote_write.endpoint": "\(endpoint)", "remote_write.failed_attempts": "\(recovered.failures)",
                    "remote_write.outage": "\(recovered.outage)",
                ])
        }
        if let first = result.refused.first {
            let item = settlement.batch[first.index]
            let counts = settlement.refused.sorted { $0.key.rawValue < $1.key.rawValue }.map {
                "\($0.key)=\($0.value)"
            }
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
                    "remote_write.reason": "\(RemoteWriteFailureReason.classify(status: drop.status))",
                    "remote_write.message": "\(drop.message)", "remote_write.attempts": "\(drop.attempts)",
                ])
        }
    }

    /// Reports a receiver that started failing, or is still failing, with the backlog.
    private func reportOutage(_ report: ShardQueue.OutageReport, _ failure: RemoteWriteClient.RetryableFailure) {
        var metadata: Logger.Metadata = [
            "remote_write.endpoint": "\(self.client.endpoint.name)", "remote_write.reason": "\(failure.reason)",
            "remote_write.error": "\(failure)", "remote_write.samples_pending": "\(report.pending)",
        ]
        if let oldest = report.oldestPending {
            metadata["remote_write.oldest_pending_age"] = "\(Duration.milliseconds(max(0, self.wallClock() - oldest)))"
        }
        if report.first {
            self.logger.warning("remote write receiver is failing; samples wait in the WAL", metadata: metadata)
        } else if report.reasonChanged {
            metadata["remote_write.failing_for"] = "\(report.failingFor)"
            metadata["remote_write.failed_attempts"] = "\(report.failures)"
            self.logger.warning("remote write receiver still failing, for another reason", metadata: metadata)
        } else {
            metadata["remote_write.failing_for"] = "\(report.failingFor)"
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

    /// Waits for a signal to shard `index` (samples enqueued, a flush, cancellation, its alarm),
    /// and sets the alarm for `deadline`.
    private func waitForSignal(_ index: Int, until deadline: ContinuousClock.Instant?) async {
        if let deadline { self.setAlarm(index, at: deadline) }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let (ready, parked) = self.state.withLock {
                    state -> (Bool, [(shard: Int, continuation: CheckedContinuation<Void, Never>)]) in
                    if state.consumers[index].signalled || Task.isCancelled {
                        state.consumers[index].signalled = false
                        return (true, [])
                    }
                    state.consumers[index].continuation = continuation
                    guard !state.parkWaiters.isEmpty else { return (false, []) }
                    let parked = state.parkWaiters.filter { $0.shard == index }
                    state.parkWaiters.removeAll { $0.shard == index }
                    return (false, parked)
                }
                for waiter in parked { waiter.continuation.resume() }
                if ready { continuation.resume() }
            }
        } onCancel: {
            self.state.withLock { Self.signal(&$0.consumers[index]) }?.resume()
        }
    }

    /// Returns once shard `index` waits for a signal (at once if it does now).
    func waitUntilShardWaits(_ index: Int) async {
        await withCheckedContinuation { continuation in
            let waiting = self.state.withLock { state -> Bool in
                if state.consumers[index].continuation != nil { return true }
                state.parkWaiters.append((index, continuation))
                return false
            }
            if waiting { continuation.resume() }
        }
    }

    /// Makes sure that shard `index` is signalled at `instant` or earlier. A shard waits again
    /// and again for the same batch deadline while its batch fills (a wait ends at every
    /// append), so the alarm outlives a wait: a timer of each wait's own, cancelled when the wait
    /// ended otherwise, would still wake the process at its instant (a cancelled `Task.sleep`
    /// leaves its dispatch timer armed). An alarm already set for `instant` or earlier is kept;
    /// when it rings early (the batch it was set for has left), the shard looks at its machine,
    /// finds nothing to do, and waits again, setting the alarm for the deadline of that moment.
    private func setAlarm(_ index: Int, at instant: ContinuousClock.Instant) {
        let replaced = self.state.withLock { state -> Task<Void, Never>? in
            let current = state.consumers[index].alarm
            if let current, current.at <= instant { return nil }
            // The task waits for the lock until its alarm is stored, so it cannot ring unknown.
            let task = Task {
                do {
                    try await Task.sleep(until: instant, clock: .continuous)
                } catch {
                    return
                }
                self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                    guard let alarm = state.consumers[index].alarm, alarm.at == instant else { return nil }
                    state.consumers[index].alarm = nil
                    return Self.signal(&state.consumers[index])
                }?.resume()
            }
            state.consumers[index].alarm = (instant, task)
            state.alarmsSet += 1
            return current?.task
        }
        replaced?.cancel()
    }

    private func waitForRoom(in index: Int) async throws {
        let id = self.state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (outcome, suspended) = self.state.withLock {
                    state -> (Result<Void, any Error>?, [CheckedContinuation<Void, Never>]) in
                    if Task.isCancelled { return (.failure(CancellationError()), []) }
                    if state.machine.hasRoom(in: index) { return (.success(()), []) }
                    state.producers[id] = (index, continuation)
                    defer { state.suspensionWaiters.removeAll() }
                    return (nil, state.suspensionWaiters)
                }
                for waiter in suspended { waiter.resume() }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            self.state.withLock { $0.producers.removeValue(forKey: id) }?.continuation.resume(
                throwing: CancellationError())
        }
    }

    /// Wakes the shard's consumer, or leaves a signal for its next wait.
    private static func signal(_ consumer: inout Consumer) -> CheckedContinuation<Void, Never>? {
        if let continuation = consumer.continuation {
            consumer.continuation = nil
            return continuation
        }
        consumer.signalled = true
        return nil
    }

    private static func takeCommitWaiters(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        guard let committed = state.machine.committed else { return [] }
        var ready: [CheckedContinuation<Void, Never>] = []
        state.commitWaiters.removeAll { waiter in
            guard waiter.position <= committed else { return false }
            ready.append(waiter.continuation)
            return true
        }
        return ready
    }
}

/// Encodes the runs of one shard's batches into compressed `WriteRequest` bodies, reusing its
/// buffers while requests keep coming.
private struct RequestEncoder {
    private var encoder = WriteRequestEncoder()
    private var snappy = Snappy()
    /// The newest timestamp of the last body encoded.
    private(set) var newest: Int64?

    /// The snappy-compressed request of `samples`, encoded straight from the shard's items.
    mutating func encode(_ samples: ArraySlice<ShardQueue.Item>) -> ByteBuffer {
        self.newest = samples.lazy.map(\.timestamp).max()
        self.encoder.encode(entries: samples)
        var body = ByteBuffer()
        self.encoder.withEncodedBytes { self.snappy.compress($0, appendingTo: &body) }
        return body
    }

    /// Frees the encoder's and the compressor's buffers, and gives the heap's free memory back to
    /// the kernel: they are as large as the largest request (a request of 2,000 node-exporter
    /// samples is about 300 KB before compression), and a shard scraped every few seconds holds
    /// them for nothing most of the time.
    mutating func releaseBuffers() {
        self.encoder.releaseBuffers()
        self.snappy.releaseBuffers()
        Allocator.returnFreeMemory()
    }
}

extension ShardQueue.Item: RemoteWriteEntry {}
