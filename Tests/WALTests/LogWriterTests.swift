import Foundation
import Synchronization
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

    /// Without a sync delay and with one (whose windows the real timer ends).
    @Test(arguments: [Duration.zero, .milliseconds(2)])
    func concurrentAsyncAppendsAreAllDurableAndOrderedPerTask(syncDelay: Duration) async throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path, options: .init(sync: .batch, syncDelay: syncDelay))
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
        #expect(writer.syncs.syncs >= 1 && writer.syncs.syncs <= 200)
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

    /// The test ends each sync window itself (`windowEnds`), so what shares a sync does not
    /// depend on how fast the test runs.
    private final class WindowEnds: Sendable {
        private let ends = Mutex<[@Sendable () -> Void]>([])
        var count: Int { ends.withLock { $0.count } }
        func add(_ end: @escaping @Sendable () -> Void) { ends.withLock { $0.append(end) } }
        /// Ends the `index`th window the writer opened.
        func end(_ index: Int) { ends.withLock { $0[index] }() }
    }

    private func holdingWindows(_ writer: LogWriter) -> WindowEnds {
        let ends = WindowEnds()
        writer.windowEnds.withLock { $0 = { end in ends.add(end) } }
        return ends
    }

    @Test func appendsThatAskWithinOneSyncWindowShareOneSync() throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path, options: .init(sync: .batch, syncDelay: .seconds(1)))
        let ends = holdingWindows(writer)
        let answers = Mutex<[Bool]>([])
        let answer: @Sendable (Result<Void, any Error>) -> Void = { result in
            answers.withLock { $0.append((try? result.get()) != nil) }
        }
        let syncsBefore = writer.syncs.syncs
        writer.sync(upTo: try writer.write([sampleRecord(1)]), then: answer)
        writer.sync(upTo: try writer.write([sampleRecord(2)]), then: answer)
        #expect(answers.withLock { $0 }.isEmpty, "an append was answered before its window ended")
        #expect(ends.count == 1, "the second append opened a window of its own")

        ends.end(0)
        #expect(answers.withLock { $0 } == [true, true])
        #expect(writer.syncs.syncs == syncsBefore + 1)

        // After the window, the next append opens another.
        writer.sync(upTo: try writer.write([sampleRecord(3)]), then: answer)
        #expect(ends.count == 2)
        ends.end(1)
        #expect(answers.withLock { $0 } == [true, true, true])
        #expect(writer.syncs.syncs == syncsBefore + 2)
        try writer.close()
        #expect(try readAll(dir.path).0.map(\.record) == [sampleRecord(1), sampleRecord(2), sampleRecord(3)])
    }

    @Test func closingAnswersTheAppendsWaitingForASyncWindow() throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path, options: .init(sync: .batch, syncDelay: .seconds(1)))
        let ends = holdingWindows(writer)
        let answers = Mutex<[Bool]>([])
        writer.sync(upTo: try writer.write([sampleRecord(1)])) { result in
            answers.withLock { $0.append((try? result.get()) != nil) }
        }
        #expect(answers.withLock { $0 }.isEmpty)
        try writer.close()
        #expect(answers.withLock { $0 } == [true], "close synced the append but did not answer it")
        // The window's end after the close answers nothing twice.
        ends.end(0)
        #expect(answers.withLock { $0 } == [true])
        #expect(try readAll(dir.path).0.map(\.record) == [sampleRecord(1)])
    }

    @Test func appendsAfterCloseFail() throws {
        let dir = TemporaryDirectory()
        let writer = try LogWriter(directory: dir.path)
        try writer.close()
        #expect(throws: WALError.closed) { try writer.append([sampleRecord(1)]) }
    }
}
