import RemoteWrite
import Testing

@Suite struct CommitTrackerTests {
    @Test func committedNeverPassesAnOpenPosition() {
        var tracker = CommitTracker()
        tracker.open(10)
        tracker.add(2, to: 10)
        tracker.finishAppend(10)
        tracker.open(20)
        tracker.add(1, to: 20)
        tracker.finishAppend(20)
        tracker.settle(1, of: 20)
        #expect(tracker.committed == nil)
        tracker.settle(1, of: 10)
        #expect(tracker.committed == nil)
        tracker.settle(1, of: 10)
        #expect(tracker.committed == 20)
        #expect(tracker.openCount == 0)
    }

    @Test func aPositionWithNoSamplesCommitsWhenItsAppendFinishes() {
        var tracker = CommitTracker(committed: 5)
        tracker.open(6)
        #expect(tracker.committed == 5)
        let moved = tracker.finishAppend(6)
        #expect(moved)
        #expect(tracker.committed == 6)
    }

    @Test func anUnfinishedAppendHoldsTheMarkEvenWhenItsSamplesAreSent() {
        var tracker = CommitTracker()
        tracker.open(1)
        tracker.add(3, to: 1)
        tracker.settle(3, of: 1)
        #expect(tracker.committed == nil)
        tracker.finishAppend(1)
        #expect(tracker.committed == 1)
    }

    @Test func manyPositionsCompactWithoutLosingCount() {
        var tracker = CommitTracker()
        for position in 1...1000 as ClosedRange<UInt64> {
            tracker.open(position)
            tracker.add(1, to: position)
            tracker.finishAppend(position)
        }
        for position in stride(from: UInt64(1000), through: 2, by: -1) {
            tracker.settle(1, of: position)
        }
        #expect(tracker.committed == nil)
        tracker.settle(1, of: 1)
        #expect(tracker.committed == 1000)
    }
}
