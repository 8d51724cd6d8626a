import Events
import Foundation
import Projections
import Testing

@Suite struct ProjectionStoreTests {
    private func position(_ segment: Int64, _ offset: Int64) -> RecordPosition {
        RecordPosition(segment: segment, offset: offset)
    }

    private func ownership(
        _ key: UInt64, at time: Int64, from previous: String?, to next: String?, cause: OwnershipEvent.Cause,
        offset: Int64, labels: [String: String]? = nil
    ) -> OwnershipEventRecord {
        OwnershipEventRecord(
            time: time - 5, effectiveTime: time, key: key,
            targetLabels: labels ?? ["job": "node", "instance": "node-\(key % 100):9100"], previousOwner: previous,
            newOwner: next, causeKind: cause, causeDetail: "\(cause.rawValue) at \(time)", position: position(1, offset)
        )
    }

    /// Target 0xF…1 (a key above Int64.max): agentd-1 from 100, agentd-2 from 200 (agentd-1
    /// dead), agentd-1 from 300. Target 7: agentd-2 from 150.
    private func history() throws -> ProjectionStore {
        let store = try ProjectionStore.inMemory()
        let big: UInt64 = 0xF000_0000_0000_0001
        try store.apply(
            ownership: [
                ownership(big, at: 100, from: nil, to: "agentd-1", cause: .initial, offset: 10),
                ownership(7, at: 150, from: nil, to: "agentd-2", cause: .targetAdded, offset: 20),
                ownership(big, at: 200, from: "agentd-1", to: "agentd-2", cause: .memberDead, offset: 30),
                ownership(big, at: 300, from: "agentd-2", to: "agentd-1", cause: .memberJoined, offset: 40),
            ],
            consumedThrough: position(1, 40))
        return store
    }

    @Test func migrationsCreateEveryTableOnAnEmptyDatabase() throws {
        let store = try ProjectionStore.inMemory()
        let tables = try store.strings("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        for table in ["membership_event", "ownership_event", "projection_state", "replay_cursor", "segment"] {
            #expect(tables.contains(table))
        }
        #expect(try store.consumedPosition() == nil)
        #expect(try store.allSegments().isEmpty)
    }

    @Test func segmentsAreUpsertedAndFoundByTimeWindow() throws {
        let store = try ProjectionStore.inMemory()
        try store.upsertSegment(SegmentSummary(segment: 1, firstTimestamp: 0, lastTimestamp: 99, sampleCount: 5))
        try store.upsertSegment(SegmentSummary(segment: 2, firstTimestamp: 100, lastTimestamp: 150))
        try store.upsertSegment(SegmentSummary(segment: 2, firstTimestamp: 100, lastTimestamp: 199, sampleCount: 9))
        try store.upsertSegment(SegmentSummary(segment: 3, membershipRecords: 1))
        #expect(try store.allSegments().map(\.segment) == [1, 2, 3])
        #expect(try store.segments(overlappingSince: 150).map(\.segment) == [2])
        #expect(try store.segments(overlappingSince: 99, until: 100).map(\.segment) == [1, 2])
        #expect(try store.segments(overlappingSince: 200).isEmpty)
        #expect(try store.segments().map(\.sampleCount) == [5, 9])
        try store.removeSegments(before: 2)
        #expect(try store.allSegments().map(\.segment) == [2, 3])
    }

    @Test func ownershipHistoryFiltersByTargetLabelsMemberAndWindow() throws {
        let store = try history()
        let big: UInt64 = 0xF000_0000_0000_0001
        #expect(try store.ownershipHistory(.init(targetKey: big)).map(\.effectiveTime) == [100, 200, 300])
        #expect(try store.ownershipHistory(.init(targetKey: big)).first?.key == big)
        #expect(try store.ownershipHistory(.init(targetLabels: ["instance": "node-7:9100"])).map(\.key) == [7])
        #expect(try store.ownershipHistory(.init(targetLabels: ["job": "node", "instance": "nope"])).isEmpty)
        #expect(try store.ownershipHistory(.init(member: "agentd-2")).map(\.effectiveTime) == [150, 200, 300])
        #expect(try store.ownershipHistory(.init(since: 150, until: 200)).map(\.effectiveTime) == [150, 200])
        let dead = try #require(try store.ownershipHistory(.init(targetKey: big, since: 200, until: 200)).first)
        #expect(dead.causeKind == .memberDead)
        #expect(dead.previousOwner == "agentd-1")
        #expect(dead.targetLabels["job"] == "node")
    }

    @Test func intervalsAreDerivedFromConsecutiveEvents() throws {
        let store = try history()
        let big: UInt64 = 0xF000_0000_0000_0001
        let intervals = try store.ownershipIntervals(.init(targetKey: big))
        #expect(intervals.map(\.owner) == ["agentd-1", "agentd-2", "agentd-1"])
        #expect(intervals.map(\.from) == [100, 200, 300])
        #expect(intervals.map(\.until) == [200, 300, nil])
        #expect(intervals[1].causeKind == .memberDead)
        // Who owned what during [250, 260]: agentd-2 held both targets.
        let window = try store.ownershipIntervals(.init(since: 250, until: 260))
        #expect(window.map(\.key) == [7, big])
        #expect(Set(window.map(\.owner)) == ["agentd-2"])
        #expect(try store.ownershipIntervals(.init(member: "agentd-1")).map(\.from) == [100, 300])
    }

