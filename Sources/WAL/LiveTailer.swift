/// Follows a live writer: returns every record from a position on, waiting for new
/// appends without polling, and following the writer across segment rotations.
///
/// It reads only up to the writer's end, so it never sees a record being written.
/// Everything before that end is complete records, in the current segment as in the
/// closed ones, so an invalid record there is damage: it is reported through
/// `corruptions` and reading goes on with the next valid record of the same segment
/// (see `SegmentScanner.resync`, which never looks past the writer's end). When no
/// valid record follows, the rest of a closed segment is lost; in the current
/// segment, reading goes on at the writer's end, where the next append starts.
///
/// Padding records (what `Repair` writes over damage) are never returned; stepping
/// over one signals a lost record exactly as stepping over the damage did, see
/// `lostSinceLastRecord`.
public struct LiveTailer {
    private let writer: LogWriter
    private var scanner: SegmentScanner?
    private var position: Position
    /// Damage met so far, with the bytes each one cost.
    public private(set) var corruptions: [CorruptionError] = []
    /// True when at least one record of its segment was lost right before the record
    /// the last `next()` or `nextAvailable()` returned: between that record and the
    /// previous one returned from the same segment (or the start position, or the
    /// segment's start), the tailer stepped over damage (also reported in
    /// `corruptions`) or a padding record left by `Repair`. The lost bytes are those from
    /// the previous record's end to the returned record's `position`. Damage at the end
    /// of a segment does not carry over to the next segment. False after a call that
    /// returned nil.
    public private(set) var lostSinceLastRecord = false
    /// Damage or padding stepped over since the last record returned from this segment.
    private var lostPending = false

    public init(writer: LogWriter, from start: Position) {
        self.writer = writer
        self.position = start
    }

    /// Where reading goes on: after the last record returned, or past damage or
    /// padding stepped over since.
    public var current: Position { position }

    /// The next record; waits for one. Returns nil once the writer is closed and
    /// everything written has been read, or when the task is cancelled.
    public mutating func next() async throws -> StoredRecord? {
        while !Task.isCancelled {
            if let record = try nextAvailable() { return record }
            if writer.isClosed { return nil }
            await writer.waitForData(beyond: position)
        }
        lostSinceLastRecord = false
        return nil
    }

    /// The next record if one is there now.
    public mutating func nextAvailable() throws -> StoredRecord? {
        lostSinceLastRecord = false
        while true {
            let end = writer.end
            if scanner == nil || scanner!.segment != position.segment {
                if position.segment > end.segment { return nil }
                let segments = try SegmentName.list(in: writer.directory)
                guard let segment = segments.first(where: { $0 >= position.segment }) else { return nil }
                if segment != position.segment { position = .start(of: segment) }
                position.offset = Swift.max(position.offset, SegmentHeader.size)
                scanner = try SegmentScanner(directory: writer.directory, segment: segment, offset: position.offset)
                lostPending = false
            }
            let isCurrent = position.segment == end.segment
            let limit = isCurrent ? end.offset : nil
            switch try scanner!.next(limit: limit) {
            case .record(let record):
                position = record.end
                if record.type == RecordFrame.paddingType {
                    lostPending = true
                    continue
                }
                lostSinceLastRecord = lostPending
                lostPending = false
                return record
            case .end:
                if isCurrent { return nil }
            case .incomplete(var error), .corrupt(var error):
                let found = try scanner!.resync(limit: limit)
                position = scanner!.position
                error.skipped = position.offset - error.position.offset
                corruptions.append(error)
                if found || isCurrent {
                    lostPending = true
                    continue
                }
            }
            // A closed segment is done: go on with the next one.
            position = .start(of: position.segment + 1)
            scanner = nil
        }
    }
}
