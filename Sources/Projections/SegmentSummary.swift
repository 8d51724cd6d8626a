import GRDB

/// One WAL segment as the time index sees it: its time span and what it holds.
public struct SegmentSummary: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "segment"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

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
