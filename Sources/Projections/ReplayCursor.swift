import GRDB

/// How far forwarding to one endpoint has got: everything up to and including `position` is
/// sent (or dropped and counted).
public struct ReplayCursor: Codable, Sendable, Hashable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "replay_cursor"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    /// Endpoint name.
    public var name: String
    /// WAL segment of the last settled record.
    public var segment: Int64
    /// WAL offset of the last settled record.
    public var offset: Int64
    /// When the cursor was saved (ms since the epoch).
    public var updatedAt: Int64

    /// Creates a cursor.
    public init(name: String, position: RecordPosition, updatedAt: Int64) {
        self.name = name
        self.segment = position.segment
        self.offset = position.offset
        self.updatedAt = updatedAt
    }

    /// The position as a value.
    public var position: RecordPosition { RecordPosition(segment: self.segment, offset: self.offset) }
}
