import CSQLite
import Synchronization

/// One connection to an SQLite database, used by one caller at a time.
///
/// The projections need little of SQLite: a handful of statements, transactions, and a
/// checkpoint. The connection is opened without SQLite's own mutex and serialized by ``lock``
/// instead; a reader in another process (the CLI beside the agent) reads through SQLite's WAL mode
/// and waits out a writer with the busy timeout.
final class SQLiteDatabase: @unchecked Sendable {
    /// The file, or `:memory:`; named in every error.
    let path: String
    private let lock = Mutex(())
    /// Only used under `lock`.
    private let handle: OpaquePointer

    /// How the file is opened.
    enum Mode {
        case readWrite
        case readOnly
    }

    /// Opens `path` (creating it when writable), waiting up to `busyTimeout` milliseconds for
    /// another process's lock before a statement fails with `SQLITE_BUSY`.
    init(path: String, mode: Mode, busyTimeout: Int32 = 10_000) throws {
        var flags = SQLITE_OPEN_NOMUTEX
        switch mode {
        case .readWrite: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        }
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(handle)
            throw SQLiteError(path: path, code: code, message: message, sql: nil)
        }
        self.path = path
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, busyTimeout)
    }

    deinit {
        sqlite3_close_v2(self.handle)
    }

    /// Runs `body` with the connection to itself.
    func withConnection<Result>(_ body: (SQLiteConnection) throws -> Result) throws
        -> Result
    {
        try self.lock.withLock { _ in try body(SQLiteConnection(path: self.path, handle: self.handle)) }
    }

    /// Runs `body` in a transaction that takes the write lock at once (so a transaction that reads
    /// before it writes cannot fail to upgrade), committed when `body` returns and rolled back when
    /// it throws.
    func write<Result>(_ body: (SQLiteConnection) throws -> Result) throws -> Result {
        try self.transaction("BEGIN IMMEDIATE", body)
    }

    /// Runs `body`'s statements against one snapshot of the database.
    func read<Result>(_ body: (SQLiteConnection) throws -> Result) throws -> Result {
        try self.transaction("BEGIN DEFERRED", body)
    }

    /// Copies SQLite's write-ahead log (`<file>-wal`) into the database and truncates it.
    func checkpoint() throws {
        try self.withConnection { connection in
            let code = sqlite3_wal_checkpoint_v2(connection.handle, nil, SQLITE_CHECKPOINT_TRUNCATE, nil, nil)
            guard code == SQLITE_OK else { throw connection.error(code, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        }
    }

    private func transaction<Result>(_ begin: String, _ body: (SQLiteConnection) throws -> Result) throws -> Result {
        try self.withConnection { connection in
            try connection.execute(begin)
            do {
                let result = try body(connection)
                try connection.execute("COMMIT")
                return result
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }
}

/// A value bound to a statement's `?`.
enum SQLiteValue: Sendable, Hashable {
    case integer(Int64)
    case text(String)
    case null

    /// `text`, or `null` for `nil`.
    static func text(_ value: String?) -> SQLiteValue { value.map { .text($0) } ?? .null }
    /// `integer`, or `null` for `nil`.
    static func integer(_ value: Int64?) -> SQLiteValue { value.map { .integer($0) } ?? .null }
}

/// The connection inside ``SQLiteDatabase/withConnection(_:)``; not to be kept.
struct SQLiteConnection {
    let path: String
    let handle: OpaquePointer

    /// Runs `sql` (one statement) with `arguments`, discarding any rows.
    func execute(_ sql: String, _ arguments: [SQLiteValue] = []) throws {
        let statement = try SQLiteStatement(self, sql: sql, arguments: arguments)
        while try statement.step() {}
    }

    /// Runs `sql` with `arguments` and makes a value of each row.
    func rows<Value>(_ sql: String, _ arguments: [SQLiteValue] = [], _ row: (SQLiteRow) throws -> Value)
        throws -> [Value]
    {
        let statement = try SQLiteStatement(self, sql: sql, arguments: arguments)
        var values: [Value] = []
        while try statement.step() {
            values.append(try row(SQLiteRow(statement: statement)))
        }
        return values
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes(self.handle)) }

    func error(_ code: Int32, sql: String?) -> SQLiteError {
        SQLiteError(path: self.path, code: code, message: String(cString: sqlite3_errmsg(self.handle)), sql: sql)
    }
}

/// A prepared statement with its arguments bound; finalized when released.
final class SQLiteStatement {
    fileprivate let connection: SQLiteConnection
    private let sql: String
    fileprivate let handle: OpaquePointer

    init(_ connection: SQLiteConnection, sql: String, arguments: [SQLiteValue]) throws {
        var handle: OpaquePointer?
        let code = sqlite3_prepare_v2(connection.handle, sql, -1, &handle, nil)
        guard code == SQLITE_OK, let handle else { throw connection.error(code, sql: sql) }
        self.connection = connection
        self.sql = sql
        self.handle = handle
        for (index, argument) in arguments.enumerated() {
            let position = Int32(index + 1)
            let code: Int32
            switch argument {
            case .integer(let value): code = sqlite3_bind_int64(handle, position, value)
            case .null: code = sqlite3_bind_null(handle, position)
            case .text(let value):
                var value = value
                code = value.withUTF8 { bytes in
                    sqlite3_bind_text64(
                        handle, position, UnsafeRawPointer(bytes.baseAddress)?.assumingMemoryBound(to: CChar.self),
                        UInt64(bytes.count), transient, UInt8(SQLITE_UTF8))
                }
            }
            guard code == SQLITE_OK else { throw connection.error(code, sql: sql) }
        }
    }

    deinit {
        sqlite3_finalize(self.handle)
    }

    /// Advances to the next row: `true` while there is one.
    func step() throws -> Bool {
        switch sqlite3_step(self.handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw self.connection.error(code, sql: self.sql)
        }
    }
}

/// SQLite copies a bound text before `sqlite3_bind_text64` returns (`SQLITE_TRANSIENT`, a macro
/// Swift does not import).
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// The current row of a statement, its columns by position.
struct SQLiteRow {
    fileprivate let statement: SQLiteStatement

    /// The database file, for errors about the row's contents.
    var path: String { self.statement.connection.path }

    /// Column `index` as an integer (0 for NULL).
    func integer(_ index: Int32) -> Int64 { sqlite3_column_int64(self.statement.handle, index) }

    /// Column `index` as an integer, `nil` for NULL.
    func optionalInteger(_ index: Int32) -> Int64? {
        sqlite3_column_type(self.statement.handle, index) == SQLITE_NULL ? nil : self.integer(index)
    }

    /// Column `index` as text ("" for NULL).
    func text(_ index: Int32) -> String { self.optionalText(index) ?? "" }

    /// Column `index` as text, `nil` for NULL.
    func optionalText(_ index: Int32) -> String? {
        guard let bytes = sqlite3_column_text(self.statement.handle, index) else { return nil }
        let count = Int(sqlite3_column_bytes(self.statement.handle, index))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }
}

/// A statement SQLite refused, or a file it could not open.
public struct SQLiteError: Error, Hashable, CustomStringConvertible {
    /// The database file.
    public var path: String
    /// SQLite's (extended) result code.
    public var code: Int32
    /// SQLite's message.
    public var message: String
    /// The statement, when one failed.
    public var sql: String?

    public var description: String {
        let code = "SQLite error \(self.code) (\(String(cString: sqlite3_errstr(self.code))))"
        return "\(self.path): \(code): \(self.message)" + (self.sql.map { " in `\($0)`" } ?? "")
    }
}
