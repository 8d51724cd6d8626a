import Testing

@testable import Cluster

/// Lifecycles wired by hand over a fake clock: messages move only when a test moves them, and a
/// member is ticked only at the times it asks for.
struct Lives {
    static let start = ClusterTime(seconds: 1_800_000_000)
    static let codec = MessageCodec(clusterName: "test")
    var members: [String: ClusterLifecycle] = [:]
    var now = Lives.start

    /// Membership timers an hour apart, so that only the lifecycle's own deadlines fall in a test.
    static var quiet: MembershipSettings {
        var settings = MembershipSettings()
        settings.probeInterval = .seconds(3600)
        settings.gossipInterval = .seconds(3600)
        settings.pushPullInterval = .seconds(3600)
        settings.reconnectInterval = .seconds(3600)
        return settings
    }

    static func address(_ name: String) -> String { "\(name):1" }

    static func lifecycle(
        _ name: String, settings: ClusterLifecycle.Settings = .init(), membership: MembershipSettings = .init(),
        now: ClusterTime = Lives.start
    ) -> ClusterLifecycle {
        let node = Node(name: name, address: Self.address(name))
        let seed = UInt64(name.utf8.first!)
        return ClusterLifecycle(
            membership: Membership(node: node, settings: membership, codec: Self.codec, now: now, seed: seed),
            settings: settings)
    }

    /// The messages of `directives` addressed to `name`.
    static func sends(_ directives: [Directive], to name: String) -> [Message] {
        directives.compactMap {
            if case .send(let message, let address) = $0, address == Self.address(name) { message } else { nil }
        }
    }

    /// The joins (push-pulls of a joining member) among `directives`, by destination.
    static func joins(_ directives: [Directive]) -> [String] {
        directives.compactMap {
            if case .send(let message, let address) = $0, case .pushPull(_, join: true, _) = message.body {
                address
            } else {
                nil
            }
        }
    }

    /// The delay of the one schedule `directives` end with.
    static func schedule(_ directives: [Directive]) -> Duration? {
        let schedules = directives.filter { if case .scheduleTick = $0 { true } else { false } }
        guard schedules.count == 1, case .scheduleTick(let delay) = directives.last else { return nil }
        return delay
    }

    static func announced(_ directives: [Directive]) -> StateChange? {
        directives.lazy.compactMap {
            if case .membershipChanged(let change) = $0, case .roleChanged(let role) = change.kind,
                role.role == .participant
            {
                role
            } else {
                nil
            }
        }.first
    }

    /// Delivers every message of `directives` addressed to `name`; returns what `name` answered.
    mutating func deliver(_ directives: [Directive], to name: String) throws -> [Directive] {
        var answers: [Directive] = []
        for message in Self.sends(directives, to: name) {
            answers += try self.members[name]!.receive(Self.codec.encode(message), now: self.now)
        }
        return answers
    }

    /// Ticks `name` at the times it asks for, until it and a tick's directives satisfy
    /// `condition` (the directives are returned) or `limit` passes (nil).
    mutating func tick(
        _ name: String, within limit: Duration, until condition: (ClusterLifecycle, [Directive]) -> Bool
    ) -> [Directive]? {
        let end = self.now + limit
        while true {
            let next = self.members[name]!.nextTick
            guard next <= end else { return nil }
            self.now = max(self.now, next)
            let directives = self.members[name]!.onTick(now: self.now)
            if condition(self.members[name]!, directives) { return directives }
        }
    }
}

@Suite struct ClusterLifecycleTests {
    static let start = Lives.start

    // MARK: Joining

