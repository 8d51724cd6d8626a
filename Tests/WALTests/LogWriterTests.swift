import Foundation
import TestSupport
import Testing

@testable import WAL

@Suite struct LogWriterTests {
    @Test func recordsRoundTripInOrder() throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path, options: .init(sync: .never))
        var written: [Record] = []
        for batch in 0..<50 {
            let records = (0..<(1 + batch % 4)).map { sampleRecord(batch * 10 + $0) }
            try writer.append(records)
            written += records
        }
        try writer.close()
        let (read, problems) = try readAll(dir.path)
        #expect(problems.isEmpty)
        #expect(read.map(\.record) == written)
    }

    @Test func compressiblePayloadsAreStoredCompressed() throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path, options: .init(sync: .never))
        let record = Record(type: 1, payload: [UInt8](repeating: 7, count: 100_000))
        try writer.append([record])
        try writer.close()
        #expect(fileSize(SegmentName.path(0, in: dir.path)) < 2_000)
        #expect(try readAll(dir.path).0.map(\.record) == [record])
    }

    @Test func emptyAndLargePayloadsRoundTrip() throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path, options: .init(sync: .never))
        var generator = SeededGenerator(seed: 9)
        let large = Record(type: 3, payload: (0..<3_000_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let records = [Record(type: 1, payload: []), large, Record(type: 254, payload: [1])]
        try writer.append(records)
        try writer.close()
        #expect(try readAll(dir.path).0.map(\.record) == records)
    }

    @Test func segmentsRotateAtTheSizeBoundAndBatchesNeverSpanSegments() throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path, options: .init(segmentSize: 4096, sync: .never))
        var written: [[Record]] = []
        for batch in 0..<120 {
            let records = (0..<3).map { sampleRecord(batch * 3 + $0, size: 200 + batch % 7) }
            let appended = try writer.append(records)
            #expect(Set(appended.positions.map(\.segment)).count == 1)
            written.append(records)
        }
        try writer.close()
        let segments = try SegmentName.list(in: dir.path)
        #expect(segments.count > 10)
        for segment in segments.dropLast() {
            #expect(fileSize(SegmentName.path(segment, in: dir.path)) <= 4096)
        }
        let (read, problems) = try readAll(dir.path)
        #expect(problems.isEmpty)
        #expect(read.map(\.record) == written.flatMap { $0 })
        // Reading from a position in the middle returns exactly the rest.
        let middle = read[100]
        #expect(
            try readAll(dir.path, from: middle.position).0.map(\.record) == Array(written.joined())[100...].map { $0 })
    }

    @Test func reopeningStartsANewSegmentAndKeepsEverything() throws {
        let dir = TemporaryDirectory()
        var written: [Record] = []
        for round in 0..<3 {
            let writer = try LogWriter(directory: dir.path, options: .init(sync: .batch))
            #expect(writer.end.segment == round)
            let records = (0..<5).map { sampleRecord(round * 5 + $0) }
            try writer.append(records)
            written += records
            try writer.close()
        }
        #expect(try readAll(dir.path).0.map(\.record) == written)
    }

    @Test func aSecondWriterOnTheSameDirectoryIsRefused() throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path)
        #expect(throws: WALError.locked(path: dir.path)) { try LogWriter(directory: dir.path) }
        try writer.close()
    }

    @Test func concurrentAsyncAppendsAreAllDurableAndOrderedPerTask() async throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path, options: .init(sync: .batch))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<4 {
                group.addTask {
                    for index in 0..<50 {
                        try await writer.append([Record(type: UInt8(task + 1), payload: [UInt8(index)])])
                    }
                }
            }
            try await group.waitForAll()
        }
        try writer.close()
        let (read, _) = try readAll(dir.path)
        #expect(read.count == 200)
        for task in 0..<4 {
            let mine = read.filter { $0.type == UInt8(task + 1) }.map { Int($0.payload[0]) }
            #expect(mine == Array(0..<50))
        }
    }

    @Test func intervalSyncPolicyAppendsAndReads() async throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path, options: .init(sync: .interval(.milliseconds(10))))
        try await writer.append([sampleRecord(1)])
        // The workload, not a synchronization: the writer stays open for a few periods of its
        // sync timer, so the timer runs (nothing waits for it; LogWriter shows no count of syncs).
        try await Task.sleep(for: .milliseconds(50))
        try writer.close()
        #expect(try readAll(dir.path).0.map(\.record) == [sampleRecord(1)])
    }

    @Test func appendsAfterCloseFail() throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path)
        try writer.close()
        #expect(throws: WALError.closed) { try writer.append([sampleRecord(1)]) }
    }
}
