/// The SQLite projections of the WAL behind `replay --since` and `ownership-history`: the
/// segment time index, membership and ownership history, replay cursors, and how far the
/// projections have consumed the WAL.
///
/// One store owns one connection and migrates it on open. A file store is in SQLite's WAL mode, so
/// a CLI can read while the agent writes; tests use one in memory. The projections can always be
/// rebuilt from the WAL: ``reset()`` empties them (cursors are kept: they record what was sent,
/// not what the WAL holds).
public struct ProjectionStore: Sendable {
    /// The connection.
    let database: SQLiteDatabase

    /// Opens (or creates) the store at `path` for reading and writing.
    public static func open(path: String) throws -> ProjectionStore {
        // The agent and a CLI (ownership-history, replay) may both catch the projections up: the
        // connection waits for the other writer (10 s) instead of failing with SQLITE_BUSY.
        let database = try SQLiteDatabase(path: path, mode: .readWrite)
        try database.withConnection { try $0.execute("PRAGMA journal_mode = WAL") }
        return try ProjectionStore(migrating: database)
    }

    /// Opens an existing store read-only, alongside a process that writes it.
    ///
    /// - Throws: when the file is missing or its schema is older than this code's.
    public static func openReadOnly(path: String) throws -> ProjectionStore {
        let database = try SQLiteDatabase(path: path, mode: .readOnly)
        let applied = try database.read { try Self.appliedMigrations($0) }
        guard Self.migrations.allSatisfy({ applied.contains($0.identifier) }) else {
            throw ProjectionStoreError(path: path, message: "schema is not migrated; open it read-write once")
        }
        return ProjectionStore(database: database)
    }

    /// A store in memory, for tests.
    public static func inMemory() throws -> ProjectionStore {
        try ProjectionStore(migrating: SQLiteDatabase(path: ":memory:", mode: .readWrite))
    }

    private init(database: SQLiteDatabase) {
        self.database = database
    }

    /// Wraps `database`, running the migrations it has not seen yet.
    private init(migrating database: SQLiteDatabase) throws {
        try database.write { connection in
            try connection.execute(
                "CREATE TABLE IF NOT EXISTS \(Self.migrationTable) (identifier TEXT NOT NULL PRIMARY KEY)")
            let applied = try Self.appliedMigrations(connection)
            for migration in Self.migrations where !applied.contains(migration.identifier) {
                for statement in migration.statements { try connection.execute(statement) }
                try connection.execute(
                    "INSERT INTO \(Self.migrationTable) (identifier) VALUES (?)", [.text(migration.identifier)])
            }
        }
        self.database = database
    }

    /// Runs `sql` and returns its rows' first columns as text (for tests and diagnostics).
    package func strings(_ sql: String) throws -> [String] {
        try self.database.read { try $0.rows(sql) { $0.text(0) } }
    }

    /// Runs one statement that changes the store, outside the projections' own writes (for tests).
    package func execute(_ sql: String) throws {
        try self.database.write { try $0.execute(sql) }
    }

    /// The table recording which migrations ran, under the name the stores of earlier builds
    /// (written through GRDB's migrator) gave it, so those open as they are.
    private static let migrationTable = "grdb_migrations"

    private static func appliedMigrations(_ connection: SQLiteConnection) throws -> Set<String> {
        let exists = try connection.rows(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", [.text(Self.migrationTable)]
        ) { $0.integer(0) }
        guard exists.first == 1 else { return [] }
        return Set(try connection.rows("SELECT identifier FROM \(Self.migrationTable)") { $0.text(0) })
    }

    /// The schema, one migration a release that changed it. Migrations that have shipped are never
    /// edited: add new ones.
    static let migrations: [(identifier: String, statements: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE "segment" (
                    "segment" INTEGER PRIMARY KEY,
                    "first_timestamp" INTEGER,
                    "last_timestamp" INTEGER,
                    "series_records" INTEGER NOT NULL DEFAULT 0,
                    "sample_records" INTEGER NOT NULL DEFAULT 0,
                    "target_records" INTEGER NOT NULL DEFAULT 0,
                    "membership_records" INTEGER NOT NULL DEFAULT 0,
                    "ownership_records" INTEGER NOT NULL DEFAULT 0,
                    "sample_count" INTEGER NOT NULL DEFAULT 0,
                    "bytes" INTEGER NOT NULL DEFAULT 0)
                """,
                #"CREATE INDEX "segment_on_time" ON "segment"("last_timestamp", "first_timestamp")"#,
                """
                CREATE TABLE "membership_event" (
                    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
                    "time" INTEGER NOT NULL,
                    "lamport" INTEGER NOT NULL,
                    "member" TEXT NOT NULL,
                    "address" TEXT NOT NULL,
                    "state" TEXT NOT NULL,
                    "incarnation" INTEGER NOT NULL,
                    "reported_by" TEXT NOT NULL,
                    "wal_segment" INTEGER NOT NULL,
                    "wal_offset" INTEGER NOT NULL,
                    UNIQUE("wal_segment", "wal_offset"))
                """,
                #"CREATE INDEX "membership_event_on_member" ON "membership_event"("member", "time")"#,
                #"CREATE INDEX "membership_event_on_time" ON "membership_event"("time")"#,
                """
                CREATE TABLE "ownership_event" (
                    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
                    "time" INTEGER NOT NULL,
                    "effective_time" INTEGER NOT NULL,
                    "target_key" INTEGER NOT NULL,
                    "target_labels" TEXT NOT NULL,
                    "previous_owner" TEXT,
                    "new_owner" TEXT,
                    "cause_kind" TEXT NOT NULL,
                    "cause_detail" TEXT NOT NULL,
                    "wal_segment" INTEGER NOT NULL,
                    "wal_offset" INTEGER NOT NULL,
                    UNIQUE("wal_segment", "wal_offset"))
                """,
                #"CREATE INDEX "ownership_event_on_target" ON "ownership_event"("target_key", "effective_time")"#,
                #"CREATE INDEX "ownership_event_on_time" ON "ownership_event"("effective_time")"#,
                #"CREATE INDEX "ownership_event_on_new_owner" ON "ownership_event"("new_owner", "effective_time")"#,
                """
                CREATE INDEX "ownership_event_on_previous_owner" ON "ownership_event"("previous_owner", "effective_time")
                """,
                """
                CREATE TABLE "replay_cursor" (
                    "name" TEXT NOT NULL PRIMARY KEY,
                    "segment" INTEGER NOT NULL,
                    "offset" INTEGER NOT NULL,
                    "updated_at" INTEGER NOT NULL)
                """,
                """
                CREATE TABLE "projection_state" (
                    "id" INTEGER PRIMARY KEY CHECK ("id" = 1),
                    "segment" INTEGER NOT NULL,
                    "offset" INTEGER NOT NULL)
                """,
            ]
        )
    ]
}

/// A projection database that cannot be used as asked.
public struct ProjectionStoreError: Error, Hashable, CustomStringConvertible {
    /// The database file.
    public var path: String
    /// What is wrong.
    public var message: String

    public var description: String { "\(self.path): \(self.message)" }
}
