import Dispatch
import Logging
import Synchronization
import WAL

/// The event log: appends events to a WAL, encoding samples compactly and keeping
/// every segment self-contained (it defines the series its samples use).
public final class EventLog: Sendable {
    public let writer: LogWriter

    private struct State {
        var registry = SeriesRegistry()
        var encoder: SegmentEncoder
        var segment: Int
        /// Set after a failed write: the encoder state may be ahead of the disk, so the
        /// next append starts a fresh segment.
        var mustRotate = false
    }

    private let state: Mutex<State>
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

    /// Appends one scrape's samples; every ref must come from `ref(for:)`.
    @discardableResult
    public func append(_ batch: SampleBatch) throws -> LogWriter.Appended {
        try commit { state in state.encoder.encode(batch, registry: state.registry) }
    }

    /// Appends a targets, membership or ownership event.
    @discardableResult
    public func append(_ event: Event) throws -> LogWriter.Appended {
        switch event {
        case .samples(let batch):
            return try append(batch)
        case .series, .checkpoint:
            preconditionFailure("series and checkpoint records are written by the encoder, not appended")
        case .targets(let change):
            return try commit { _ in [EventCodec.encode(change)] }
        case .membership(let membership):
            return try commit { _ in [EventCodec.encode(membership)] }
        case .ownership(let ownership):
            return try commit { _ in [EventCodec.encode(ownership)] }
        }
    }

    /// `append` on a dispatch thread: file I/O and fsync never block the Swift
    /// concurrency pool.
    @discardableResult
    public func append(_ batch: SampleBatch) async throws -> LogWriter.Appended {
        try await offload { try self.append(batch) }
    }

    @discardableResult
    public func append(_ event: Event) async throws -> LogWriter.Appended {
        try await offload { try self.append(event) }
    }

    public func close() throws { try writer.close() }

    private func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    private func commit(_ encode: (inout State) -> [Record]) throws -> LogWriter.Appended {
        let appended = try state.withLock { state in
            if state.mustRotate {
                try writer.rotate()
                state.mustRotate = false
            }
            if writer.end.segment != state.segment {
                state.encoder.reset()
                state.segment = writer.end.segment
            }
            var records = encode(&state)
            let bound = records.reduce(0) { $0 + 14 + $1.payload.count }
            if writer.wouldRotate(forBytes: bound) {
                try writer.rotate()
                state.encoder.reset()
                state.segment = writer.end.segment
                records = encode(&state)
            }
            do {
                return try writer.write(records)
            } catch {
                state.mustRotate = true
                throw error
            }
        }
        if writer.options.sync == .batch { try writer.sync(upTo: appended) }
        return appended
    }
}
