import Dispatch
import Logging
import Synchronization
import WAL

/// The event log: appends events to a WAL, encoding samples compactly and keeping
/// every segment self-contained (it defines the series its samples use).
public final class EventLog: Sendable {
    public let writer: LogWriter
    /// The first segment this log writes (the writer starts a new one): refs in it and after
    /// it are this log's registry's.
    private let firstSegment: Int
    private let logger: Logger

    private struct State {
        var registry = SeriesRegistry()
        var encoder: SegmentEncoder
        var segment: Int
        /// Set after a failed write: the encoder state may be ahead of the disk, so the
        /// next append starts afresh (a new segment, or the same one if it holds no record).
        var mustRotate = false
        var health = AppendHealth()
        var lastReport: ContinuousClock.Instant?
    }

    /// Whether appends succeed, and how often they failed, by reason.
    public struct AppendHealth: Sendable, Hashable {
        /// Failed appends by reason: `disk_full`, `record_too_large`, `io`.
        public var failures: [String: UInt64] = [:]
        /// Set while appends fail: since when, how often, and the last error.
        public var failing: Failing?

        public struct Failing: Sendable, Hashable {
            public var since: ContinuousClock.Instant
            public var count: Int
            public var reason: String
            public var error: String
        }
    }

    /// How often a WAL that keeps failing is reported again.
    static let failureReportInterval: Duration = .seconds(60)

    private let state: Mutex<State>
    private let samplesAppended = Atomic<Int>(0)
    private let queue = DispatchQueue(label: "agentd.events.append", attributes: .concurrent)

    /// The fewest bytes of encoded samples between two checkpoints (seek points) in a
    /// segment; more when the segment defines over 52,000 series (160 bytes per series).
    /// A replay that starts inside a segment decodes about this much before its window.
    public static let defaultCheckpointInterval = 8 << 20

    public init(
        directory: String, options: LogWriter.Options = .init(),
        checkpointInterval: Int = EventLog.defaultCheckpointInterval, logger: Logger = Logger(label: "agentd.wal")
    ) throws {
        writer = try LogWriter(directory: directory, options: options, logger: logger)
        firstSegment = writer.end.segment
        self.logger = logger
        state = Mutex(
            State(encoder: SegmentEncoder(checkpointInterval: checkpointInterval), segment: writer.end.segment))
    }

    /// The ref of a series, assigning one the first time its labels are seen.
    public func ref(for labels: Labels) -> UInt64 {
        state.withLock { $0.registry.ref(for: labels) }
    }

    /// Refs for several series at once (one lock round trip).
    public func refs(for labelSets: [Labels]) -> [UInt64] {
        state.withLock { state in labelSets.map { state.registry.ref(for: $0) } }
    }

    public func labels(for ref: UInt64) -> Labels? {
        state.withLock { $0.registry.labels(ref) }
    }

    /// Whether this log wrote `segment`: its refs are then the registry's, each naming one series
    /// for the log's life, so a reader may keep what it made for a ref from one such segment to
    /// the next.
    public func wrote(segment: Int) -> Bool { segment >= firstSegment }

    /// The registry's own label set of `ref`, numbered (``EncodedLabels/isNumbered``): what
    /// ``sharedLabels(_:in:)`` gives a reader of this log's segments.
    public func encodedLabels(for ref: UInt64) -> EncodedLabels? {
        state.withLock { $0.registry.count > Int(ref) ? $0.registry.encodedLabels(ref) : nil }
    }

    /// For series defined in `segment`: the registry's own encoding of each, where the segment
    /// was written by this log (its refs are the registry's) and the bytes are the same; nil
    /// for the others. A reader that keeps these keeps no copy of the labels.
    public func sharedLabels(_ definitions: [SeriesEncoding], in segment: Int) -> [EncodedLabels?] {
        guard segment >= firstSegment else { return definitions.map { _ in nil } }
        return state.withLock { state in
            definitions.map { definition in
                guard definition.ref < UInt64(state.registry.count) else { return nil }
                let own = state.registry.encodedLabels(definition.ref)
                return own.encodesSameLabels(as: definition.labels) ? own : nil
            }
        }
    }

