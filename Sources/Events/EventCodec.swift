import WAL

/// Encodes and decodes the events that carry no cross-record state: targets,
/// membership and ownership. Series and samples go through `SegmentEncoder` /
/// `EventDecoder`, which keep per-segment state.
enum EventCodec {
    static func encode(_ change: TargetsChange) -> Record {
        var out = ByteWriter()
        out.zigzag(change.time)
        out.varint(change.added.count)
        for target in change.added {
            out.uint64(target.key)
            out.labels(target.labels)
        }
        out.varint(change.removed.count)
        for key in change.removed { out.uint64(key) }
        return Record(type: EventKind.targets.rawValue, payload: out.bytes)
    }

    static func decodeTargets(_ payload: [UInt8]) throws(EventDecodeError) -> TargetsChange {
        var reader = ByteReader(payload)
        let time = try reader.zigzag()
        var added: [TargetsChange.Target] = []
        for _ in 0..<(try reader.count()) {
            added.append(TargetsChange.Target(key: try reader.uint64(), labels: try reader.labels()))
        }
        var removed: [UInt64] = []
        for _ in 0..<(try reader.count()) { removed.append(try reader.uint64()) }
        return TargetsChange(time: time, added: added, removed: removed)
    }

    static func encode(_ event: MembershipEvent) -> Record {
        var out = ByteWriter()
        out.zigzag(event.time)
        out.varint(event.lamport)
        out.string(event.member)
        out.string(event.address)
        out.string(event.state.rawValue)
        out.varint(event.incarnation)
        out.varint(event.reportedBy.count)
        for reporter in event.reportedBy { out.string(reporter) }
        out.string(event.detail)
        return Record(type: EventKind.membership.rawValue, payload: out.bytes)
    }

    static func decodeMembership(_ payload: [UInt8]) throws(EventDecodeError) -> MembershipEvent {
        var reader = ByteReader(payload)
        let time = try reader.zigzag()
        let lamport = try reader.varint()
        let member = try reader.string()
        let address = try reader.string()
        let stateName = try reader.string()
        guard let state = MembershipEvent.State(rawValue: stateName) else {
            throw reader.error("unknown membership state \"\(stateName)\"")
        }
        let incarnation = try reader.varint()
        var reporters: [String] = []
        for _ in 0..<(try reader.count(limit: 1 << 16)) { reporters.append(try reader.string()) }
        let detail = try reader.string()
        return MembershipEvent(
            time: time, lamport: lamport, member: member, address: address, state: state,
            incarnation: incarnation, reportedBy: reporters, detail: detail)
    }

    static func encode(_ event: OwnershipEvent) -> Record {
        var out = ByteWriter()
        out.zigzag(event.time)
        out.zigzag(event.effective)
        out.uint64(event.target)
        out.labels(event.labels)
        out.string(event.previousOwner)
        out.string(event.newOwner)
        out.string(event.cause.rawValue)
        out.string(event.detail)
        return Record(type: EventKind.ownership.rawValue, payload: out.bytes)
    }

    static func decodeOwnership(_ payload: [UInt8]) throws(EventDecodeError) -> OwnershipEvent {
        var reader = ByteReader(payload)
        let time = try reader.zigzag()
        let effective = try reader.zigzag()
        let target = try reader.uint64()
        let labels = try reader.labels()
        let previous = try reader.string()
        let new = try reader.string()
        let causeName = try reader.string()
        guard let cause = OwnershipEvent.Cause(rawValue: causeName) else {
            throw reader.error("unknown ownership cause \"\(causeName)\"")
        }
        let detail = try reader.string()
        return OwnershipEvent(
            time: time, effective: effective, target: target, labels: labels, previousOwner: previous,
            newOwner: new, cause: cause, detail: detail)
    }

    static func encode(_ checkpoint: Checkpoint) -> Record {
        var out = ByteWriter(capacity: 12)
        out.zigzag(checkpoint.newestBefore)
        return Record(type: EventKind.checkpoint.rawValue, payload: out.bytes)
    }

    static func decodeCheckpoint(_ payload: [UInt8]) throws(EventDecodeError) -> Checkpoint {
        var reader = ByteReader(payload)
        let checkpoint = Checkpoint(newestBefore: try reader.zigzag())
        guard reader.isAtEnd else { throw reader.error("\(payload.count - reader.index) trailing bytes") }
        return checkpoint
    }
}