    @Test func aJoinNobodyAnswersIsRetriedAtDoublingIntervalsUpToTheMaximum() throws {
        var settings = ClusterLifecycle.Settings()
        settings.maximumJoinRetryDelay = .seconds(4)
        settings.joinTimeout = .seconds(60)  // still joining, not announced alone
        var a = Lives.lifecycle("a", settings: settings, membership: Lives.quiet)
        #expect(Lives.joins(a.join(seeds: ["b:1", "a:1", "b:1"], now: Self.start)) == ["b:1"])
        #expect(a.seeds == ["b:1"])
        var joinedAt: [Duration] = []
        var now = Self.start
        while now < Self.start + .seconds(20) {
            now = a.nextTick
            if !Lives.joins(a.onTick(now: now)).isEmpty { joinedAt.append(now - Self.start) }
        }
        #expect(joinedAt == [1, 3, 7, 11, 15, 19, 23].map { Duration.seconds($0) })
        #expect(a.seedContact == .unanswered(attempts: 8, retryAt: Self.start + .seconds(27), refusedBy: []))
    }

    @Test func aMemberAnnouncedAloneKeepsLookingForItsSeedsEveryFewSeconds() throws {
        // No seed answered within the join timeout (overloaded, or not started yet): the member
        // announces itself alone and scrapes every target, so its retries stop doubling and stay
        // `isolatedJoinRetryDelay` apart; the first seed that can answer merges it.
        var settings = ClusterLifecycle.Settings()
        settings.isolatedJoinRetryDelay = .seconds(2)
        var a = Lives.lifecycle("a", settings: settings, membership: Lives.quiet)
        _ = a.join(seeds: ["b:1"], now: Self.start)
        var joinedAt: [Duration] = []
        var now = Self.start
        while now < Self.start + .seconds(40) {
            now = a.nextTick
            if !Lives.joins(a.onTick(now: now)).isEmpty { joinedAt.append(now - Self.start) }
        }
        #expect(a.hasAnnounced)
        #expect(Array(joinedAt.prefix(4)) == [1, 3, 5, 7].map { Duration.seconds($0) })
        let gaps = zip(joinedAt.dropFirst(), joinedAt).map { $0 - $1 }
        #expect(gaps.allSatisfy { $0 <= .seconds(2) }, "\(gaps)")
    }

    @Test func aJoinAnsweredBySeedIsAnnouncedAfterTheAnnounceDelay() throws {
        var lives = Lives()
        lives.members["b"] = Lives.lifecycle("b")
        _ = lives.members["b"]!.join(seeds: [], now: lives.now)
        lives.members["a"] = Lives.lifecycle("a")
        let join = lives.members["a"]!.join(seeds: ["b:1"], now: lives.now)
        lives.now = lives.now + .milliseconds(5)
        let reply = try lives.deliver(join, to: "b")
        #expect(
            Lives.sends(reply, to: "a").contains {
                if case .pushPull(_, _, reply: true) = $0.body { true } else { false }
            })
        lives.now = lives.now + .milliseconds(5)
        let answered = try lives.deliver(reply, to: "a")
        let announceAt = lives.now + .milliseconds(300)
        #expect(lives.members["a"]!.phase == .joining(announceAt: announceAt))
        #expect(lives.members["a"]!.seedContact == .answered(rejoinAt: lives.now + .seconds(60)))
        #expect(try #require(Lives.schedule(answered)) <= announceAt - lives.now)

