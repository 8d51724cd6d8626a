import WAL

/// Reads events from a WAL directory, from a position on. A position in the
/// middle of a segment is reached from the segment's last checkpoint before it
/// (see `Seek`), or from the segment's start when it has none; only what lies at
/// or after the position is returned.
public struct EventReader {
    private var reader: LogReader
    public private(set) var decoder: EventDecoder
    private let start: Position
    /// Where decoding began: a segment's start, or the checkpoint a seek chose.
    public let decodingStart: Position

    public init(directory: String, from start: Position = Position(segment: 0, offset: 0)) throws {
        let seek = Seek(directory: directory, toward: start)
        self.start = start
        decodingStart = seek.position
        decoder = seek.decoder
        reader = try LogReader(directory: directory, from: seek.position)
    }

    /// Reads from inside `segment`: from its last checkpoint before which every sample
    /// is older than `time`, or from its start when there is none.
    public init(directory: String, segment: Int, seekingTo time: Int64) throws {
        let seek = Seek(directory: directory, segment: segment) { _, checkpoint in checkpoint.newestBefore < time }
        start = seek.position
        decodingStart = seek.position
        decoder = seek.decoder
        reader = try LogReader(directory: directory, from: seek.position)
    }

    /// Damage found in the WAL so far (see docs/wal-format.md for what each costs).
    public var corruptions: [CorruptionError] { reader.corruptions }

    /// Where the reader stands in its segment (nil past its end).
    public var position: Position? { reader.position }

    /// Records that are intact on disk but did not decode: each was skipped (see `next()`).
    public private(set) var skipped: [EventError] = []

    /// Samples left out because a lost or skipped record broke their series' value chain.
    public var lostSamples: Int { decoder.lostSamples }

    /// The next event and where it was. A record that is intact but does not decode is
    /// skipped and listed in `skipped`: one bad record never stops the reading.
    public mutating func next() throws -> (record: StoredRecord, event: Event)? {
        try next(skippingSamplesBefore: nil)
    }

    /// Like `next()`, but `samples` records whose samples are all older than `time` are
    /// decoded only for their effect on the decoder and not returned.
    public mutating func next(skippingSamplesBefore time: Int64?) throws -> (record: StoredRecord, event: Event)? {
        while true {
            guard let record = try reader.next() else { return nil }
            if reader.lostSinceLastRecord { decoder.recordLost(in: record.position.segment) }
            do {
                guard record.position >= start else {
                    try decoder.advance(record)
                    continue
                }
                guard let event = try decoder.decode(record, skippingSamplesBefore: time) else { continue }
                return (record, event)
            } catch {
                skipped.append(error)
            }
        }
    }

    /// The labels of a ref, as defined in the segment being read.
    public mutating func labels(for ref: UInt64) -> Labels? { decoder.labels(for: ref) }
}

/// Follows a live event log, like `EventReader` but waiting for new events. It does not
/// return `series` records: it defines their series lazily, see `labels(for:)`.
public struct EventTailer {
    private var tailer: LiveTailer
    public private(set) var decoder: EventDecoder
    private let start: Position

    public init(log: EventLog, from start: Position) {
        let seek = Seek(directory: log.writer.directory, toward: start)
        self.start = start
        decoder = seek.decoder
        tailer = LiveTailer(writer: log.writer, from: seek.position)
    }

    /// The position after the last record returned.
    public var position: Position { tailer.current }

    public var corruptions: [CorruptionError] { tailer.corruptions }

    /// Records that are intact on disk but did not decode: each was skipped.
    public private(set) var skipped: [EventError] = []

    /// Samples left out because a lost or skipped record broke their series' value chain.
    public var lostSamples: Int { decoder.lostSamples }

    /// The next event; waits for one. Like `EventReader.next()`, a record that does not
    /// decode is skipped and listed in `skipped`.
    public mutating func next() async throws -> (record: StoredRecord, event: Event)? {
        try await next(onSeries: nil)
    }

    /// The next event, like ``next()``, but the definitions of `series` records at or after the
    /// start are handed to `onSeries` as they are read (with their segment), as ranges of the
    /// record's payload, and not kept: ``labels(for:)`` answers only for series defined before
    /// the start. For a follower that takes a series' labels once, when it is defined, so that
    /// nothing holds a segment's series records for the segment's life.
    public mutating func next(
        onSeries: ((_ segment: Int, _ definitions: [SeriesEncoding]) -> Void)?
    ) async throws -> (record: StoredRecord, event: Event)? {
        while true {
            guard let record = try await tailer.next() else { return nil }
            if tailer.lostSinceLastRecord { decoder.recordLost(in: record.position.segment) }
            do {
                if let onSeries, record.position >= start, record.type == EventKind.series.rawValue {
                    try decoder.define(record) { onSeries(record.position.segment, $0) }
                    continue
                }
                // Otherwise series are defined lazily and not returned: a follower of the live log
                // asks for a series' labels once, and the decoder keeps only the record's bytes.
                guard record.position >= start, record.type != EventKind.series.rawValue else {
                    try decoder.advance(record)
                    continue
                }
                return (record, try decoder.decode(record))
            } catch {
                skipped.append(error)
            }
        }
    }

    /// The labels of a ref, decoded from the segment's series record on every call.
    public mutating func labels(for ref: UInt64) -> Labels? { decoder.labels(for: ref, keep: false) }

    /// The labels of a ref as the segment's series record encodes them: their bytes copied out of
    /// the record, not decoded.
    public func encodedLabels(for ref: UInt64) -> EncodedLabels? { decoder.encodedLabels(for: ref) }
}
