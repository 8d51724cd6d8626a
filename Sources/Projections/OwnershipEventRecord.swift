import Events
import GRDB

/// A target's owner changed in this node's view, projected from an `ownership` WAL record.
public struct OwnershipEventRecord: Codable, Sendable, Hashable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "ownership_event"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

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

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        self.id = inserted.rowID
    }
}