        let tick = try #require(lives.tick("a", within: .seconds(1)) { Lives.announced($1) != nil })
        #expect(lives.now == announceAt)
        #expect(lives.members["a"]!.hasAnnounced && lives.members["a"]!.phase == .participating)
        // It announced knowing the cluster's size: the hand-off delay is the planner's for two members.
        let effective = MembershipSettings().handoff.effectiveTime(now: announceAt, clusterSize: 2)
        #expect(Lives.announced(tick)?.effective == effective)
    }

    @Test func aJoinNobodyAnswersIsAnnouncedAtTheJoinTimeout() throws {
        var a = Lives.lifecycle("a", membership: Lives.quiet)
        _ = a.join(seeds: ["b:1"], now: Self.start)
        #expect(a.phase == .joining(announceAt: Self.start + .seconds(3)))
        #expect(Lives.announced(a.onTick(now: Self.start + .milliseconds(2_999))) == nil)
        #expect(!a.hasAnnounced)
        #expect(Lives.announced(a.onTick(now: Self.start + .seconds(3))) != nil)
        #expect(a.hasAnnounced)
    }

    @Test func aJoinEverySeedRefusedIsAnnouncedAfterTheAnnounceDelay() throws {
        var a = Lives.lifecycle("a", membership: Lives.quiet)
        let join = a.join(seeds: ["b:1", "c:1"], now: Self.start)
        let messages: [(Message, String)] = join.compactMap {
            if case .send(let message, let to) = $0 { (message, to) } else { nil }
        }
        #expect(messages.count == 2)
        let first = Self.start + .milliseconds(20)
        _ = a.sendFailed(messages[0].0, to: messages[0].1, now: first)
        #expect(a.phase == .joining(announceAt: Self.start + .seconds(3)))
        let second = Self.start + .milliseconds(50)
        let refused = a.sendFailed(messages[1].0, to: messages[1].1, now: second)
        #expect(a.phase == .joining(announceAt: second + .milliseconds(300)))
        #expect(Lives.schedule(refused) == .milliseconds(300))
        // The retries go on: the others may come up later.
        #expect(
            a.seedContact == .unanswered(attempts: 1, retryAt: Self.start + .seconds(1), refusedBy: ["b:1", "c:1"]))
    }

    @Test func aFailedMessageOtherThanAJoinChangesNothing() throws {
        var a = Lives.lifecycle("a", membership: Lives.quiet)
        _ = a.join(seeds: ["b:1"], now: Self.start)
        let gossip = Message(sender: a.membership.myself, sequence: 1, sentAt: Self.start, body: .gossip)
        _ = a.sendFailed(gossip, to: "b:1", now: Self.start)
        #expect(a.phase == .joining(announceAt: Self.start + .seconds(3)))
        #expect(a.seedContact == .unanswered(attempts: 1, retryAt: Self.start + .seconds(1), refusedBy: []))
    }

    @Test func aMemberWithoutSeedsStartsAClusterAfterTheAnnounceDelay() throws {
        var a = Lives.lifecycle("a", membership: Lives.quiet)
        let joined = a.join(seeds: ["a:1"], now: Self.start)
        #expect(Lives.joins(joined).isEmpty && a.seedContact == .none)
        #expect(Lives.schedule(joined) == .milliseconds(300))
        #expect(Lives.announced(a.onTick(now: Self.start + .milliseconds(300))) != nil)
    }

    // MARK: Rejoining

    @Test func aJoinedMemberJoinsItsSeedsAgainEveryRejoinInterval() throws {
        var settings = ClusterLifecycle.Settings()
        settings.rejoinInterval = .seconds(20)
        var lives = Lives()
        lives.members["b"] = Lives.lifecycle("b")
        _ = lives.members["b"]!.join(seeds: [], now: lives.now)
        // No probes in the test's minute: b, which nobody ticks, must not be found dead.
        lives.members["a"] = Lives.lifecycle("a", settings: settings, membership: Lives.quiet)
        try #require(lives.members["a"]!.membership.nextTick > Self.start + .seconds(60))
        let join = lives.members["a"]!.join(seeds: ["b:1"], now: lives.now)
        _ = try lives.deliver(lives.deliver(join, to: "b"), to: "a")
        let answeredAt = lives.now

        let first = try #require(lives.tick("a", within: .seconds(21)) { !Lives.joins($1).isEmpty })
        #expect(lives.now == answeredAt + .seconds(20) && Lives.joins(first) == ["b:1"])
        _ = try #require(lives.tick("a", within: .seconds(21)) { !Lives.joins($1).isEmpty })
        #expect(lives.now == answeredAt + .seconds(40))
    }

    @Test func aRejoinIntervalOfZeroTurnsRejoiningOff() throws {
        var settings = ClusterLifecycle.Settings()
        settings.rejoinInterval = .zero
        var lives = Lives()
        lives.members["b"] = Lives.lifecycle("b")
        _ = lives.members["b"]!.join(seeds: [], now: lives.now)
        lives.members["a"] = Lives.lifecycle("a", settings: settings)
        let join = lives.members["a"]!.join(seeds: ["b:1"], now: lives.now)
        _ = try lives.deliver(lives.deliver(join, to: "b"), to: "a")
        #expect(lives.members["a"]!.seedContact == .answered(rejoinAt: nil))
        #expect(lives.tick("a", within: .seconds(300)) { !Lives.joins($1).isEmpty } == nil)
    }

    /// a joined b, then b stopped answering: a has declared it dead and is alone.
    private static func aAloneAfterBDied() throws -> Lives {
        var lives = Lives()
        lives.members["b"] = Lives.lifecycle("b")
        _ = lives.members["b"]!.join(seeds: [], now: lives.now)
        lives.members["a"] = Lives.lifecycle("a")
        let join = lives.members["a"]!.join(seeds: ["b:1"], now: lives.now)
        _ = try lives.deliver(lives.deliver(join, to: "b"), to: "a")
        _ = try #require(
            lives.tick("a", within: .seconds(10)) { a, _ in a.membership.members["b"]?.liveness == .dead })
        return lives
    }

    @Test func anIsolatedMemberLooksForItsSeedsAgainAndFindsTheRestartedCluster() throws {
        // b crashes: a's probes go unanswered until it declares b dead, and finds itself alone.
        var lives = try Self.aAloneAfterBDied()
        let isolatedAt = lives.now
        #expect(lives.members["a"]!.membership.clusterSize == 1)
        #expect(
            lives.members["a"]!.seedContact
                == .unanswered(attempts: 0, retryAt: isolatedAt + .seconds(1), refusedBy: []))
        let retry = try #require(lives.tick("a", within: .seconds(2)) { !Lives.joins($1).isEmpty })
        #expect(lives.now == isolatedAt + .seconds(1))
        _ = try #require(lives.tick("a", within: .seconds(2)) { !Lives.joins($1).isEmpty })
        #expect(lives.now == isolatedAt + .seconds(2))

        // b restarts at the same address (its own join is lost). a's join tells it it was
        // declared dead: it refutes in its answer, and a is back in a cluster of two.
        lives.members["b"] = Lives.lifecycle("b", now: lives.now)
        _ = lives.members["b"]!.join(seeds: ["a:1"], now: lives.now)
        let answer = try lives.deliver(retry, to: "b")
        #expect(lives.members["b"]!.membership.incarnation == 1)
        _ = try lives.deliver(answer, to: "a")
        #expect(lives.members["a"]!.membership.members["b"]?.liveness == .alive)
        #expect(lives.members["a"]!.membership.clusterSize == 2)
        #expect(lives.members["a"]!.seedContact == .answered(rejoinAt: lives.now + .seconds(60)))
    }

    @Test func anIsolatedMemberKeepsLookingEveryFewSecondsNotEverLonger() throws {
        // Cut off by a partition, a member alone with every other declared dead keeps joining its
        // seeds at most `isolatedJoinRetryDelay` apart, so a healed partition is found within that
        // (the join retries of a starting member double up to 30 s).
        var lives = try Self.aAloneAfterBDied()
        var times: [ClusterTime] = []
        for _ in 0..<8 {
            _ = try #require(lives.tick("a", within: .seconds(5)) { !Lives.joins($1).isEmpty })
            times.append(lives.now)
        }
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        let limit = ClusterLifecycle.Settings().isolatedJoinRetryDelay
        #expect(gaps.allSatisfy { $0 <= limit }, "\(gaps)")
        #expect(gaps.last == limit)
    }

    @Test func membersThatLeftGracefullyDoNotIsolateTheOneLeft() throws {
        var lives = Lives()
        lives.members["b"] = Lives.lifecycle("b")
        _ = lives.members["b"]!.join(seeds: [], now: lives.now)
        lives.members["a"] = Lives.lifecycle("a")
        let join = lives.members["a"]!.join(seeds: ["b:1"], now: lives.now)
        _ = try lives.deliver(lives.deliver(join, to: "b"), to: "a")
        _ = lives.tick("a", within: .seconds(1)) { a, _ in a.hasAnnounced }

        _ = lives.members["b"]!.leave(now: lives.now, limit: .seconds(15))
        let departed = try #require(lives.tick("b", within: .seconds(5)) { $1.contains(.departed) })
        _ = try lives.deliver(departed, to: "a")
        #expect(lives.members["a"]!.membership.members["b"]?.liveness == .left)
        #expect(lives.members["a"]!.seedContact == .answered(rejoinAt: Lives.start + .seconds(60)))
    }

    // MARK: Waiting for the cluster's size

    @Test func theWaitForSizeEndsWhenTheClusterReachesIt() throws {
        var settings = ClusterLifecycle.Settings()
        settings.waitForSize = 2
        var lives = Lives()
        lives.members["b"] = Lives.lifecycle("b")
        _ = lives.members["b"]!.join(seeds: [], now: lives.now)
        lives.members["a"] = Lives.lifecycle("a", settings: settings)
        #expect(lives.members["a"]!.isWaitingForSize)
        let join = lives.members["a"]!.join(seeds: ["b:1"], now: lives.now)
        #expect(!join.contains(.sizeReached(clusterSize: 1)) && lives.members["a"]!.isWaitingForSize)
        let answered = try lives.deliver(lives.deliver(join, to: "b"), to: "a")
        #expect(answered.contains(.sizeReached(clusterSize: 2)))
        #expect(!lives.members["a"]!.isWaitingForSize)
    }

    @Test func theWaitForSizeGivesUpAtTheWaitTimeout() throws {
        var settings = ClusterLifecycle.Settings()
        settings.waitForSize = 3
        settings.waitTimeout = .seconds(10)
        var a = Lives.lifecycle("a", settings: settings, membership: Lives.quiet)
        _ = a.join(seeds: [], now: Self.start)
        #expect(a.sizeWait == .waiting(deadline: Self.start + .seconds(10)))
        #expect(!a.onTick(now: Self.start + .milliseconds(9_999)).contains(.sizeWaitTimedOut(clusterSize: 1)))
        #expect(a.isWaitingForSize)
        #expect(a.onTick(now: Self.start + .seconds(10)).contains(.sizeWaitTimedOut(clusterSize: 1)))
        #expect(!a.isWaitingForSize)
    }

    @Test func withoutAWaitTimeoutTheWaitLastsAsLongAsItTakes() throws {
        var settings = ClusterLifecycle.Settings()
        settings.waitForSize = 2
        var a = Lives.lifecycle("a", settings: settings, membership: Lives.quiet)
        _ = a.join(seeds: [], now: Self.start)
        #expect(a.sizeWait == .waiting(deadline: nil))
        _ = a.onTick(now: Self.start + .seconds(86_400))
        #expect(a.isWaitingForSize)
    }

    @Test(arguments: [0, 1]) func aWaitForSizeOfOneOrLessNeverWaits(size: Int) {
        var settings = ClusterLifecycle.Settings()
        settings.waitForSize = size
        #expect(!Lives.lifecycle("a", settings: settings).isWaitingForSize)
    }

    // MARK: Tick scheduling

    @Test func theMemberAsksToBeTickedAtItsNextDeadlineAndNoSooner() throws {
        var settings = ClusterLifecycle.Settings()
        settings.waitForSize = 3
        settings.waitTimeout = .seconds(10)
        var a = Lives.lifecycle("a", settings: settings, membership: Lives.quiet)
        try #require(
            a.membership.nextTick > Self.start + .seconds(60), "the first probe is jittered; pick another seed")
        var now = Self.start
        var asked: [Duration] = []
        var directives = a.join(seeds: ["b:1"], now: now)
        while now < Self.start + .seconds(15) {
            let delay = try #require(Lives.schedule(directives), "one schedule, last")
            #expect(now + delay == a.nextTick)
            now = now + delay
            asked.append(now - Self.start)
            directives = a.onTick(now: now)
        }
        // Join retries at 1 and 3 s; the announcement (alone) at the join timeout, 3 s, and from
        // then on retries every `isolatedJoinRetryDelay` (2 s); the end of the wait at 10 s.
        #expect(asked == [1, 3, 5, 7, 9, 10, 11, 13, 15].map { Duration.seconds($0) })
        // An input between two ticks asks again for the same deadline.
        let early = a.sendFailed(
            Message(sender: a.membership.myself, sequence: 1, sentAt: now, body: .gossip), to: "b:1",
            now: now + .seconds(2))
        #expect(Lives.schedule(early) == a.nextTick - (now + .seconds(2)))
        #expect(a.nextTick == Self.start + .seconds(17))
    }

    @Test func theMembershipsDeadlinesCountToo() throws {
        var a = Lives.lifecycle("a")
        let joined = a.join(seeds: ["b:1"], now: Self.start)
        // The gossip round (200 ms) comes before the first join retry (1 s).
        #expect(a.nextTick == a.membership.nextTick)
        #expect(try #require(Lives.schedule(joined)) <= .milliseconds(200))
    }

    // MARK: Leaving

    @Test func aLeaveStopsOnceTheDepartureHadItsGrace() throws {
        var lives = Lives()
        lives.members["a"] = Lives.lifecycle("a")
        _ = lives.members["a"]!.join(seeds: [], now: lives.now)
        _ = try #require(lives.tick("a", within: .seconds(1)) { Lives.announced($1) != nil })
        lives.now = lives.now + .milliseconds(1_234)
        let leave = lives.members["a"]!.leave(now: lives.now, limit: .seconds(15))
        let effective = MembershipSettings().handoff.effectiveTime(now: lives.now, clusterSize: 1)
        #expect(lives.members["a"]!.phase == .leaving(deadline: lives.now + .seconds(15)))
        #expect(lives.members["a"]!.seedContact == .none)
        #expect(!leave.contains(.stop))

        _ = try #require(lives.tick("a", within: .seconds(5)) { $1.contains(.departed) })
        #expect(lives.now == effective)
        #expect(lives.members["a"]!.phase == .departed(stopAt: effective + .milliseconds(300)))
        _ = try #require(lives.tick("a", within: .seconds(5)) { $1.contains(.stop) })
        #expect(lives.now == effective + .milliseconds(300))
        #expect(lives.members["a"]!.hasStopped)
        // A second request changes nothing.
        #expect(!lives.members["a"]!.leave(now: lives.now, limit: .seconds(15)).contains(.stop))
    }

    @Test func aLeaveThatRunsOutOfTimeStopsAtTheLimit() throws {
        var lives = Lives()
        lives.members["a"] = Lives.lifecycle("a")
        _ = lives.members["a"]!.join(seeds: [], now: lives.now)
        _ = try #require(lives.tick("a", within: .seconds(1)) { Lives.announced($1) != nil })
        let leftAt = lives.now
        _ = lives.members["a"]!.leave(now: leftAt, limit: .seconds(1))
        let stop = try #require(lives.tick("a", within: .seconds(5)) { $1.contains(.stop) })
        #expect(lives.now == leftAt + .seconds(1) && !stop.contains(.departed))
    }

    @Test func aMemberLeavingBeforeItAnnouncedDepartsAtOnceAndStopsJoining() throws {
        var a = Lives.lifecycle("a", membership: Lives.quiet)
        _ = a.join(seeds: ["b:1"], now: Self.start)
        let leave = a.leave(now: Self.start + .milliseconds(100), limit: .seconds(15))
        #expect(Lives.schedule(leave) == .zero)
        let departed = a.onTick(now: Self.start + .milliseconds(100))
        #expect(departed.contains(.departed) && Lives.joins(departed).isEmpty)
        #expect(a.phase == .departed(stopAt: Self.start + .milliseconds(400)))
        let stop = a.onTick(now: Self.start + .milliseconds(400))
        #expect(stop.contains(.stop) && !a.hasAnnounced && a.seedContact == .none)
    }

    @Test func aMemberThatNeverJoinedStopsAtOnce() {
        var a = Lives.lifecycle("a")
        #expect(a.leave(now: Self.start, limit: .seconds(15)).contains(.stop))
        #expect(a.hasStopped)
    }
}
