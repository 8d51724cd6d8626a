import Synchronization
import TestSupport
import Testing

@testable import Events
@testable import WAL

@Suite struct SyncDelayTests {
    /// A scrape's append returns only once the sync it shares is done, and only then counts.
    @Test func anAsyncAppendReturnsOnlyAfterItsSharedSync() async throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(sync: .batch, syncDelay: .seconds(1)))
        let (opened, openings) = AsyncStream.makeStream(of: (@Sendable () -> Void).self)
        log.writer.windowEnds.withLock { $0 = { end in openings.yield(end) } }
        let refs = log.refs(for: (0..<3).map { Labels(["__name__": "m", "i": "\($0)"]) })
        let returned = Atomic<Bool>(false)
        let append = Task {
            try await log.append(SampleBatch(target: 1, timestamp: 1000, refs: refs, values: [1, 2, 3]))
            returned.store(true, ordering: .sequentiallyConsistent)
        }
        var windows = opened.makeAsyncIterator()
        let end = try #require(await windows.next())
        // The append has written and waits for its window: nothing can answer it before `end`.
        let returnedEarly = returned.load(ordering: .sequentiallyConsistent)
        #expect(!returnedEarly)
        #expect(log.appendedSamples == 0)
        let syncsBefore = log.writer.syncs.syncs
        end()
        try await append.value
        let returnedAfter = returned.load(ordering: .sequentiallyConsistent)
        #expect(returnedAfter)
        #expect(log.appendedSamples == 3)
        #expect(log.writer.syncs.syncs == syncsBefore + 1)
        try log.close()
    }

    /// An append that does not wait for the disk (a scrape loop's) returns once its records are
    /// written, and hears of its durability, and counts, only at the sync it shares.
    @Test func anAppendThatDoesNotWaitForTheDiskReturnsWrittenAndHearsOfItsSync() async throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, options: .init(sync: .batch, syncDelay: .seconds(1)))
        let (opened, openings) = AsyncStream.makeStream(of: (@Sendable () -> Void).self)
        log.writer.windowEnds.withLock { $0 = { end in openings.yield(end) } }
        let (synced, syncs) = AsyncStream.makeStream(of: Result<LogWriter.Appended, any Error>.self)
        let refs = log.refs(for: (0..<3).map { Labels(["__name__": "m", "i": "\($0)"]) })
        let before = log.writer.end
        try await log.append([SampleBatch(target: 1, timestamp: 1000, refs: refs, values: [1, 2, 3])]) {
            syncs.yield($0)
        }
        // Returned: written, not yet durable, not yet counted.
        let written = log.writer.end
        #expect(written.segment == before.segment && written.offset > before.offset)
        #expect(log.appendedSamples == 0)
        var windows = opened.makeAsyncIterator()
        let end = try #require(await windows.next())
        end()
        var results = synced.makeAsyncIterator()
        let appended = try #require(await results.next()).get()
        #expect(appended.end == written)
        #expect(log.appendedSamples == 3)
        try log.close()
    }
}
