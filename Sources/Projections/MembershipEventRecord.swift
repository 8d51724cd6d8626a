import Events
import GRDB

/// A member's state as a node observed it, projected from a `membership` WAL record.
public struct MembershipEventRecord: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "membership_event"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

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

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        self.id = inserted.rowID
    }
}
