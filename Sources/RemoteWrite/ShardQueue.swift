/// The remote-write queue's decisions as a state machine: no tasks, no locks, no clock.
///
/// ``RemoteWriteQueue`` is its shell. Inputs are the samples of each input record
/// (``open(_:)``, ``enqueue(_:now:)``, ``finishAppend()``), a shard asking what to do at `now`
/// (``nextAction(shard:now:)``), the receiver's answer to a request (``answered(shard:_:now:)``)
/// and a drain (``beginFlush()``). Outputs are ``Action``s, send this run of samples or wait
/// until an instant, and ``Reply``s saying what to log and when to store ``progress``.
///
/// Each shard holds at most ``RemoteWriteQueue/Configuration/capacity`` samples and has one
/// batch in flight; a batch is taken when the shard holds
/// ``RemoteWriteQueue/Configuration/maxSamplesPerSend`` samples, when its oldest sample has
/// waited ``RemoteWriteQueue/Configuration/batchSendDeadline``, or during a flush. A batch is
/// sent as runs (``RefusalIsolation``), each retried after ``RetryBackoff``'s delay until the
/// receiver answers for good; then the batch is settled: counted, and the shard's and the
/// queue's progress move.
struct ShardQueue: Sendable {
    typealias Instant = ContinuousClock.Instant

    /// A queued sample.
    struct Item: Sendable {
        var series: RemoteWriteLabelSet
        var timestamp: Int64
        var value: Double
        /// The input record's position.
        var position: UInt64
        /// The sample's rank among this shard's samples of its input record.
        var ordinal: Int32

        /// The mark just past this sample in its shard's stream.
        var end: DeliveryProgress.Mark { .init(position: self.position, samples: Int(self.ordinal) + 1) }
    }

    /// What ``enqueue(_:now:)`` did with a sample.
    enum Enqueued: Sendable, Hashable {
        /// Queued in `shard`; `wake` when the shard's consumer should look again (its first
        /// sample, or a full batch).
        case queued(shard: Int, wake: Bool)
        /// Not queued: no label set (counted as dropped), or settled by the run resumed.
        case skipped
        /// `shard` is full: offer the sample again once it has room.
        case full(shard: Int)
    }

    /// One request to make: a run of a shard's batch.
    struct Request: Sendable {
        /// The shard.
        var shard: Int
        /// The batch the run belongs to.
        var batch: [Item]
        /// Offsets of the run in `batch`.
        var run: Range<Int>
        /// The attempt this is for the run, from 1.
        var attempt: Int
        /// The batch is new: its shard's sent mark moved, store ``progress`` before sending.
        var isNewBatch: Bool

        /// The samples to send.
        var samples: ArraySlice<Item> { self.batch[self.run] }
    }

    /// What a shard does next.
    enum Action: Sendable {
        /// Make this request and report the answer to ``answered(shard:_:now:)``. A new batch
        /// also made room in the shard: appends waiting for it may go on.
        case send(Request)
        /// Nothing to send before this instant (nil: until samples are enqueued or a flush
        /// begins); then ask again.
        case wait(until: Instant?)
    }

    /// The receiver's answer to a request.
    enum Answer: Sendable {
        /// 2xx: the request's compressed size, and its newest timestamp.
        case accepted(bytes: Int, newest: Int64?)
        /// Refused for good (a 4xx, or a 429 not retried).
        case refused(RemoteWriteDrop)
        /// A 5xx, a retried 429, 401 or 403, a network or TLS error, a timeout, credentials that
        /// could not be read; `retryAfter` is the receiver's `Retry-After`.
        case failed(reason: RemoteWriteFailureReason, status: Int?, message: String, retryAfter: Duration?)
    }

    /// A receiver that keeps failing, to report.
    struct OutageReport: Sendable, Hashable {
        /// Whether this is the first failure of the outage.
        var first: Bool
        /// Whether the reason differs from the one reported last in this outage.
        var reasonChanged: Bool
        /// Failed attempts so far.
        var failures: Int
        /// Since the first failure.
        var failingFor: Duration
        /// Samples waiting in the shards.
        var pending: Int
        /// The timestamp (ms) of the oldest of them.
        var oldestPending: Int64?
    }

