import GRDB

extension ProjectionStore {
    /// Applies what the projector derived from a run of WAL records, and records that the WAL
    /// has been consumed through `position`, in one transaction.
    ///
    /// Events are keyed by their WAL position, so applying the same records twice (after a crash
    /// between the WAL read and this commit) leaves one copy. Segment summaries replace the stored
    /// ones: pass the running totals of each segment touched.
    public func apply(
        segments: [SegmentSummary] = [],
        membership: [MembershipEventRecord] = [],
        ownership: [OwnershipEventRecord] = [],
        consumedThrough position: RecordPosition
    ) throws {
        try self.writer.write { db in
            for segment in segments {
                try segment.save(db)
            }
            for var event in membership {
                try event.insert(db, onConflict: .ignore)
            }
            for var event in ownership {
                try event.insert(db, onConflict: .ignore)
            }
            try db.execute(
                sql: """
                    INSERT INTO projection_state (id, segment, offset) VALUES (1, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET segment = excluded.segment, offset = excluded.offset
                    """,
                arguments: [position.segment, position.offset])
        }
    }

    /// Inserts or replaces one segment's summary.
    public func upsertSegment(_ summary: SegmentSummary) throws {
        try self.writer.write { db in try summary.save(db) }
    }

    /// Forgets segments deleted by retention, and the events they held.
    public func removeSegments(before segment: Int64) throws {
        try self.writer.write { db in
            try SegmentSummary.filter(Column("segment") < segment).deleteAll(db)
            try MembershipEventRecord.filter(Column("wal_segment") < segment).deleteAll(db)
            try OwnershipEventRecord.filter(Column("wal_segment") < segment).deleteAll(db)
        }
    }

    /// How far the projections have consumed the WAL, or `nil` for a fresh (or reset) store.
    public func consumedPosition() throws -> RecordPosition? {
        try self.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT segment, offset FROM projection_state WHERE id = 1").map {
                RecordPosition(segment: $0["segment"], offset: $0["offset"])
            }
        }
    }

    /// Saves a replay cursor.
    public func saveReplayCursor(_ cursor: ReplayCursor) throws {
        try self.writer.write { db in try cursor.save(db) }
    }

    /// The replay cursor of endpoint `name`.
    public func replayCursor(named name: String) throws -> ReplayCursor? {
        try self.writer.read { db in try ReplayCursor.fetchOne(db, key: name) }
    }

    /// Every replay cursor, by name; retention may delete segments before the lowest.
    public func replayCursors() throws -> [ReplayCursor] {
        try self.writer.read { db in try ReplayCursor.order(Column("name")).fetchAll(db) }
    }

    /// Empties every projection so it can be rebuilt from the WAL; replay cursors are kept.
    public func reset() throws {
        try self.writer.write { db in
            try SegmentSummary.deleteAll(db)
            try MembershipEventRecord.deleteAll(db)
            try OwnershipEventRecord.deleteAll(db)
            try db.execute(sql: "DELETE FROM projection_state")
        }
    }
}

extension ProjectionStore {
    /// Checkpoints SQLite's own write-ahead log (`index.sqlite-wal`) into the database and
    /// truncates it, so it does not grow with the agent's uptime.
    public func checkpoint() throws {
        try self.writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }
}
