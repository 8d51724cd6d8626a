/// How far forwarding to one endpoint has got: everything up to and including `position` is
/// sent (or dropped and counted).
public struct ReplayCursor: Codable, Sendable, Hashable {
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

extension ReplayCursor {
    /// The columns ``init(row:)`` reads, in its order.
    static let selection = "name, segment, offset, updated_at"

    /// Reads the columns of ``selection``.
    init(row: SQLiteRow) {
        self.init(
            name: row.text(0), position: RecordPosition(segment: row.integer(1), offset: row.integer(2)),
            updatedAt: row.integer(3))
    }

    /// Inserts the cursor or replaces the stored one of the same name.
    func save(_ connection: SQLiteConnection) throws {
        try connection.execute(
            """
            INSERT INTO replay_cursor (name, segment, offset, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT(name) DO UPDATE SET
                segment = excluded.segment, offset = excluded.offset, updated_at = excluded.updated_at
            """,
            [.text(self.name), .integer(self.segment), .integer(self.offset), .integer(self.updatedAt)])
    }
}