    @Test func membershipHistoryIsOrderedAndFiltered() throws {
        let store = try ProjectionStore.inMemory()
        let events = [
            MembershipEventRecord(
                time: 10, lamport: 1, member: "agentd-1", address: "127.0.0.1:12345", state: .participant,
                incarnation: 0, reportedBy: ["agentd-1"], position: position(0, 1)),
            MembershipEventRecord(
                time: 20, lamport: 5, member: "agentd-2", address: "127.0.0.1:12346", state: .suspect, incarnation: 3,
                reportedBy: ["agentd-1", "agentd-3"], position: position(0, 2)),
            MembershipEventRecord(
                time: 20, lamport: 4, member: "agentd-2", address: "127.0.0.1:12346", state: .participant,
                incarnation: 3, reportedBy: [], position: position(0, 3)),
        ]
        try store.apply(membership: events, consumedThrough: position(0, 3))
        // Applying the same records again (a crash before the commit) leaves one copy.
        try store.apply(membership: events, consumedThrough: position(0, 3))
        let all = try store.membershipHistory()
        #expect(all.map(\.lamport) == [1, 4, 5])
        #expect(all[2].reportedBy == ["agentd-1", "agentd-3"])
        #expect(try store.membershipHistory(member: "agentd-2", since: 15).map(\.state) == [.participant, .suspect])
        #expect(try store.membershipHistory(until: 15).map(\.member) == ["agentd-1"])
        #expect(try store.consumedPosition() == position(0, 3))
    }

    @Test func cursorsAreSavedAndSurviveAReset() throws {
        let store = try history()
        try store.saveReplayCursor(ReplayCursor(name: "mimir", position: position(3, 4096), updatedAt: 1))
        try store.saveReplayCursor(ReplayCursor(name: "mimir", position: position(4, 8), updatedAt: 2))
        try store.saveReplayCursor(ReplayCursor(name: "local", position: position(1, 0), updatedAt: 2))
        #expect(try store.replayCursor(named: "mimir")?.position == position(4, 8))
        #expect(try store.replayCursors().map(\.name) == ["local", "mimir"])
        try store.reset()
        #expect(try store.ownershipHistory().isEmpty)
        #expect(try store.consumedPosition() == nil)
        #expect(try store.replayCursors().count == 2)
    }

    @Test func aReadOnlyStoreReadsWhileAnotherConnectionWrites() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("projection-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("projections.sqlite").path
        let writer = try ProjectionStore.open(path: path)
        try writer.upsertSegment(SegmentSummary(segment: 1, firstTimestamp: 0, lastTimestamp: 10))
        let reader = try ProjectionStore.openReadOnly(path: path)
        #expect(try reader.allSegments().map(\.segment) == [1])
        try writer.upsertSegment(SegmentSummary(segment: 2, firstTimestamp: 11, lastTimestamp: 20))
        #expect(try reader.allSegments().map(\.segment) == [1, 2])
        #expect(throws: (any Error).self) { try reader.upsertSegment(SegmentSummary(segment: 3)) }
        #expect(try writer.strings("PRAGMA journal_mode") == ["wal"])
    }

    @Test func aStoreMigratedByAnEarlierBuildOpensWithoutMigratingAgain() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("projection-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("projections.sqlite").path
        do {
            let first = try ProjectionStore.open(path: path)
            try first.upsertSegment(SegmentSummary(segment: 4, firstTimestamp: 1, lastTimestamp: 2))
            // Earlier builds recorded their migrations in the same table, under the same name.
            #expect(try first.strings("SELECT identifier FROM grdb_migrations") == ["v1"])
        }
        // Running "v1" again would fail on its CREATE TABLE.
        let again = try ProjectionStore.open(path: path)
        #expect(try again.allSegments().map(\.segment) == [4])
        #expect(try ProjectionStore.openReadOnly(path: path).allSegments().map(\.segment) == [4])
    }

    @Test func aStoreWithoutTheSchemaIsRefusedReadOnlyWithItsPath() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("projection-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("empty.sqlite").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let error = try #require(throws: ProjectionStoreError.self) { try ProjectionStore.openReadOnly(path: path) }
        #expect(error.description == "\(path): schema is not migrated; open it read-write once")
    }

    @Test func aDamagedRowIsReportedWithItsTableRowAndColumn() throws {
        let store = try history()
        try store.execute("UPDATE ownership_event SET target_labels = '[1' WHERE wal_offset = 20")
        let error = try #require(throws: ProjectionStoreError.self) { try store.ownershipHistory() }
        #expect(error.description.hasPrefix(":memory:: ownership_event.target_labels of row 2 is not JSON of "))
        try store.execute(
            "UPDATE ownership_event SET target_labels = '{}', cause_kind = 'gossip' WHERE wal_offset = 20")
        let cause = try #require(throws: ProjectionStoreError.self) { try store.ownershipHistory() }
        #expect(cause.description == ":memory:: ownership_event.cause_kind of row 2 is not a Cause: \"gossip\"")
    }

    @Test func aRefusedStatementNamesTheFileAndTheStatement() throws {
        let store = try ProjectionStore.inMemory()
        let error = try #require(throws: SQLiteError.self) { try store.strings("SELECT nope FROM segment") }
        #expect(
            error.description
                == ":memory:: SQLite error 1 (SQL logic error): no such column: nope in `SELECT nope FROM segment`")
    }

    @Test func aMissingDatabaseCannotBeOpenedReadOnly() {
        #expect(throws: (any Error).self) { try ProjectionStore.openReadOnly(path: "/nonexistent/dir/p.sqlite") }
    }
}
