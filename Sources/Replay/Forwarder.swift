import Events
import Foundation
import Logging
import WAL

/// Forwards the event log to one remote-write endpoint, from a durable cursor.
///
/// The cursor is the position after the last record whose samples were all sent
/// (or counted as dropped); it is saved to the projection store, so after a crash
/// or restart forwarding resumes exactly there: nothing appended is lost.
public final class Forwarder: Sendable {
    public let name: String
    private let log: EventLog
    public let queue: RemoteWriteQueue
    private let store: ProjectionStore
    private let logger: Logger

    public init(name: String, log: EventLog, queue: RemoteWriteQueue, store: ProjectionStore, logger: Logger) {
        self.name = name
        self.log = log
        self.queue = queue
        self.store = store
        self.logger = logger
    }

    /// Packs a position into the queue's monotonically increasing `UInt64`.
    static func pack(_ position: Position) -> UInt64 { UInt64(position.segment) << 40 | UInt64(position.offset) }

    static func unpack(_ value: UInt64) -> Position {
        Position(segment: Int(value >> 40), offset: Int(value & (1 << 40 - 1)))
    }

    /// Where forwarding resumes: the saved cursor, or the oldest segment.
    public func startPosition() throws -> Position {
        if let cursor = try store.replayCursor(named: name) {
            return Position(segment: Int(cursor.segment), offset: Int(cursor.offset))
        }
        let oldest = try SegmentName.list(in: log.writer.directory).first ?? log.writer.end.segment
        return .start(of: oldest)
    }

    /// The position everything before which has been delivered.
    public var committed: Position? { queue.committedPosition.map(Self.unpack) }

    public func run() async throws {
        let start = try startPosition()
        logger.info(
            "Remote write forwarding starts",
            metadata: ["remote_write.endpoint": "\(name)", "wal.position": "\(start)"])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.queue.run() }
            group.addTask { try await self.saveCursorPeriodically() }
            group.addTask { try await self.feed(from: start) }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    private func feed(from start: Position) async throws {
        var tailer = EventTailer(log: log, from: start)
        var segment = -1
        // The label sets of the current segment's series, by ref (refs are per segment).
        var labelSets: [RemoteWriteLabelSet?] = []
        var samples: [RemoteWriteQueue.Sample] = []
        while let (record, event) = try await tailer.next() {
            if record.position.segment != segment {
                labelSets.removeAll(keepingCapacity: true)
                segment = record.position.segment
            }
            samples.removeAll(keepingCapacity: true)
            if case .samples(let batch) = event {
                let base = UInt64(segment) << 40
                samples.reserveCapacity(batch.count)
                for index in 0..<batch.count {
                    let ref = batch.refs[index]
                    let id = base | ref
                    let timestamp = batch.timestamp(at: index)
                    if Int(ref) >= labelSets.count {
                        labelSets.append(contentsOf: repeatElement(nil, count: Int(ref) + 1 - labelSets.count))
                    }
                    if labelSets[Int(ref)] == nil, let labels = tailer.labels(for: ref) {
                        labelSets[Int(ref)] = queue.labelSet(
                            labels.map { RemoteWriteLabel(name: $0.name, value: $0.value) })
                    }
                    // No labels for the ref (nil): the queue counts the sample as dropped.
                    samples.append(
                        .init(
                            series: labelSets[Int(ref)], seriesID: id, timestamp: timestamp, value: batch.values[index])
                    )
                }
            }
            try await queue.append(samples, position: Self.pack(record.end))
        }
    }

    private func saveCursorPeriodically() async throws {
        var saved: UInt64?
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(500))
            try saveCursor(ifChangedFrom: &saved)
        }
    }

    private func saveCursor(ifChangedFrom saved: inout UInt64?) throws {
        guard let committed = queue.committedPosition, committed != saved else { return }
        let position = Self.unpack(committed)
        try store.saveReplayCursor(
            ReplayCursor(
                name: name, position: RecordPosition(segment: Int64(position.segment), offset: Int64(position.offset)),
                updatedAt: Int64(Date().timeIntervalSince1970 * 1000)))
        saved = committed
    }

    /// Saves the cursor now (on shutdown).
    public func saveCursor() throws {
        var saved: UInt64?
        try saveCursor(ifChangedFrom: &saved)
    }
}
