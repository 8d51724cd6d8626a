import Events
import WAL

/// Turns WAL records into the SQLite projections: the segment index, membership
/// history and ownership history. The same code serves the incremental catch-up
/// and a full rebuild, so both produce the same rows. It reads no sample values
/// and no labels of series, so it starts at any record without decoding what came
/// before it.
public struct Projector {
    private var segments: [Int64: SegmentSummary] = [:]
    private var membership: [MembershipEventRecord] = []
    private var ownership: [OwnershipEventRecord] = []
    private var consumed: RecordPosition?
    /// Records intact on disk that did not decode: each was passed over, nothing else stopped.
    public private(set) var skipped: [EventError] = []

    public init() {}

    /// Starts from what the store already holds for the segment being resumed.
    public init(resumingFrom store: ProjectionStore, segment: Int) throws {
        if let existing = try store.allSegments().first(where: { $0.segment == Int64(segment) }) {
            segments[existing.segment] = existing
        }
    }

    public var pending: Int { membership.count + ownership.count + segments.count }

    /// Adds one record. It needs no other record to be understood (`RecordSummary`), so
    /// projecting can start at any record of the log.
    public mutating func add(_ record: StoredRecord) throws {
        let position = RecordPosition(segment: Int64(record.position.segment), offset: Int64(record.position.offset))
        let segment = Int64(record.position.segment)
        var summary = segments[segment] ?? SegmentSummary(segment: segment)
        summary.bytes = Int64(record.end.offset)
        var times: [Int64] = []
        let described: RecordSummary?
        do {
            described = try RecordSummary.of(record)
        } catch {
            skipped.append(error)
            described = nil
        }
        switch described {
        case nil:
            break
        case .series:
            summary.seriesRecords += 1
        case .checkpoint:
            break
        case .samples(let count, let oldest, let newest):
            summary.sampleRecords += 1
            summary.sampleCount += Int64(count)
            if let oldest, let newest { times = [oldest, newest] }
        case .event(.targets(let change)):
            summary.targetRecords += 1
            times = [change.time]
        case .event(.membership(let event)):
            summary.membershipRecords += 1
            times = [event.time]
            membership.append(
                MembershipEventRecord(
                    time: event.time, lamport: Int64(bitPattern: event.lamport), member: event.member,
                    address: event.address,
                    state: event.state,
                    incarnation: Int64(bitPattern: event.incarnation), reportedBy: event.reportedBy, position: position)
            )
        case .event(.ownership(let event)):
            summary.ownershipRecords += 1
            times = [event.time]
            ownership.append(
                OwnershipEventRecord(
                    time: event.time, effectiveTime: event.effective, key: event.target,
                    targetLabels: event.labels.dictionary,
                    previousOwner: event.previousOwner.isEmpty ? nil : event.previousOwner,
                    newOwner: event.newOwner.isEmpty ? nil : event.newOwner,
                    causeKind: event.cause,
                    causeDetail: event.detail, position: position))
        case .event:
            break
        }
        for time in times {
            summary.firstTimestamp = min(summary.firstTimestamp ?? time, time)
            summary.lastTimestamp = max(summary.lastTimestamp ?? time, time)
        }
        segments[segment] = summary
        consumed = RecordPosition(segment: Int64(record.end.segment), offset: Int64(record.end.offset))
    }

    /// Writes what was added since the last flush, in one transaction.
    public mutating func flush(into store: ProjectionStore) throws {
        guard let consumed else { return }
        try store.apply(
            segments: Array(segments.values), membership: membership, ownership: ownership, consumedThrough: consumed)
        membership.removeAll()
        ownership.removeAll()
        // Keep only the newest segment's running totals: older segments are complete.
        if let newest = segments.keys.max() { segments = segments.filter { $0.key == newest } }
    }

    /// Reads the WAL directory from where the store stopped and applies everything.
    /// Returns the position after the last record read.
    @discardableResult
    public static func catchUp(
        store: ProjectionStore, walDirectory: String, progress: ((Position) -> Void)? = nil
    ) throws -> Position {
        let consumed = try store.consumedPosition()
        let start =
            consumed.map { Position(segment: Int($0.segment), offset: Int($0.offset)) }
            ?? Position(segment: 0, offset: 0)
        var projector = try Projector(resumingFrom: store, segment: start.segment)
        var reader = try LogReader(directory: walDirectory, from: start)
        var end = start
        while let record = try reader.next() {
            try projector.add(record)
            end = record.end
            if projector.pending > 5_000 {
                try projector.flush(into: store)
                progress?(end)
            }
        }
        try projector.flush(into: store)
        return end
    }

    /// Drops the projections and rebuilds them from the whole WAL (cursors are kept).
    public static func rebuild(
        store: ProjectionStore, walDirectory: String, progress: ((Position) -> Void)? = nil
    ) throws {
        try store.reset()
        try catchUp(store: store, walDirectory: walDirectory, progress: progress)
    }
}
