import Events

/// A member's state as a node observed it, projected from a `membership` WAL record.
public struct MembershipEventRecord: Codable, Sendable, Hashable {
    /// Row id, assigned on insert.
    public var id: Int64?
    /// When the node observed the change (ms since the epoch).
    public var time: Int64
    /// Lamport time of the change.
    public var lamport: Int64
    /// Member name.
    public var member: String
    /// Member address (`host:port`).
    public var address: String
    /// New state.
    public var state: MembershipEvent.State
    /// SWIM incarnation number.
    public var incarnation: Int64
    /// Members that reported the change (stored as a JSON array).
    public var reportedBy: [String]
    /// WAL segment of the source record.
    public var walSegment: Int64
    /// WAL offset of the source record.
    public var walOffset: Int64

    /// Creates an event.
    public init(
        time: Int64, lamport: Int64, member: String, address: String, state: MembershipEvent.State, incarnation: Int64,
        reportedBy: [String], position: RecordPosition
    ) {
        self.time = time
        self.lamport = lamport
        self.member = member
        self.address = address
        self.state = state
        self.incarnation = incarnation
        self.reportedBy = reportedBy
        self.walSegment = position.segment
        self.walOffset = position.offset
    }

    /// Where the source record is in the WAL.
    public var position: RecordPosition { RecordPosition(segment: self.walSegment, offset: self.walOffset) }

}

extension MembershipEventRecord {
    /// The columns ``init(row:)`` reads, in its order.
    static let selection =
        "id, time, lamport, member, address, state, incarnation, reported_by, wal_segment, wal_offset"

    /// Reads the columns of ``selection``.
    init(row: SQLiteRow) throws {
        self.init(
            time: row.integer(1), lamport: row.integer(2), member: row.text(3), address: row.text(4),
            state: try row.enumeration(MembershipEvent.State.self, 5, of: "membership_event.state"),
            incarnation: row.integer(6), reportedBy: try row.json([String].self, 7, of: "membership_event.reported_by"),
            position: RecordPosition(segment: row.integer(8), offset: row.integer(9)))
        self.id = row.integer(0)
    }

    /// Inserts the event unless one from the same WAL position is stored.
    func insert(_ connection: SQLiteConnection) throws {
        try connection.execute(
            """
            INSERT OR IGNORE INTO membership_event
                (time, lamport, member, address, state, incarnation, reported_by, wal_segment, wal_offset)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .integer(self.time), .integer(self.lamport), .text(self.member), .text(self.address),
                .text(self.state.rawValue), .integer(self.incarnation), .text(try projectionJSON(self.reportedBy)),
                .integer(self.walSegment), .integer(self.walOffset),
            ])
    }
}
