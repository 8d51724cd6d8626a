import GRDB

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
        try self.writer.read { db in
            var request = SegmentSummary.filter(Column("first_timestamp") != nil)
            if let since { request = request.filter(Column("last_timestamp") >= since) }
            if let until { request = request.filter(Column("first_timestamp") <= until) }
            return try request.order(Column("segment")).fetchAll(db)
        }
    }

    /// Every segment summary, in segment order.
    public func allSegments() throws -> [SegmentSummary] {
        try self.writer.read { db in try SegmentSummary.order(Column("segment")).fetchAll(db) }
    }

    /// Ownership changes matching `query`, by effective time then WAL order.
    public func ownershipHistory(_ query: OwnershipQuery = .init()) throws -> [OwnershipEventRecord] {
        try self.writer.read { db in
            var request = Self.targetRequest(query)
            if let member = query.member {
                request = request.filter(Column("previous_owner") == member || Column("new_owner") == member)
            }
            if let since = query.since { request = request.filter(Column("effective_time") >= since) }
            if let until = query.until { request = request.filter(Column("effective_time") <= until) }
            return try request.order(Column("effective_time"), Column("wal_segment"), Column("wal_offset"))
                .fetchAll(db)
        }
    }

    /// Who owned each matching target, from when to when, derived from consecutive events.
    ///
    /// An interval opens at an event's effective time with its new owner and closes at the next
    /// event's for that target. The time window and member keep intervals that overlap the
    /// window and belong to the member; intervals that began before `since` are included.
    public func ownershipIntervals(_ query: OwnershipQuery = .init()) throws -> [OwnershipInterval] {
        let events = try self.writer.read { db in
            try Self.targetRequest(query)
                .order(Column("target_key"), Column("effective_time"), Column("wal_segment"), Column("wal_offset"))
                .fetchAll(db)
        }
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
        try self.writer.read { db in
            var request = MembershipEventRecord.all()
            if let member { request = request.filter(Column("member") == member) }
            if let since { request = request.filter(Column("time") >= since) }
            if let until { request = request.filter(Column("time") <= until) }
            return try request.order(Column("time"), Column("lamport"), Column("id")).fetchAll(db)
        }
    }

    private static func targetRequest(_ query: OwnershipQuery) -> QueryInterfaceRequest<OwnershipEventRecord> {
        var request = OwnershipEventRecord.all()
        if let key = query.targetKey {
            request = request.filter(Column("target_key") == Int64(bitPattern: key))
        }
        for (name, value) in query.targetLabels.sorted(by: { $0.key < $1.key }) {
            request = request.filter(
                sql: "EXISTS (SELECT 1 FROM json_each(target_labels) WHERE key = ? AND value = ?)",
                arguments: [name, value])
        }
        return request
    }
}
