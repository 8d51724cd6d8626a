import Events
import Foundation
import Logging
import Primitives
import Synchronization
import WAL

/// Forwards the event log to one remote-write endpoint, from a durable cursor.
///
/// The queue reports its exact progress after every acknowledged request to the endpoint's
/// ``DeliveryCursorFile``; after a crash or restart, forwarding resumes there, and only the
/// requests that were in flight are sent again: nothing appended is lost. A record that does
/// not decode is skipped, logged with its segment:offset and counted; it never stops the rest.
public final class Forwarder: Sendable {
    public let name: String
    /// The label of the `prometheus.remote_write` component the endpoint belongs to: only
    /// samples whose route reaches it are sent (those with no route go everywhere). nil: all.
    public let receiver: String?
    /// The endpoint's `write_relabel_config`: a series' labels as sent, or nil to drop it (its
    /// samples are counted as dropped, as Prometheus's queue counts them). Applied once per
    /// series per segment. nil: labels as the WAL holds them.
    private let writeRelabel: (@Sendable (Labels) -> Labels?)?
    private let log: EventLog
    public let queue: RemoteWriteQueue
    private let logger: Logger
    private let damage = Mutex(Damage())

    /// What the forwarder had to pass over in the WAL.
    public struct Damage: Sendable, Hashable {
        /// Records intact on disk that did not decode (`agentd_remote_storage_records_skipped_total`).
        public var recordsSkipped = 0
        /// Damaged stretches of the WAL stepped over.
        public var corruptions = 0
        /// Samples left out because a skipped or damaged record broke their series' value chain.
        public var samplesLost = 0
    }

    public init(
        name: String, receiver: String? = nil, writeRelabel: (@Sendable (Labels) -> Labels?)? = nil, log: EventLog,
        queue: RemoteWriteQueue, logger: Logger
    ) {
        self.name = name
        self.receiver = receiver
        self.writeRelabel = writeRelabel
        self.log = log
        self.queue = queue
        self.logger = logger
    }

    /// Packs a position into the queue's monotonically increasing `UInt64`.
    static func pack(_ position: Position) -> UInt64 { UInt64(position.segment) << 40 | UInt64(position.offset) }

    static func unpack(_ value: UInt64) -> Position {
        Position(segment: Int(value >> 40), offset: Int(value & (1 << 40 - 1)))
    }

    /// Where an endpoint's forwarding resumes: its cursor file, else `legacyCursor` (an agent from
    /// before the cursor files kept the position in its SQLite index), else nothing (the oldest segment).
    public static func storedProgress(
        file: DeliveryCursorFile, legacyCursor: () -> Position?, name: String, logger: Logger
    ) -> DeliveryProgress? {
        do {
            if let progress = try file.load() { return progress }
        } catch {
            logger.warning(
                "remote write cursor file unreadable; resuming from the index's cursor",
                metadata: ["remote_write.endpoint": "\(name)", "error": "\(error)"])
        }
        guard let position = legacyCursor() else { return nil }
        return DeliveryProgress(committed: pack(position), shards: 0, mapping: "")
    }

    /// Where forwarding starts: after the committed cursor, or the oldest segment.
    public func startPosition() throws -> Position {
        if let committed { return committed }
        let oldest = try SegmentName.list(in: log.writer.directory).first ?? log.writer.end.segment
        return .start(of: oldest)
    }

    /// The position everything before which has been delivered.
    public var committed: Position? { queue.committedPosition.map(Self.unpack) }

    /// What was passed over so far.
    public var passedOver: Damage { damage.withLock { $0 } }

