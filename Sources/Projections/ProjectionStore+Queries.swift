/// Which ownership events or intervals to return; every criterion given must hold.
public struct OwnershipQuery: Sendable, Hashable {
    /// Only this target.
    public var targetKey: UInt64?
    /// Only targets having all these labels with these values.
    public var targetLabels: [String: String]
    /// Only events where this member is the previous or new owner (for intervals: the owner).
    public var member: String?
    /// Only from this effective time (ms), inclusive.
    public var since: Int64?
    /// Only up to this effective time (ms), inclusive.
    public var until: Int64?

    /// Creates a query; with no criteria it matches everything.
    public init(
        targetKey: UInt64? = nil, targetLabels: [String: String] = [:], member: String? = nil, since: Int64? = nil,
        until: Int64? = nil
    ) {
        self.targetKey = targetKey
        self.targetLabels = targetLabels
        self.member = member
        self.since = since
        self.until = until
    }
}

extension ProjectionStore {
    /// Segments holding samples in `[since, until]`, in segment order: where `replay --since`
    /// starts reading.
    public func segments(overlappingSince since: Int64? = nil, until: Int64? = nil) throws -> [SegmentSummary] {
        var filter = Filter("first_timestamp IS NOT NULL")
        if let since { filter.and("last_timestamp >= ?", .integer(since)) }
        if let until { filter.and("first_timestamp <= ?", .integer(until)) }
        return try self.segments(including: filter)
    }

    /// Every segment summary, in segment order.
    public func allSegments() throws -> [SegmentSummary] {
        try self.segments(including: Filter())
    }

    /// Ownership changes matching `query`, by effective time then WAL order.
    public func ownershipHistory(_ query: OwnershipQuery = .init()) throws -> [OwnershipEventRecord] {
        var filter = Self.targetFilter(query)
        if let member = query.member {
            filter.and("(previous_owner = ? OR new_owner = ?)", .text(member), .text(member))
        }
        if let since = query.since { filter.and("effective_time >= ?", .integer(since)) }
        if let until = query.until { filter.and("effective_time <= ?", .integer(until)) }
        return try self.ownershipEvents(filter, orderedBy: "effective_time, wal_segment, wal_offset")
    }

    /// Who owned each matching target, from when to when, derived from consecutive events.
    ///
    /// An interval opens at an event's effective time with its new owner and closes at the next
    /// event's for that target. The time window and member keep intervals that overlap the
    /// window and belong to the member; intervals that began before `since` are included.
    public func ownershipIntervals(_ query: OwnershipQuery = .init()) throws -> [OwnershipInterval] {
        let events = try self.ownershipEvents(
            Self.targetFilter(query), orderedBy: "target_key, effective_time, wal_segment, wal_offset")
        var intervals: [OwnershipInterval] = []
        for (index, event) in events.enumerated() {
            let next = events.index(after: index) < events.endIndex ? events[index + 1] : nil
            let interval = OwnershipInterval(
                key: event.key, targetLabels: event.targetLabels, owner: event.newOwner, from: event.effectiveTime,
                until: next?.targetKey == event.targetKey ? next?.effectiveTime : nil, causeKind: event.causeKind,
                causeDetail: event.causeDetail)
            guard interval.overlaps(since: query.since, until: query.until) else { continue }
            if let member = query.member, interval.owner != member { continue }
            intervals.append(interval)
        }
        return intervals.sorted { ($0.from, $0.key) < ($1.from, $1.key) }
    }

    /// Membership changes, optionally of one member and within `[since, until]` (ms), by time
    /// then Lamport time.
    public func membershipHistory(member: String? = nil, since: Int64? = nil, until: Int64? = nil) throws
        -> [MembershipEventRecord]
    {
        var filter = Filter()
        if let member { filter.and("member = ?", .text(member)) }
        if let since { filter.and("time >= ?", .integer(since)) }
        if let until { filter.and("time <= ?", .integer(until)) }
        return try self.database.read { connection in
            try connection.rows(
                "SELECT \(MembershipEventRecord.selection) FROM membership_event \(filter.clause) ORDER BY time, lamport, id",
                filter.arguments
            ) { try MembershipEventRecord(row: $0) }
        }
    }

    private func segments(including filter: Filter) throws -> [SegmentSummary] {
        try self.database.read { connection in
            try connection.rows(
                "SELECT \(SegmentSummary.selection) FROM segment \(filter.clause) ORDER BY segment", filter.arguments
            ) { SegmentSummary(row: $0) }
        }
    }

    private func ownershipEvents(_ filter: Filter, orderedBy order: String) throws -> [OwnershipEventRecord] {
        try self.database.read { connection in
            try connection.rows(
                "SELECT \(OwnershipEventRecord.selection) FROM ownership_event \(filter.clause) ORDER BY \(order)",
                filter.arguments
            ) { try OwnershipEventRecord(row: $0) }
        }
    }

    private static func targetFilter(_ query: OwnershipQuery) -> Filter {
        var filter = Filter()
        if let key = query.targetKey { filter.and("target_key = ?", .integer(Int64(bitPattern: key))) }
        for (name, value) in query.targetLabels.sorted(by: { $0.key < $1.key }) {
            filter.and(
                "EXISTS (SELECT 1 FROM json_each(target_labels) WHERE key = ? AND value = ?)", .text(name), .text(value)
            )
        }
        return filter
    }
}

/// A WHERE clause built from conditions that must all hold, with their arguments in order.
private struct Filter {
    private var conditions: [String] = []
    private(set) var arguments: [SQLiteValue] = []

    init() {}

    init(_ condition: String) { self.conditions = [condition] }

    mutating func and(_ condition: String, _ arguments: SQLiteValue...) {
        self.conditions.append(condition)
        self.arguments += arguments
    }

    /// `WHERE …`, or nothing without conditions.
    var clause: String { self.conditions.isEmpty ? "" : "WHERE " + self.conditions.joined(separator: " AND ") }
}
