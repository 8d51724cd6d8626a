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
}