    /// Forwards until cancelled, or until the log is closed and everything in it is delivered
    /// (a drain: the caller bounds it in time).
    public func run() async throws {
        let start = try startPosition()
        logger.info(
            "Remote write forwarding starts",
            metadata: ["remote_write.endpoint": "\(name)", "wal.position": "\(start)"])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.queue.run() }
            group.addTask {
                try await self.feed(from: start)
                // The log is closed and read to its end: send what is queued without waiting for deadlines.
                await self.queue.flush()
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    private func feed(from start: Position) async throws {
        var tailer = EventTailer(log: log, from: start)
        var segment = -1
        // The label sets of the series read, made in pages, and their numbers there by ref
        // (`none`: no label set yet). Refs are per segment, but in the segments this process
        // wrote a ref names one series for the process's life: from the first of those on, the
        // label sets are kept from segment to segment, made once per series.
        var sets = RemoteWriteLabelSets(externalLabels: queue.externalLabels)
        var numbers: [UInt32] = []
        let none = UInt32.max
        var keptAcrossSegments = false
        // The refs whose series `write_relabel_config` drops.
        var writeDropped: Set<UInt64> = []
        // What earlier tailers (before a read error) and this one reported.
        var earlier = Damage()
        var reported = Damage()
        var readFailures = 0
        func enter(_ next: Int) {
            guard next != segment else { return }
            segment = next
            let own = log.wrote(segment: next)
            if own && keptAcrossSegments { return }
            sets = RemoteWriteLabelSets(externalLabels: queue.externalLabels)
            numbers.removeAll(keepingCapacity: true)
            writeDropped.removeAll(keepingCapacity: true)
            keptAcrossSegments = own
        }
        func makeRoom(for ref: UInt64) {
            numbers.extend(to: Int(ref) + 1, with: none)
        }
        // Makes the label set of `ref`, or notes that `write_relabel_config` drops it.
        func make(_ ref: UInt64, labels: () -> Labels?, encoded: () -> EncodedLabels?) {
            if let writeRelabel {
                guard let labels = labels() else { return }
                guard let sent = writeRelabel(labels) else {
                    writeDropped.insert(ref)
                    return
                }
                numbers[Int(ref)] = UInt32(sets.add(sent.map { RemoteWriteLabel(name: $0.name, value: $0.value) }))
            } else if let encoded = encoded() {
                numbers[Int(ref)] = UInt32(sets.add(encoded))
            }
        }
        // A series' label set is made when its series record is read. Where the record is this
        // process's own, the label set keeps a range of the series registry's bytes: neither the
        // record nor a copy of the labels is kept.
        func define(_ definedIn: Int, _ definitions: [SeriesEncoding]) {
            enter(definedIn)
            let shared = writeRelabel == nil ? log.sharedLabels(definitions, in: definedIn) : []
            for (index, definition) in definitions.enumerated() {
                makeRoom(for: definition.ref)
                // Made in an earlier segment of this process: the same series.
                if keptAcrossSegments, numbers[Int(definition.ref)] != none || writeDropped.contains(definition.ref) {
                    continue
                }
                make(
                    definition.ref, labels: { definition.labels.labels },
                    encoded: { shared[index] ?? definition.labels })
            }
        }
        while true {
            let next: (record: StoredRecord, event: Event)?
            do {
                next = try await tailer.next(onSeries: define)
                readFailures = 0
            } catch {
                // An I/O error reading a segment: try again from the same place, never give up.
                if readFailures == 0 {
                    logger.error(
                        "remote write cannot read the WAL; retrying every 5 s",
                        metadata: [
                            "remote_write.endpoint": "\(name)", "wal.position": "\(tailer.position)",
                            "error": "\(error)",
                        ])
                }
                readFailures += 1
                try await Task.sleep(for: .seconds(5))
                report(&reported, tailer, earlier: earlier)
                earlier = reported
                tailer = EventTailer(log: log, from: tailer.position)
                segment = -1
                continue
            }
            guard let (record, event) = next else { break }
            enter(record.position.segment)
            if tailer.skipped.count + earlier.recordsSkipped != reported.recordsSkipped
                || tailer.corruptions.count + earlier.corruptions != reported.corruptions
                || tailer.lostSamples + earlier.samplesLost != reported.samplesLost
            {
                report(&reported, tailer, earlier: earlier)
            }
            // Samples routed elsewhere still move the cursor on: an empty append at the record's end.
            guard case .samples(let batch) = event, receiver.map(batch.flows(to:)) ?? true else {
                try await queue.append(EmptyCollection(), position: Self.pack(record.end))
                continue
            }
            // Series defined before the start (read by the seek) are kept by the reader until asked
            // for. Most batches have a label set for every ref: looked up in a copy of the numbers
            // (the captured array would be checked for exclusive access at every read).
            makeRoom(for: batch.refs.max() ?? 0)
            if batch.refs.contains(where: { [numbers] in numbers[Int($0)] == none }) {
                for ref in batch.refs {
                    guard numbers[Int(ref)] == none, !writeDropped.contains(ref) else { continue }
                    // The series record's bytes, copied out of it, not decoded.
                    make(ref, labels: { tailer.labels(for: ref) }, encoded: { tailer.encodedLabels(for: ref) })
                }
            }
            // Made one at a time as the queue takes them: no array of samples (and of references
            // to their label sets) in between. No labels for a ref (nil): the queue counts the
            // sample as dropped.
            let samples = batch.refs.indices.lazy.map { [sets, numbers] index in
                let number = numbers[Int(batch.refs[index])]
                return RemoteWriteQueue.Sample(
                    series: number == none ? nil : sets[Int(number)], timestamp: batch.timestamp(at: index),
                    value: batch.values[index])
            }
            try await queue.append(samples, position: Self.pack(record.end))
        }
        report(&reported, tailer, earlier: earlier)
    }

    /// Logs and counts the damage the tailer met since the last report; `earlier` is what
    /// the tailers before it met.
    private func report(_ reported: inout Damage, _ tailer: EventTailer, earlier: Damage) {
        for error in tailer.skipped.dropFirst(reported.recordsSkipped - earlier.recordsSkipped) {
            logger.warning(
                "remote write skipped a WAL record that does not decode",
                metadata: [
                    "remote_write.endpoint": "\(name)", "wal.position": "\(error.position)", "error": "\(error)",
                ])
        }
        for error in tailer.corruptions.dropFirst(reported.corruptions - earlier.corruptions) {
            logger.warning(
                "remote write stepped over damage in the WAL",
                metadata: [
                    "remote_write.endpoint": "\(name)", "wal.position": "\(error.position)", "error": "\(error)",
                ])
        }
        reported = Damage(
            recordsSkipped: earlier.recordsSkipped + tailer.skipped.count,
            corruptions: earlier.corruptions + tailer.corruptions.count,
            samplesLost: earlier.samplesLost + tailer.lostSamples)
        damage.withLock { $0 = reported }
    }
}
