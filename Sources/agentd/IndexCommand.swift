import Agent
import ArgumentParser
import Foundation
import Projections

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index", abstract: "The SQLite projections of the WAL.", subcommands: [Rebuild.self])

    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drop the segment index and the histories and rebuild them from the WAL (cursors are kept).")

        @Option(name: .customLong("storage.path"), help: "The agent's storage path.")
        var storagePath = "data-agentd"

        func run() throws {
            let paths = StoragePaths(storagePath)
            let store = try ProjectionStore.open(path: paths.index)
            let scale = WALProgressScale(directory: paths.wal)
            let meter = ProgressMeter(title: "index rebuild", total: scale.total)
            try Projector.rebuild(store: store, walDirectory: paths.wal) { meter.update(scale.bytes(before: $0)) }
            meter.finish()
            let segments = try store.allSegments()
            print(
                "rebuilt \(paths.index): \(segments.count) segments, "
                    + "\(try store.ownershipHistory().count) ownership changes, "
                    + "\(try store.membershipHistory().count) membership changes")
        }
    }
}
