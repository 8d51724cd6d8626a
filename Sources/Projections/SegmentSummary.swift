/// One WAL segment as the time index sees it: its time span and what it holds.
public struct SegmentSummary: Codable, Sendable, Hashable {
    /// Segment number.
    public var segment: Int64
    /// Oldest sample timestamp in the segment (ms), `nil` while it holds no sample.
    public var firstTimestamp: Int64?
    /// Newest sample timestamp in the segment (ms).
    public var lastTimestamp: Int64?
    /// `series` records.
    public var seriesRecords: Int64
    /// `samples` records.
    public var sampleRecords: Int64
    /// `targets` records.
    public var targetRecords: Int64
    /// `membership` records.
    public var membershipRecords: Int64
    /// `ownership` records.
    public var ownershipRecords: Int64
    /// Samples in all `samples` records.
    public var sampleCount: Int64
    /// Bytes of the segment file.
    public var bytes: Int64

    /// Creates a summary; counts default to zero.
    public init(
        segment: Int64, firstTimestamp: Int64? = nil, lastTimestamp: Int64? = nil, seriesRecords: Int64 = 0,
        sampleRecords: Int64 = 0, targetRecords: Int64 = 0, membershipRecords: Int64 = 0,
        ownershipRecords: Int64 = 0, sampleCount: Int64 = 0, bytes: Int64 = 0
    ) {
        self.segment = segment
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
        self.seriesRecords = seriesRecords
        self.sampleRecords = sampleRecords
        self.targetRecords = targetRecords
        self.membershipRecords = membershipRecords
        self.ownershipRecords = ownershipRecords
        self.sampleCount = sampleCount
        self.bytes = bytes
    }

    /// Whether the segment's samples overlap `[since, until]` (either bound may be open).
    public func overlaps(since: Int64?, until: Int64?) -> Bool {
        guard let first = self.firstTimestamp, let last = self.lastTimestamp else { return false }
        return (since.map { last >= $0 } ?? true) && (until.map { first <= $0 } ?? true)
    }
}

extension SegmentSummary {
    /// The columns ``init(row:)`` reads, in its order.
    static let selection = """
        segment, first_timestamp, last_timestamp, series_records, sample_records, target_records, membership_records,
        ownership_records, sample_count, bytes
        """

    /// Reads the columns of ``selection``.
    init(row: SQLiteRow) {
        self.init(
            segment: row.integer(0), firstTimestamp: row.optionalInteger(1), lastTimestamp: row.optionalInteger(2),
            seriesRecords: row.integer(3), sampleRecords: row.integer(4), targetRecords: row.integer(5),
            membershipRecords: row.integer(6), ownershipRecords: row.integer(7), sampleCount: row.integer(8),
            bytes: row.integer(9))
    }

    /// Inserts the summary or replaces the stored one of the same segment.
    func save(_ connection: SQLiteConnection) throws {
        try connection.execute(
            """
            INSERT INTO segment (\(Self.selection)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(segment) DO UPDATE SET
                first_timestamp = excluded.first_timestamp, last_timestamp = excluded.last_timestamp,
                series_records = excluded.series_records, sample_records = excluded.sample_records,
                target_records = excluded.target_records, membership_records = excluded.membership_records,
                ownership_records = excluded.ownership_records, sample_count = excluded.sample_count,
                bytes = excluded.bytes
            """,
            [
                .integer(self.segment), .integer(self.firstTimestamp), .integer(self.lastTimestamp),
                .integer(self.seriesRecords), .integer(self.sampleRecords), .integer(self.targetRecords),
                .integer(self.membershipRecords), .integer(self.ownershipRecords), .integer(self.sampleCount),
                .integer(self.bytes),
            ])
    }
}
