import Testing

@testable import Cluster

/// Join addresses that are names: the lifecycle asks for them to be looked up before every join,
/// retry and rejoin, and joins what comes back.
@Suite struct ClusterLifecycleSeedResolutionTests {
    static let start = Lives.start

    static var resolving: ClusterLifecycle.Settings {
        var settings = ClusterLifecycle.Settings()
        settings.resolvesSeeds = true
        return settings
    }

    @Test func theJoinWaitsForTheLookupAndGoesToWhatItFound() {
        var a = Lives.lifecycle("a", settings: Self.resolving, membership: Lives.quiet)
        let asked = a.join(seeds: ["agents.svc"], now: Self.start)
        #expect(asked.contains(.resolveSeeds))
        #expect(Lives.joins(asked).isEmpty)
        #expect(a.isResolvingSeeds)
        // This member's own address among the answers is left out.
        let joined = a.seedsResolved(["a:1", "b:1", "c:1"], now: Self.start + .milliseconds(10))
        #expect(Lives.joins(joined) == ["b:1", "c:1"])
        #expect(a.seeds == ["b:1", "c:1"])
        #expect(!a.isResolvingSeeds)
    }

    @Test func aNameThatStandsForNobodyStartsAClusterAndIsLookedUpAgainAtEachRetry() throws {
        var a = Lives.lifecycle("a", settings: Self.resolving, membership: Lives.quiet)
        _ = a.join(seeds: ["agents.svc"], now: Self.start)
        _ = a.seedsResolved(["a:1"], now: Self.start)
        #expect(a.phase == .joining(announceAt: Self.start + a.settings.announceDelay))
        // The retry looks the name up again, and joins the member it now finds.
        var now = Self.start
        var retry: [Directive] = []
        while !retry.contains(.resolveSeeds) {
            now = a.nextTick
            retry = a.onTick(now: now)
        }
        #expect(now == Self.start + .seconds(1))
        #expect(a.hasAnnounced)
        #expect(Lives.joins(a.seedsResolved(["a:1", "b:1"], now: now)) == ["b:1"])
    }

    @Test func aRejoinLooksTheNamesUpAgain() throws {
        var lives = Lives()
        lives.members["b"] = Lives.lifecycle("b")
        _ = lives.members["b"]!.join(seeds: [], now: lives.now)
        lives.members["a"] = Lives.lifecycle("a", settings: Self.resolving)
        _ = lives.members["a"]!.join(seeds: ["agents.svc"], now: lives.now)
        let join = lives.members["a"]!.seedsResolved(["b:1"], now: lives.now)
        let reply = try lives.deliver(join, to: "b")
        _ = try lives.deliver(reply, to: "a")
        #expect(lives.members["a"]!.seedContact == .answered(rejoinAt: lives.now + .seconds(60)))
        let rejoin = try #require(lives.tick("a", within: .seconds(61)) { $1.contains(.resolveSeeds) })
        #expect(Lives.joins(rejoin).isEmpty)
        #expect(Lives.joins(lives.members["a"]!.seedsResolved(["b:1", "c:1"], now: lives.now)) == ["b:1", "c:1"])
    }

    @Test func aLookupAnsweredAfterTheLeaveJoinsNobody() {
        var a = Lives.lifecycle("a", settings: Self.resolving, membership: Lives.quiet)
        _ = a.join(seeds: ["agents.svc"], now: Self.start)
        _ = a.leave(now: Self.start, limit: .seconds(5))
        #expect(Lives.joins(a.seedsResolved(["b:1"], now: Self.start)).isEmpty)
    }
}
