import Projections

/// The files under `--storage.path`.
public struct StoragePaths: Sendable {
    public let root: String

    public init(_ root: String) { self.root = root }

    /// The write-ahead log's directory.
    public var wal: String { root + "/wal" }
    /// The SQLite projections (segment index, histories, replay cursors).
    public var index: String { root + "/index.sqlite" }

    /// Opens the projections (creating them if missing) and catches them up with the WAL.
    /// Safe while the agent runs: SQLite in WAL mode, and applying is idempotent.
    public func catchUpIndex() throws -> ProjectionStore {
        let store = try ProjectionStore.open(path: index)
        try Projector.catchUp(store: store, walDirectory: wal)
        return store
    }
}