    /// A batch delivered for good.
    struct Settlement: Sendable {
        /// The batch.
        var batch: [Item]
        /// What became of it; offsets are into `batch`.
        var result: RemoteWriteSender.Result
        /// Refused samples by reason (a sample the run resumed had sent counts as already delivered).
        var refused: [RemoteWriteRefusal: Int]
        /// The outage this answer ended: failed attempts and how long it lasted.
        var recovered: (failures: Int, outage: Duration)?
        /// Whether ``committed`` moved.
        var commitMoved: Bool
    }

    /// What the shell does after an answer.
    enum Reply: Sendable {
        /// The batch has more to send: ask ``nextAction(shard:now:)``.
        case next
        /// The attempt will be retried after `failure.delay` (``nextAction(shard:now:)`` waits
        /// for it); report the outage when `outage` is set.
        case retrying(RemoteWriteClient.RetryableFailure, outage: OutageReport?)
        /// The batch is settled: log it, store ``progress``, wake whoever waits for ``committed``.
        case settled(Settlement)
    }

    /// How often a receiver that keeps failing is reported again.
    static let outageReportInterval: Duration = .seconds(60)

    /// A batch being delivered.
    struct Flight: Sendable {
        enum Phase: Sendable, Hashable {
            /// `run` is to be sent.
            case ready
            /// `run` is out; its answer is awaited.
            case sending
            /// `run` failed; it is sent again at this instant.
            case retrying(at: Instant)
        }

        var batch: [Item]
        var isolation: RefusalIsolation
        var run: Range<Int>
        var phase = Phase.ready
        var attempts = 0
        var backoff: RetryBackoff
    }

    struct Shard: Sendable {
        /// The queued samples, oldest first, in chunks of ``RemoteWriteQueue/Configuration/maxSamplesPerSend``:
        /// the full chunks, then `tail`, the one being filled. A batch leaves as the first chunk,
        /// moved rather than copied sample by sample; a sample is appended to `tail` itself, not
        /// through the array of chunks.
        var full: [[Item]] = []
        var tail: [Item] = []
        var count = 0
        /// When the oldest queued sample was queued (the batch deadline counts from it).
        var oldestSince: Instant?
        var flight: Flight?

        /// Appends `item` to `tail`, first moving a full `tail` to the full chunks. The item is
        /// taken (`consuming`): its label set moves in, no retain and release of a copy.
        @inline(__always)
        mutating func append(_ item: consuming Item, chunkSize: Int) {
            if self.tail.count >= chunkSize {
                self.full.append(self.tail)
                self.tail = []
            }
            if self.tail.capacity == 0 { self.tail.reserveCapacity(chunkSize) }
            self.tail.append(item)
            self.count += 1
        }

        /// The oldest queued sample.
        var first: Item? { self.full.first?.first ?? self.tail.first }

        /// Takes the first chunk: the oldest `maxSamplesPerSend` samples, or all when fewer are queued.
        mutating func takeFirstChunk() -> [Item] {
            let chunk: [Item]
            if self.full.isEmpty {
                chunk = self.tail
                self.tail = []
            } else {
                chunk = self.full.removeFirst()
            }
            self.count -= chunk.count
            return chunk
        }
    }

    /// A receiver failing: when it began, how often, when it was last reported and why.
    struct Outage: Sendable {
        var since: Instant?
        var failures = 0
        var lastReport: Instant?
        var lastReason: RemoteWriteFailureReason?
    }

