/// Iterates the records of a WAL directory in order, from a position on.
///
/// A damaged record in a segment that is not the newest is reported through
/// `corruptions` and reading goes on with the next valid record of the same segment
/// (see `SegmentScanner.resync`): damage costs the records it hit, or the rest of its
/// segment when no valid record follows it. In the newest segment, the end of the
/// valid records is the end of the log (a writer may still be appending to it):
/// nothing past it is read until a newer segment shows the writer has moved on.
///
/// Padding records (what `Repair` writes over damage) are never returned; stepping
/// over one signals a lost record exactly as stepping over the damage did, see
/// `lostSinceLastRecord`.
public struct LogReader {
    public let directory: String
    private var segments: [Int]
    private var index = 0
    private var scanner: SegmentScanner?
    private let start: Position
    /// Problems met so far, with the bytes each one cost.
    public private(set) var corruptions: [CorruptionError] = []
    /// True when at least one record of its segment was lost right before the record
    /// the last `next()` returned: between that record and the previous one returned
    /// from the same segment (or the position reading started from, or the segment's
    /// start), the reader stepped over damage (also reported in `corruptions`) or a
    /// padding record left by `Repair`. The lost bytes are those from the previous
    /// record's end to the returned record's `position`. Damage at the end of a segment
    /// does not carry over to the next segment, whose records never depend on it.
    /// False after a `next()` that returned nil.
    public private(set) var lostSinceLastRecord = false
    /// Damage or padding stepped over since the last record returned from this segment.
    private var lostPending = false

    public init(directory: String, from start: Position = Position(segment: 0, offset: 0)) throws {
        self.directory = directory
        self.start = start
        self.segments = try SegmentName.list(in: directory).filter { $0 >= start.segment }
    }

    /// The position the next record would be read from.
    public var position: Position? { scanner?.position }

    public mutating func next() throws -> StoredRecord? {
        lostSinceLastRecord = false
        while index < segments.count {
            if scanner == nil {
                let segment = segments[index]
                let offset =
                    segment == start.segment ? Swift.max(start.offset, SegmentHeader.size) : SegmentHeader.size
                let opened = try SegmentScanner(directory: directory, segment: segment, offset: offset)
                if let cause = try opened.headerProblem() {
                    if index < segments.count - 1 {
                        corruptions.append(
                            CorruptionError(
                                position: Position(segment: segment, offset: 0), cause: cause,
                                skipped: try opened.size()))
                    }
                    index += 1
                    continue
                }
                scanner = opened
                lostPending = false
            }
            let isNewest = index == segments.count - 1
            switch try scanner!.next() {
            case .record(let record) where record.type == RecordFrame.paddingType:
                lostPending = true
                continue
            case .record(let record):
                lostSinceLastRecord = lostPending
                lostPending = false
                return record
            case .end where isNewest, .incomplete where isNewest:
                // The newest segment known ends here. Did the writer move on meanwhile?
                // Then that segment is closed: read on from here (what was appended to it
                // before the rotation, or past its damage).
                guard try foundNewerSegments() else { return nil }
                continue
            case .corrupt(var error) where isNewest:
                if try foundNewerSegments() { continue }
                // Perhaps a torn tail, which the writer's next open truncates: reading ends.
                error.skipped = try scanner!.size() - error.position.offset
                corruptions.append(error)
            case .end:
                break
            case .incomplete(var error), .corrupt(var error):
                let found = try scanner!.resync()
                error.skipped = scanner!.offset - error.position.offset
                corruptions.append(error)
                if found {
                    lostPending = true
                    continue
                }
            }
            scanner = nil
            index += 1
        }
        return nil
    }

    /// Adds the segments created after the newest one known; true when there were any.
    private mutating func foundNewerSegments() throws -> Bool {
        let newer = try SegmentName.list(in: directory).filter { $0 > segments[segments.count - 1] }
        segments.append(contentsOf: newer)
        return !newer.isEmpty
    }
}
