import Primitives
import Testing

@testable import Scrape

@Suite struct ScrapeScheduleTests {
    static let second: Int64 = 1_000_000_000
    static let interval = 10 * second
    /// Phase 3 s: slots at …3 s, …13 s, …23 s.
    let slots = ScrapeSlots(key: 3 * 1_000_000_000, interval: 10 * 1_000_000_000)
    let start: Int64 = 1_700_000_000 * 1_000_000_000

    @Test func theFirstSlotIsTheFirstAtOrAfterTheStart() {
        let schedule = ScrapeSchedule(slots: slots, now: start + 5 * Self.second)
        #expect(schedule.firstAction == .waitForSlot(start + 13 * Self.second))
        // Started exactly at a slot: that slot.
        let onSlot = ScrapeSchedule(slots: slots, now: start + 3 * Self.second)
        #expect(onSlot.firstAction == .waitForSlot(start + 3 * Self.second))
    }

    @Test func anOwnedSlotIsScrapedAndTheNextOneIsAnIntervalLater() {
        var schedule = ScrapeSchedule(slots: slots, now: start)
        let first = start + 3 * Self.second
        #expect(schedule.firstAction == .waitForSlot(first))
        #expect(schedule.slotReached(owned: true) == .scrape(slot: first))
        // The scrape took 2 s.
        #expect(schedule.slotDone(now: first + 2 * Self.second) == .waitForSlot(first + Self.interval))
        #expect(schedule.slotReached(owned: true) == .scrape(slot: first + Self.interval))
    }

    @Test func aSlotThatIsAnotherMembersIsLeftToItAndTheScheduleGoesOn() {
        var schedule = ScrapeSchedule(slots: slots, now: start)
        let first = start + 3 * Self.second
        #expect(schedule.slotReached(owned: false) == .leaveToOwner(slot: first))
        #expect(schedule.slotDone(now: first) == .waitForSlot(first + Self.interval))
        #expect(schedule.slotReached(owned: true) == .scrape(slot: first + Self.interval))
    }

    @Test func aLateSlotWithinAnIntervalIsKeptButMoreThanAnIntervalLateTheMissedSlotsAreSkipped() {
        var schedule = ScrapeSchedule(slots: slots, now: start)
        let first = start + 3 * Self.second
        _ = schedule.slotReached(owned: true)
        // Done 15 s after its slot: the next slot (5 s ago) is still taken, at once.
        #expect(schedule.slotDone(now: first + 15 * Self.second) == .waitForSlot(first + Self.interval))
        _ = schedule.slotReached(owned: true)
        // Done exactly an interval after the next slot: that one is skipped.
        let second = first + Self.interval
        #expect(
            schedule.slotDone(now: second + 2 * Self.interval)
                == .skipMissedSlots(behind: Self.interval, next: second + 2 * Self.interval, skipped: 1))
        _ = schedule.slotReached(owned: true)
        // 47 s late: four slots skipped, back on the grid at the first slot after now.
        let third = second + 2 * Self.interval
        #expect(
            schedule.slotDone(now: third + 47 * Self.second)
                == .skipMissedSlots(behind: 37 * Self.second, next: third + 5 * Self.interval, skipped: 4))
        #expect(schedule.slot == third + 5 * Self.interval)
    }

    @Test func aRemovedTargetGetsStalenessMarkersAfterAScrapeOfItsOwn() {
        var schedule = ScrapeSchedule(slots: slots, now: start)
        _ = schedule.slotReached(owned: true)
        _ = schedule.slotDone(now: start + 3 * Self.second)
        #expect(schedule.stop(.removed) == .appendStaleness)
        #expect(schedule.stop(.removed) == .finish)
    }

    @Test func aQuietStopNeverAppendsMarkers() {
        var schedule = ScrapeSchedule(slots: slots, now: start)
        _ = schedule.slotReached(owned: true)
        _ = schedule.slotDone(now: start + 3 * Self.second)
        #expect(schedule.stop(.quiet) == .finish)
    }

    @Test func aRemovedTargetWhoseLastSlotWasAnotherMembersGetsNoMarkers() {
        var schedule = ScrapeSchedule(slots: slots, now: start)
        _ = schedule.slotReached(owned: true)
        _ = schedule.slotDone(now: start + 3 * Self.second)
        _ = schedule.slotReached(owned: false)
        _ = schedule.slotDone(now: start + 13 * Self.second)
        #expect(schedule.stop(.removed) == .finish)
    }

    @Test func aTargetRemovedBeforeItsFirstSlotGetsNoMarkers() {
        var schedule = ScrapeSchedule(slots: slots, now: start)
        #expect(schedule.stop(.removed) == .finish)
    }

    @Test func aLoopStoppedInTheMiddleOfAScrapeOfItsOwnMarksItsSeries() {
        var schedule = ScrapeSchedule(slots: slots, now: start)
        _ = schedule.slotReached(owned: true)
        #expect(schedule.stop(.removed) == .appendStaleness)
    }

    @Test func anIntervalChangeRestartsOnTheNewIntervalsGrid() {
        // The job's interval goes from 10 s to 4 s: the loop restarts quietly (see
        // ScrapeJobUpdateTests), and the new schedule's slots are the new interval's.
        let key: UInt64 = 3 * 1_000_000_000
        var old = ScrapeSchedule(slots: ScrapeSlots(key: key, interval: Self.interval), now: start)
        _ = old.slotReached(owned: true)
        _ = old.slotDone(now: start + 4 * Self.second)
        #expect(old.stop(.quiet) == .finish)
        let newSlots = ScrapeSlots(key: key, interval: 4 * Self.second)
        var new = ScrapeSchedule(slots: newSlots, now: start + 4 * Self.second)
        // Phase 3 s % 4 s = 3 s: slots at …3, …7, …11 s.
        #expect(new.firstAction == .waitForSlot(start + 7 * Self.second))
        _ = new.slotReached(owned: true)
        #expect(new.slotDone(now: start + 7 * Self.second) == .waitForSlot(start + 11 * Self.second))
    }
}
