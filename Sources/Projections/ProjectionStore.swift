import GRDB

/// The SQLite projections of the WAL behind `replay --since` and `ownership-history`: the
/// segment time index, membership and ownership history, replay cursors, and how far the
/// projections have consumed the WAL.
///
/// One store owns its `DatabaseWriter` and migrates it on open. Production uses a
/// `DatabasePool` (SQLite WAL mode, so a CLI can read while the agent writes); tests an
/// in-memory `DatabaseQueue`. The projections can always be rebuilt from the WAL: ``reset()``
/// empties them (cursors are kept: they record what was sent, not what the WAL holds).
public struct ProjectionStore: Sendable {
    /// The database connection(s).
    public let writer: any DatabaseWriter

    /// Opens (or creates) the store at `path` for reading and writing.
    public static func open(path: String) throws -> ProjectionStore {
        // The agent and a CLI (ownership-history, replay) may both catch the projections up:
        // wait for the other writer instead of failing with SQLITE_BUSY.
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        return try ProjectionStore(DatabasePool(path: path, configuration: configuration))
    }

    /// Opens an existing store read-only, alongside a process that writes it.
    ///
    /// - Throws: when the file is missing or its schema is older than this code's.
    public static func openReadOnly(path: String) throws -> ProjectionStore {
        var configuration = Configuration()
        configuration.readonly = true
        let pool = try DatabasePool(path: path, configuration: configuration)
        let migrated = try pool.read { db in try Self.migrator.hasCompletedMigrations(db) }
        guard migrated else {
            throw ProjectionStoreError(path: path, message: "schema is not migrated; open it read-write once")
        }
        return ProjectionStore(migrated: pool)
    }

    /// A store in memory, for tests.
    public static func inMemory() throws -> ProjectionStore {
        try ProjectionStore(DatabaseQueue())
    }

    /// Wraps `writer`, running the migrations it has not seen yet.
    public init(_ writer: any DatabaseWriter) throws {
        try Self.migrator.migrate(writer)
        self.writer = writer
    }

    private init(migrated writer: any DatabaseWriter) {
        self.writer = writer
    }

    /// The schema. Migrations that have shipped are never edited: add new ones.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "segment") { t in
                t.primaryKey("segment", .integer)
                t.column("first_timestamp", .integer)
                t.column("last_timestamp", .integer)
                t.column("series_records", .integer).notNull().defaults(to: 0)
                t.column("sample_records", .integer).notNull().defaults(to: 0)
                t.column("target_records", .integer).notNull().defaults(to: 0)
                t.column("membership_records", .integer).notNull().defaults(to: 0)
                t.column("ownership_records", .integer).notNull().defaults(to: 0)
                t.column("sample_count", .integer).notNull().defaults(to: 0)
                t.column("bytes", .integer).notNull().defaults(to: 0)
            }
            try db.create(index: "segment_on_time", on: "segment", columns: ["last_timestamp", "first_timestamp"])

            try db.create(table: "membership_event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("time", .integer).notNull()
                t.column("lamport", .integer).notNull()
                t.column("member", .text).notNull()
                t.column("address", .text).notNull()
                t.column("state", .text).notNull()
                t.column("incarnation", .integer).notNull()
                t.column("reported_by", .text).notNull()
                t.column("wal_segment", .integer).notNull()
                t.column("wal_offset", .integer).notNull()
                t.uniqueKey(["wal_segment", "wal_offset"])
            }
            try db.create(index: "membership_event_on_member", on: "membership_event", columns: ["member", "time"])
            try db.create(index: "membership_event_on_time", on: "membership_event", columns: ["time"])

            try db.create(table: "ownership_event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("time", .integer).notNull()
                t.column("effective_time", .integer).notNull()
                t.column("target_key", .integer).notNull()
                t.column("target_labels", .text).notNull()
                t.column("previous_owner", .text)
                t.column("new_owner", .text)
                t.column("cause_kind", .text).notNull()
                t.column("cause_detail", .text).notNull()
                t.column("wal_segment", .integer).notNull()
                t.column("wal_offset", .integer).notNull()
                t.uniqueKey(["wal_segment", "wal_offset"])
            }
            try db.create(
                index: "ownership_event_on_target", on: "ownership_event", columns: ["target_key", "effective_time"])
            try db.create(index: "ownership_event_on_time", on: "ownership_event", columns: ["effective_time"])
            try db.create(
                index: "ownership_event_on_new_owner", on: "ownership_event", columns: ["new_owner", "effective_time"])
            try db.create(
                index: "ownership_event_on_previous_owner", on: "ownership_event",
                columns: ["previous_owner", "effective_time"])

            try db.create(table: "replay_cursor") { t in
                t.primaryKey("name", .text)
                t.column("segment", .integer).notNull()
                t.column("offset", .integer).notNull()
                t.column("updated_at", .integer).notNull()
            }

            try db.create(table: "projection_state") { t in
                t.primaryKey("id", .integer).check { $0 == 1 }
                t.column("segment", .integer).notNull()
                t.column("offset", .integer).notNull()
            }
        }
        return migrator
    }
}

/// A projection database that cannot be used as asked.
public struct ProjectionStoreError: Error, Hashable, CustomStringConvertible {
    /// The database file.
    public var path: String
    /// What is wrong.
    public var message: String

    public var description: String { "\(self.path): \(self.message)" }
}
