/// Where a record sits in the WAL: its segment number and byte offset in that segment.
public struct RecordPosition: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Segment number.
    public var segment: Int64
    /// Byte offset of the record in its segment.
    public var offset: Int64

    /// Creates a position.
    public init(segment: Int64, offset: Int64) {
        self.segment = segment
        self.offset = offset
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.segment, lhs.offset) < (rhs.segment, rhs.offset)
    }

    public var description: String { "\(self.segment):\(self.offset)" }
}