    /// What an append writes: its records, made under the log's lock, and how many samples they hold.
    private struct Encoding: Sendable {
        var samples: Int
        var records: @Sendable (inout State) -> [Record]
    }

    private static func encoding(_ batches: [SampleBatch]) -> Encoding {
        Encoding(samples: batches.reduce(0) { $0 + $1.count }) { state in
            var records: [Record] = []
            for batch in batches { records += state.encoder.encode(batch, registry: state.registry) }
            return records
        }
    }

    private static func encoding(_ event: Event) -> Encoding {
        switch event {
        case .samples(let batch):
            return Encoding(samples: batch.count) { state in state.encoder.encode(batch, registry: state.registry) }
        case .series, .checkpoint:
            preconditionFailure("series and checkpoint records are written by the encoder, not appended")
        case .targets(let change):
            return Encoding(samples: 0) { _ in [EventCodec.encode(change)] }
        case .membership(let membership):
            return Encoding(samples: 0) { _ in [EventCodec.encode(membership)] }
        case .ownership(let ownership):
            return Encoding(samples: 0) { _ in [EventCodec.encode(ownership)] }
        }
    }

    /// Appends one scrape's samples; every ref must come from `ref(for:)`.
    @discardableResult
    public func append(_ batch: SampleBatch) throws -> LogWriter.Appended {
        try commit(Self.encoding(.samples(batch)))
    }

    /// Appends several batches in one write and one sync: a scrape whose samples flow along
    /// several pipelines (each with its route).
    @discardableResult
    public func append(_ batches: [SampleBatch]) throws -> LogWriter.Appended {
        try commit(Self.encoding(batches))
    }

    /// Appends a targets, membership or ownership event.
    @discardableResult
    public func append(_ event: Event) throws -> LogWriter.Appended {
        try commit(Self.encoding(event))
    }

    /// `append` on a dispatch thread: file I/O and fsync never block the Swift concurrency pool.
    /// The sync is shared with the appends of other tasks as the writer's sync delay allows
    /// (``LogWriter/sync(upTo:then:)``); the append returns once its records are durable.
    @discardableResult
    public func append(_ batch: SampleBatch) async throws -> LogWriter.Appended {
        try await commitShared(Self.encoding(.samples(batch)))
    }

    @discardableResult
    public func append(_ event: Event) async throws -> LogWriter.Appended {
        try await commitShared(Self.encoding(event))
    }

    @discardableResult
    public func append(_ batches: [SampleBatch]) async throws -> LogWriter.Appended {
        try await commitShared(Self.encoding(batches))
    }

