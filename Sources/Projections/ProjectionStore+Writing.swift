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
        try self.database.write { connection in
            for segment in segments { try segment.save(connection) }
            for event in membership { try event.insert(connection) }
            for event in ownership { try event.insert(connection) }
            try connection.execute(
                """
                INSERT INTO projection_state (id, segment, offset) VALUES (1, ?, ?)
                ON CONFLICT(id) DO UPDATE SET segment = excluded.segment, offset = excluded.offset
                """,
                [.integer(position.segment), .integer(position.offset)])
        }
    }

    /// Inserts or replaces one segment's summary.
    public func upsertSegment(_ summary: SegmentSummary) throws {
        try self.database.write { try summary.save($0) }
    }

    /// Forgets segments deleted by retention, and the events they held.
    public func removeSegments(before segment: Int64) throws {
        try self.database.write { connection in
            try connection.execute("DELETE FROM segment WHERE segment < ?", [.integer(segment)])
            try connection.execute("DELETE FROM membership_event WHERE wal_segment < ?", [.integer(segment)])
            try connection.execute("DELETE FROM ownership_event WHERE wal_segment < ?", [.integer(segment)])
        }
    }

    /// How far the projections have consumed the WAL, or `nil` for a fresh (or reset) store.
    public func consumedPosition() throws -> RecordPosition? {
        try self.database.read { connection in
            try connection.rows("SELECT segment, offset FROM projection_state WHERE id = 1") {
                RecordPosition(segment: $0.integer(0), offset: $0.integer(1))
            }.first
        }
    }

    /// Saves a replay cursor.
    public func saveReplayCursor(_ cursor: ReplayCursor) throws {
        try self.database.write { try cursor.save($0) }
    }

    /// The replay cursor of endpoint `name`.
    public func replayCursor(named name: String) throws -> ReplayCursor? {
        try self.database.read { connection in
            try connection.rows("SELECT \(ReplayCursor.selection) FROM replay_cursor WHERE name = ?", [.text(name)]) {
                ReplayCursor(row: $0)
            }.first
        }
    }

    /// Every replay cursor, by name; retention may delete segments before the lowest.
    public func replayCursors() throws -> [ReplayCursor] {
        try self.database.read { connection in
            try connection.rows("SELECT \(ReplayCursor.selection) FROM replay_cursor ORDER BY name") {
                ReplayCursor(row: $0)
            }
        }
    }

    /// Empties every projection so it can be rebuilt from the WAL; replay cursors are kept.
    public func reset() throws {
        try self.database.write { connection in
            for table in ["segment", "membership_event", "ownership_event", "projection_state"] {
                try connection.execute("DELETE FROM \(table)")
            }
        }
    }
}

extension ProjectionStore {
    /// Checkpoints SQLite's own write-ahead log (`index.sqlite-wal`) into the database and
    /// truncates it, so it does not grow with the agent's uptime.
    public func checkpoint() throws {
        try self.database.checkpoint()
    }
}