    /// The settings in force.
    let configuration: RemoteWriteQueue.Configuration
    /// What decides a series' shard (see ``DeliveryProgress/mapping``).
    let mapping: String
    let endpoint: RemoteWriteEndpoint
    var shards: [Shard]
    var tracker: CommitTracker
    var counters = RemoteWriteMetrics()
    /// Per shard: settled up to here, and sent up to here.
    var acknowledged: [DeliveryProgress.Mark?]
    var sent: [DeliveryProgress.Mark?]
    /// What the previous run had settled and sent, per shard (nil: resume at the cursor).
    let resumed: (acknowledged: [DeliveryProgress.Mark?], sent: [DeliveryProgress.Mark?])?
    /// Positions at or below this may hold samples the previous run settled.
    let resumeHorizon: UInt64
    var outage = Outage()
    var flushing = 0
    /// The record being appended, whether the run resumed may have settled samples of it, and
    /// how many samples it queued that the tracker does not count yet.
    var appending: (position: UInt64, resuming: Bool, uncounted: Int) = (0, false, 0)
    /// Per shard: how many of its samples the record being appended has had so far.
    var ordinals: [Int32]
    /// How often a shard asked what to do (tests check that idle shards sleep).
    var wakeups = 0

    /// Creates the machine of a queue sending to `endpoint`, resuming `stored` when its mapping is `mapping`.
    init(
        configuration: RemoteWriteQueue.Configuration, endpoint: RemoteWriteEndpoint, mapping: String,
        resuming stored: DeliveryProgress?
    ) {
        self.configuration = configuration
        self.endpoint = endpoint
        self.mapping = mapping
        self.shards = Array(repeating: Shard(), count: configuration.shards)
        self.tracker = CommitTracker(committed: stored?.committed)
        self.ordinals = Array(repeating: 0, count: configuration.shards)
        let none = [DeliveryProgress.Mark?](repeating: nil, count: configuration.shards)
        if let stored, stored.mapping == mapping, stored.acknowledged.count == configuration.shards,
            stored.sent.count == configuration.shards
        {
            self.resumed = (stored.acknowledged, stored.sent)
            self.acknowledged = stored.acknowledged
            self.sent = stored.acknowledged
            self.resumeHorizon = (stored.acknowledged + stored.sent).compactMap { $0?.position }.max() ?? 0
        } else {
            self.resumed = nil
            self.acknowledged = none
            self.sent = none
            self.resumeHorizon = 0
        }
        self.counters.shards = configuration.shards
    }

    // MARK: - Progress

    /// The highest position at or below which everything is sent or counted as dropped.
    var committed: UInt64? { self.tracker.committed }

    /// Where delivery stands.
    var progress: DeliveryProgress {
        DeliveryProgress(
            committed: self.tracker.committed, acknowledged: self.acknowledged, sent: self.sent, mapping: self.mapping)
    }

    /// The counters, with the samples pending now.
    var metrics: RemoteWriteMetrics {
        var metrics = self.counters
        metrics.pendingSamples = self.pending
        metrics.oldestPendingTimestamp = self.oldestPending
        return metrics
    }

    /// Samples waiting in the shards.
    var pending: Int { self.shards.reduce(0) { $0 + $1.count } }

    /// The timestamp of the oldest sample waiting in a shard.
    var oldestPending: Int64? {
        self.shards.compactMap { $0.first?.timestamp }.min()
    }

    // MARK: - Appending

    /// Starts the record at `position`: ``committed`` stays before it until ``finishAppend()``
    /// and every sample queued of it is settled.
    ///
    /// - Precondition: `position` is greater than every position opened before.
    mutating func open(_ position: UInt64) {
        self.countQueued()
        self.tracker.open(position)
        self.appending = (position, self.resumed != nil && position <= self.resumeHorizon, 0)
        for index in self.ordinals.indices { self.ordinals[index] = 0 }
    }