    /// `append` that does not wait for the disk: returns once the batches are written (on the
    /// log's queue, behind every append that returned before this one was called), or throws
    /// what kept them out, and then `durable` is never called. `durable` is called once the
    /// writer's (perhaps shared) sync covers them, with its error if it failed; until then they
    /// are in the segment but may not survive a crash of the machine. A scrape loop appends this
    /// way: a slow `fdatasync` delays the scrape's report, not the next scrape.
    public func append(
        _ batches: [SampleBatch],
        whenDurable durable: @escaping @Sendable (Result<LogWriter.Appended, any Error>) -> Void
    ) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            commitShared(Self.encoding(batches), written: { continuation.resume(with: $0) }, durable: durable)
        }
    }

    public func close() throws { try writer.close() }

    /// Samples appended since the log was opened (staleness markers included).
    public var appendedSamples: Int { samplesAppended.load(ordering: .relaxed) }

    /// Whether appends succeed now, and the failures so far.
    public var health: AppendHealth { state.withLock { $0.health } }

    /// Writes and syncs on the caller's thread.
    private func commit(_ encoding: Encoding) throws -> LogWriter.Appended {
        do {
            let appended = try write(encoding.records)
            if writer.options.sync == .batch { try writer.sync(upTo: appended) }
            succeeded(encoding)
            return appended
        } catch {
            fail(error)
            throw error
        }
    }

    /// Writes on the log's queue, then waits for the writer's (perhaps shared) sync.
    private func commitShared(_ encoding: Encoding) async throws -> LogWriter.Appended {
        try await withCheckedThrowingContinuation { continuation in
            commitShared(
                encoding,
                written: { result in
                    if case .failure(let error) = result { continuation.resume(throwing: error) }
                },
                durable: { continuation.resume(with: $0) })
        }
    }

    /// Writes on the log's queue and asks the writer for the (perhaps shared) sync: `written` is
    /// called once the records are in the segment, or with the error that kept them out (and
    /// then nothing more); `durable` once the sync covers them, or with its error.
    private func commitShared(
        _ encoding: Encoding, written: @escaping @Sendable (Result<Void, any Error>) -> Void,
        durable: @escaping @Sendable (Result<LogWriter.Appended, any Error>) -> Void
    ) {
        queue.async {
            let appended: LogWriter.Appended
            do {
                appended = try self.write(encoding.records)
            } catch {
                self.fail(error)
                written(.failure(error))
                return
            }
            written(.success(()))
            self.writer.sync(upTo: appended) { result in
                switch result {
                case .success:
                    self.succeeded(encoding)
                    durable(.success(appended))
                case .failure(let error):
                    self.fail(error)
                    durable(.failure(error))
                }
            }
        }
    }

    /// Counts an append's samples, and logs when appends that were failing work again.
    private func succeeded(_ encoding: Encoding) {
        samplesAppended.add(encoding.samples, ordering: .relaxed)
        let recovered = state.withLock { state -> AppendHealth.Failing? in
            defer { state.health.failing = nil }
            return state.health.failing
        }
        if let recovered {
            logger.info(
                "WAL appends resumed",
                metadata: [
                    "wal.failed_appends": "\(recovered.count)",
                    "wal.failing_for": "\(ContinuousClock.now - recovered.since)",
                ])
        }
    }

    /// Counts a failed append; logs when appends start failing and then once a minute.
    private func fail(_ error: any Error) {
        let reason: String
        switch error as? WALError {
        case .some(let error) where error.isOutOfSpace: reason = "disk_full"
        case .recordTooLarge: reason = "record_too_large"
        case .closed: return  // Shutting down: nothing more is appended, by design.
        default: reason = "io"
        }
        let now = ContinuousClock.now
        let report = state.withLock { state -> AppendHealth.Failing? in
            state.health.failures[reason, default: 0] += 1
            var failing = state.health.failing ?? .init(since: now, count: 0, reason: reason, error: "")
            failing.count += 1
            failing.reason = reason
            failing.error = "\(error)"
            state.health.failing = failing
            if let last = state.lastReport, failing.count > 1, now - last < Self.failureReportInterval { return nil }
            state.lastReport = now
            return failing
        }
        guard let report else { return }
        let metadata: Logger.Metadata = [
            "wal.reason": "\(reason)", "error": "\(error)", "wal.failed_appends": "\(report.count)",
            "wal.failing_for": "\(now - report.since)",
        ]
        if report.count == 1 {
            logger.error("WAL appends are failing; scrapes are not stored until this clears", metadata: metadata)
        } else {
            logger.error("WAL appends still failing", metadata: metadata)
        }
    }

    private func write(_ encode: (inout State) -> [Record]) throws -> LogWriter.Appended {
        let appended = try state.withLock { state in
            if state.mustRotate {
                if writer.end.offset > SegmentHeader.size {
                    try writer.rotate()
                } else {
                    // Nothing of the failed write is on disk and the segment holds no record.
                    state.encoder.reset()
                }
                state.mustRotate = false
            }
            if writer.end.segment != state.segment {
                state.encoder.reset()
                state.segment = writer.end.segment
            }
            var records = encode(&state)
            do {
                let bound = records.reduce(0) { $0 + 14 + $1.payload.count }
                if writer.wouldRotate(forBytes: bound) {
                    try writer.rotate()
                    state.encoder.reset()
                    state.segment = writer.end.segment
                    records = encode(&state)
                }
                return try writer.write(records)
            } catch {
                // The encoder has moved on (values, defined series) but the disk has not.
                state.mustRotate = true
                throw error
            }
        }
        return appended
    }
}
