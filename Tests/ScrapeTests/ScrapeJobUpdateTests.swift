import Testing

@testable import Scrape

@Suite struct ScrapeJobUpdateTests {
    let settings = ScrapeSettings(jobName: "j", interval: .seconds(10))

    func target(_ address: String, _ extra: [String: String] = [:]) -> ScrapeTarget {
        ScrapeTarget(discovered: extra.merging(["__address__": address]) { a, _ in a }, settings: settings)!
    }

    func running(_ targets: [ScrapeTarget], _ settings: ScrapeSettings)
        -> [UInt64: (target: ScrapeTarget, settings: ScrapeSettings)]
    {
        Dictionary(uniqueKeysWithValues: targets.map { ($0.key, (target: $0, settings: settings)) })
    }

    @Test func newTargetsStartAndAreAdded() {
        let (a, b) = (target("a:1"), target("b:1"))
        let update = ScrapeJobUpdate(running: [:], targets: [a, b, a], settings: settings)
        #expect(update.starts == [a, b])
        #expect(update.added == [a, b])
        #expect(update.stops.isEmpty && update.removed.isEmpty)
        #expect(update.changesTargets)
    }

    @Test func unchangedTargetsAreLeftAlone() {
        let (a, b) = (target("a:1"), target("b:1"))
        let update = ScrapeJobUpdate(running: running([a, b], settings), targets: [b, a], settings: settings)
        #expect(update == ScrapeJobUpdate(running: [:], targets: [], settings: settings))
        #expect(!update.changesTargets)
    }

    @Test func removedTargetsStopWithStalenessMarkers() {
        let (a, b) = (target("a:1"), target("b:1"))
        let update = ScrapeJobUpdate(running: running([a, b], settings), targets: [a], settings: settings)
        #expect(update.stops == [.init(key: b.key, reason: .removed)])
        #expect(update.removed == [b.key])
        #expect(update.starts.isEmpty && update.added.isEmpty)
    }

    @Test func goingOverTheTargetLimitRestartsEveryLoopWithMarkersAndComingBackQuietly() {
        let (a, b) = (target("a:1"), target("b:1"))
        var over = settings
        over.targetLimit = 1
        over.targetLimitFailure = "target_limit exceeded (number of targets: 2, limit: 1)"
        let failing = ScrapeJobUpdate(running: running([a, b], settings), targets: [a, b], settings: over)
        #expect(failing.stops.map(\.reason) == [.overTargetLimit, .overTargetLimit])
        #expect(Set(failing.starts) == [a, b])
        #expect(!failing.changesTargets)
        let back = ScrapeJobUpdate(running: running([a], over), targets: [a], settings: settings)
        #expect(back.stops == [.init(key: a.key, reason: .quiet)])
    }

    @Test func anIntervalChangeRestartsEveryLoopQuietlyWithoutChangingTheTargets() {
        let (a, b) = (target("a:1"), target("b:1"))
        let faster = ScrapeSettings(jobName: "j", interval: .seconds(4))
        let update = ScrapeJobUpdate(running: running([a, b], settings), targets: [a, b], settings: faster)
        #expect(Set(update.stops.map(\.key)) == [a.key, b.key])
        #expect(update.stops.allSatisfy { $0.reason == .quiet })
        #expect(Set(update.starts) == [a, b])
        #expect(!update.changesTargets)
    }

    @Test func aTargetWhoseLabelsChangedUnderTheSameKeyRestartsQuietly() {
        // `__meta_*` labels are not part of the key.
        let old = target("a:1", ["__meta_x": "1"])
        let new = target("a:1", ["__meta_x": "2"])
        #expect(old.key == new.key && old != new)
        let update = ScrapeJobUpdate(running: running([old], settings), targets: [new], settings: settings)
        #expect(update.stops == [.init(key: old.key, reason: .quiet)])
        #expect(update.starts == [new])
        #expect(!update.changesTargets)
    }
}
