import Events

/// A target's owner changed in this node's view, projected from an `ownership` WAL record.
public struct OwnershipEventRecord: Codable, Sendable, Hashable {
    /// Row id, assigned on insert.
    public var id: Int64?
    /// When the node recorded the change (ms since the epoch).
    public var time: Int64
    /// From when the new owner scrapes the target (ms since the epoch).
    public var effectiveTime: Int64
    /// The target key's bit pattern (SQLite integers are signed); see ``key``.
    public var targetKey: Int64
    /// The target's labels (stored as a JSON object).
    public var targetLabels: [String: String]
    /// Owner before the change, `nil` for a new target or when nobody owned it.
    public var previousOwner: String?
    /// Owner after the change, `nil` for a removed target or when nobody can own it.
    public var newOwner: String?
    /// What triggered the change.
    public var causeKind: OwnershipEvent.Cause
    /// Human explanation, such as "agentd-1 declared dead after suspicion by agentd-2".
    public var causeDetail: String
    /// WAL segment of the source record.
    public var walSegment: Int64
    /// WAL offset of the source record.
    public var walOffset: Int64

    /// Creates an event.
    public init(
        time: Int64, effectiveTime: Int64, key: UInt64, targetLabels: [String: String], previousOwner: String?,
        newOwner: String?, causeKind: OwnershipEvent.Cause, causeDetail: String, position: RecordPosition
    ) {
        self.time = time
        self.effectiveTime = effectiveTime
        self.targetKey = Int64(bitPattern: key)
        self.targetLabels = targetLabels
        self.previousOwner = previousOwner
        self.newOwner = newOwner
        self.causeKind = causeKind
        self.causeDetail = causeDetail
        self.walSegment = position.segment
        self.walOffset = position.offset
    }

    /// The 64-bit target key.
    public var key: UInt64 { UInt64(bitPattern: self.targetKey) }

    /// Where the source record is in the WAL.
    public var position: RecordPosition { RecordPosition(segment: self.walSegment, offset: self.walOffset) }

}

extension OwnershipEventRecord {
    /// The columns ``init(row:)`` reads, in its order.
    static let selection = """
        id, time, effective_time, target_key, target_labels, previous_owner, new_owner, cause_kind, cause_detail,
        wal_segment, wal_offset
        """

    /// Reads the columns of ``selection``.
    init(row: SQLiteRow) throws {
        self.init(
            time: row.integer(1), effectiveTime: row.integer(2), key: UInt64(bitPattern: row.integer(3)),
            targetLabels: try row.json([String: String].self, 4, of: "ownership_event.target_labels"),
            previousOwner: row.optionalText(5), newOwner: row.optionalText(6),
            causeKind: try row.enumeration(OwnershipEvent.Cause.self, 7, of: "ownership_event.cause_kind"),
            causeDetail: row.text(8), position: RecordPosition(segment: row.integer(9), offset: row.integer(10)))
        self.id = row.integer(0)
    }

    /// Inserts the event unless one from the same WAL position is stored.
    func insert(_ connection: SQLiteConnection) throws {
        try connection.execute(
            """
            INSERT OR IGNORE INTO ownership_event
                (time, effective_time, target_key, target_labels, previous_owner, new_owner, cause_kind, cause_detail,
                wal_segment, wal_offset)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .integer(self.time), .integer(self.effectiveTime), .integer(self.targetKey),
                .text(try projectionJSON(self.targetLabels)), .text(self.previousOwner), .text(self.newOwner),
                .text(self.causeKind.rawValue), .text(self.causeDetail), .integer(self.walSegment),
                .integer(self.walOffset),
            ])
    }
}
