/// One entry of the log: a type byte chosen by the layer above and opaque bytes.
public struct Record: Sendable, Equatable {
    /// 1–254; the log itself never interprets it. 0 is reserved, and 255 marks the
    /// padding records `Repair` writes over damage (readers never return those).
    public var type: UInt8
    public var payload: [UInt8]

    public init(type: UInt8, payload: [UInt8]) {
        precondition(type != 0, "record type 0 is reserved")
        precondition(type != RecordFrame.paddingType, "record type 255 is reserved for padding")
        self.type = type
        self.payload = payload
    }

    /// A record as read from disk, whatever its type (padding included).
    init(storedType: UInt8, payload: [UInt8]) {
        self.type = storedType
        self.payload = payload
    }
}

/// A record read back, with where it was found.
public struct StoredRecord: Sendable, Equatable {
    public var position: Position
    /// Where the next record starts.
    public var end: Position
    public var record: Record

    public var type: UInt8 { record.type }
    public var payload: [UInt8] { record.payload }
}