    /// Queues the next sample of the record opened last.
    ///
    /// Call ``countQueued()`` before giving up the machine (the shell's lock) so that settling
    /// finds the samples counted.
    ///
    /// The sample is taken (`consuming`): its label set moves into the shard without another
    /// retain and release, which a borrowed sample cost every sample. A caller that must offer a
    /// sample again when its shard is full enqueues with ``enqueue(from:carried:now:wakes:)``.
    mutating func enqueue(_ sample: consuming RemoteWriteQueue.Sample, now: Instant) -> Enqueued {
        let (timestamp, value) = (sample.timestamp, sample.value)
        guard let series = sample.series.take() else {
            self.counters.droppedSamplesTotal += 1
            return .skipped
        }
        let index = self.shard(ofKey: series.shardKey)
        guard self.hasRoom(in: index) else { return .full(shard: index) }
        return self.queue(consume series, timestamp: timestamp, value: value, in: index, now: now)
    }

    /// Enqueues the samples of `samples`, after `carried` (a sample offered before whose shard was
    /// full), until they run out or a sample's shard is full: that sample is left in `carried` and
    /// its shard returned, to offer again once the shard has room. `wakes` gets each shard whose
    /// consumer should look again.
    ///
    /// Each sample's shard is worked out and checked for room once.
    mutating func enqueue<Samples: IteratorProtocol<RemoteWriteQueue.Sample>>(
        from samples: inout Samples, carried: inout RemoteWriteQueue.Sample?, now: Instant, wakes: inout [Int]
    ) -> Int? {
        while var sample = carried.take() ?? samples.next() {
            guard let series = sample.series.take() else {
                self.counters.droppedSamplesTotal += 1
                continue
            }
            let index = self.shard(ofKey: series.shardKey)
            guard self.hasRoom(in: index) else {
                sample.series = consume series
                carried = sample
                return index
            }
            if case .queued(let shard, wake: true) = self.queue(
                consume series, timestamp: sample.timestamp, value: sample.value, in: index, now: now)
            {
                wakes.append(shard)
            }
        }
        return nil
    }

    /// Queues `series`' sample in shard `index`, which has room.
    @inline(__always)
    private mutating func queue(
        _ series: consuming RemoteWriteLabelSet, timestamp: Int64, value: Double, in index: Int, now: Instant
    ) -> Enqueued {
        let count = self.shards[index].count
        let ordinal = self.ordinals[index]
        self.ordinals[index] += 1
        if self.appending.resuming, let settled = self.resumed?.acknowledged[index],
            DeliveryProgress.Mark(position: self.appending.position, samples: Int(ordinal)) < settled
        {
            return .skipped  // Delivered before the restart.
        }
        let position = self.appending.position
        self.shards[index].append(
            Item(series: consume series, timestamp: timestamp, value: value, position: position, ordinal: ordinal),
            chunkSize: self.configuration.maxSamplesPerSend)
        self.appending.uncounted += 1
        self.counters.highestAppendedTimestamp = max(self.counters.highestAppendedTimestamp ?? timestamp, timestamp)
        if count == 0 { self.shards[index].oldestSince = now }
        return .queued(shard: index, wake: count == 0 || count + 1 == self.configuration.maxSamplesPerSend)
    }

    /// Counts the samples queued since the last call in the record's position.
    mutating func countQueued() {
        guard self.appending.uncounted > 0 else { return }
        self.tracker.add(self.appending.uncounted, to: self.appending.position)
        self.appending.uncounted = 0
    }

    /// Whether `shard` has room for a sample.
    func hasRoom(in shard: Int) -> Bool { self.shards[shard].count < self.configuration.capacity }

    @inline(__always)
    private func shard(ofKey key: UInt64) -> Int { Int(key % UInt64(self.configuration.shards)) }

    /// Ends the record opened last; returns whether ``committed`` moved.
    mutating func finishAppend() -> Bool {
        self.countQueued()
        return self.tracker.finishAppend(self.appending.position)
    }

    // MARK: - Draining

    /// Sends what is queued without waiting for batch deadlines until ``endFlush()``; returns
    /// the position ``committed`` must reach for everything appended so far to be delivered.
    mutating func beginFlush() -> UInt64? {
        self.flushing += 1
        return self.tracker.lastOpened
    }

    /// Ends a flush begun with ``beginFlush()``.
    mutating func endFlush() {
        self.flushing -= 1
    }
}
