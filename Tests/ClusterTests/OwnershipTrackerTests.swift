import Primitives
import Testing

@testable import Cluster

@Suite struct OwnershipTrackerTests {
    static let start = ClusterTime(seconds: 1_800_000_000)

    static func member(_ name: String, _ history: [StateChange], liveness: Liveness = .alive, reporters: [String] = [])
        -> Member
    {
        Member(
            node: Node(name: name, address: "\(name):1"), incarnation: 0, liveness: liveness, reporters: reporters,
            history: history)
    }

    static func participant(_ name: String, from time: ClusterTime = .zero, lamport: UInt64 = 1) -> Member {
        member(name, [StateChange(role: .participant, lamport: lamport, effective: time)])
    }

    static let targets: [ScrapeTarget] = {
        var random = SplitMix64(seed: 3)
        return (0..<300).map { index in
            ScrapeTarget(key: random.next(), interval: [.seconds(1), .seconds(15), .milliseconds(2500)][index % 3])
        }
    }()

    @Test func addedTargetsGetAnOwnerFromTheirNextSlot() {
        var tracker = OwnershipTracker()
        _ = tracker.update(
            timeline: MembershipTimeline([Self.participant("a"), Self.participant("b")]), now: Self.start)
        let changes = tracker.setTargets(Self.targets, now: Self.start)
        #expect(changes.count == Self.targets.count)
        #expect(
            changes.allSatisfy {
                $0.cause == .targetAdded && $0.previousOwner == nil && $0.newOwner != nil && $0.effective >= Self.start
            })
        let removed = tracker.setTargets(Self.targets.dropFirst(), now: Self.start + .seconds(1))
        #expect(removed.count == 1)
        #expect(removed.first?.cause == .targetRemoved && removed.first?.newOwner == nil)
    }

    @Test func aReplicatedTargetHasThatManyOwnersAndADeathMovesOnlyTheDeadOnesReplica() throws {
        var tracker = OwnershipTracker()
        let members = ["a", "b", "c", "d"].map { Self.participant($0) }
        _ = tracker.update(timeline: MembershipTimeline(members), now: Self.start)
        let replicated = Self.targets.prefix(50).map { ScrapeTarget(key: $0.key, interval: $0.interval, replicas: 2) }
        let added = tracker.setTargets(replicated, now: Self.start)
        #expect(added.count == 100 && added.allSatisfy { $0.cause == .targetAdded && $0.newOwner != nil })
        for target in replicated {
            let owners = tracker.owners(of: target.key, at: Self.start + .seconds(1))
            #expect(owners.count == 2 && Set(owners).count == 2)
            #expect(owners.first == tracker.owner(of: target.key, at: Self.start + .seconds(1)))
        }
        // "b" is declared dead: each target it held a replica of gets one change, b → another
        // member that was not already its owner; the other replica stays.
        let death = Self.start + .seconds(5)
        let dead = Self.member(
            "b",
            [
                StateChange(role: .participant, lamport: 1, effective: .zero),
                StateChange(role: .dead, lamport: 2, effective: death),
            ], liveness: .dead, reporters: ["a"])
        let changes = tracker.update(
            timeline: MembershipTimeline([members[0], dead, members[2], members[3]]), now: Self.start + .seconds(4))
        let held = replicated.filter { tracker.owners(of: $0.key, at: death - .seconds(1)).contains("b") }
        #expect(!held.isEmpty && changes.count == held.count)
        for change in changes {
            let target = try #require(replicated.first { $0.key == change.target })
            let before = tracker.owners(of: change.target, at: death - .seconds(1))
            let after = tracker.owners(of: change.target, at: target.firstSlot(atOrAfter: death))
            #expect(change.previousOwner == "b" && change.cause == .memberDeclaredDead("b", reporters: ["a"]))
            #expect(change.newOwner.map { !before.contains($0) && after.contains($0) } == true)
            #expect(Set(before).subtracting(["b"]).isSubset(of: after) && after.count == 2)
        }
        // With fewer members than replicas, every member owns it.
        #expect(HashRing(members: ["a"]).owners(of: 7, count: 2) == ["a"])
    }

    @Test func aMembershipThatComesBackAfterManyRingsDoesNotCrashTheRingCache() {
        // Found by the fleet bed at 30 members: the ring cache is trimmed to the current epochs
        // once it holds more than 64 rings, and a participant set that recurs (x joins and is
        // declared dead: the set before and after is the same) appeared twice among the epochs.
        var tracker = OwnershipTracker()
        _ = tracker.setTargets(Self.targets.prefix(20), now: Self.start)
        var members = [
            Self.member(
                "x",
                [
                    StateChange(role: .participant, lamport: 1, effective: Self.start + .milliseconds(500)),
                    StateChange(role: .dead, lamport: 2, effective: Self.start + .milliseconds(700)),
                ], liveness: .dead)
        ]
        for index in 1...70 {
            members.append(Self.participant("m\(index)", from: Self.start + .seconds(index), lamport: 3))
            _ = tracker.update(timeline: MembershipTimeline(members), now: Self.start)
        }
        #expect(tracker.ring(at: Self.start + .milliseconds(600)).members == ["x"])
        #expect(tracker.ring(at: Self.start + .milliseconds(800)).members.isEmpty)
        #expect(tracker.ring(at: Self.start + .seconds(70)).members.count == 70)
    }

    @Test func aPlannedJoinIsAnnouncedAheadAndTakesEffectAtTheFirstSlotAfterItsEffectiveTime() throws {
        var tracker = OwnershipTracker()
        let members = [Self.participant("a"), Self.participant("b")]
        _ = tracker.update(timeline: MembershipTimeline(members), now: Self.start)
        _ = tracker.setTargets(Self.targets, now: Self.start)
        let eff = Self.start + .seconds(3)
        let changes = tracker.update(
            timeline: MembershipTimeline(members + [Self.participant("c", from: eff, lamport: 2)]),
            now: Self.start + .seconds(1))
        #expect(!changes.isEmpty)
        for change in changes {
            let target = try #require(Self.targets.first { $0.key == change.target })
            #expect(change.cause == .memberJoined("c") && change.newOwner == "c")
            #expect(change.effective == target.firstSlot(atOrAfter: eff))
        }
        #expect(tracker.lateSlots == 0)
        // The same timeline again changes nothing.
        #expect(
            tracker.update(
                timeline: MembershipTimeline(members + [Self.participant("c", from: eff, lamport: 2)]),
                now: Self.start + .seconds(2)
            ).isEmpty)
        // About a third of the targets move (1/N).
        let fraction = Double(changes.count) / Double(Self.targets.count)
        #expect(fraction > 0.2 && fraction < 0.47)
    }

    @Test func aDeathLearnedLateCountsLateSlotsAndNamesTheReporters() {
        var tracker = OwnershipTracker()
        _ = tracker.update(
            timeline: MembershipTimeline([Self.participant("a"), Self.participant("b")]), now: Self.start)
        _ = tracker.setTargets(Self.targets, now: Self.start)
        let declared = Self.start + .seconds(10)
        let dead = Self.member(
            "b",
            [
                StateChange(role: .participant, lamport: 1, effective: .zero),
                StateChange(role: .dead, lamport: 9, effective: declared),
            ],
            liveness: .dead,
            reporters: ["a", "c"]
        )
        let changes = tracker.update(
            timeline: MembershipTimeline([Self.participant("a"), dead]), now: declared + .seconds(2))
        #expect(!changes.isEmpty)
        #expect(
            changes.allSatisfy {
                $0.cause == .memberDeclaredDead("b", reporters: ["a", "c"]) && $0.previousOwner == "b"
                    && $0.newOwner == "a"
            })
        // 1 s targets missed two slots, the others at most one.
        let expected = changes.reduce(0) { sum, change in
            sum
                + Self.targets.first { $0.key == change.target }!.slotCount(
                    from: change.effective, to: declared + .seconds(2))
        }
        #expect(tracker.lateSlots == expected && expected > 0)
    }

    @Test func aCancelledJoinIsCorrected() {
        var tracker = OwnershipTracker()
        let members = [Self.participant("a"), Self.participant("b")]
        _ = tracker.update(timeline: MembershipTimeline(members), now: Self.start)
        _ = tracker.setTargets(Self.targets, now: Self.start)
        let eff = Self.start + .seconds(5)
        let planned = tracker.update(
            timeline: MembershipTimeline(members + [Self.participant("c", from: eff, lamport: 2)]), now: Self.start)
        let died = Self.member(
            "c",
            [
                StateChange(role: .participant, lamport: 2, effective: eff),
                StateChange(role: .dead, lamport: 3, effective: Self.start + .seconds(1)),
            ],
            liveness: .dead
        )
        let corrections = tracker.update(timeline: MembershipTimeline(members + [died]), now: Self.start + .seconds(1))
        #expect(corrections.count == planned.count)
        #expect(corrections.allSatisfy { $0.previousOwner == "c" && $0.newOwner != "c" })
        #expect(Set(corrections.map(\.effective)) == Set(planned.map(\.effective)))
    }

    /// Runs a simulated cluster through a planned leave and checks, slot by slot, that exactly one
    /// member believed itself the owner at the moment of each scrape.
    @Test func acrossAPlannedLeaveEverySlotHasExactlyOneOwnerInEveryMembersView() {
        let simulator = ClusterSimulator(size: 5, conditions: .lossyLAN, seed: 21)
        var trackers = [OwnershipTracker](repeating: OwnershipTracker(), count: 5)
        simulator.run(for: .seconds(2))
        let leaver = 4
        simulator.leave(leaver)
        let eff = simulator.peers[leaver].membership.announcedRole.effective
        var checked = 0
        var handedOff = 0
        let step = Duration.milliseconds(100)
        while simulator.now < eff + .seconds(20) {
            let from = simulator.now
            // Members that were still scraping during this step (the leaver until it departs).
            let live = simulator.peers.indices.filter {
                simulator.peers[$0].isRunning && !simulator.peers[$0].membership.hasDeparted
            }
            simulator.run(for: step)
            for index in live {
                _ = trackers[index].update(timeline: simulator.peers[index].membership.timeline, now: simulator.now)
            }
            for target in Self.targets {
                var slot = target.firstSlot(atOrAfter: from)
                while slot < simulator.now {
                    let claimants = live.filter {
                        trackers[$0].owner(of: target.key, at: slot) == ClusterSimulator.name(of: $0)
                    }
                    #expect(claimants.count == 1, "slot \(slot) of \(target.key): \(claimants)")
                    if slot >= eff
                        && trackers[0].owner(of: target.key, at: slot - target.interval)
                            == ClusterSimulator.name(of: leaver)
                    {
                        handedOff += 1
                    }
                    checked += 1
                    slot = slot + target.interval
                }
            }
        }
        #expect(checked > 1000)
        #expect(handedOff > 0)
        #expect(trackers.allSatisfy { $0.lateSlots == 0 })
    }
}

@Suite struct HandoffPlannerTests {
    @Test func theEffectiveTimeIsAlignedAndGrowsWithTheClusterSize() {
        let planner = HandoffPlanner()
        let now = ClusterTime(nanoseconds: 1_800_000_000_300_000_000)
        let small = planner.effectiveTime(now: now, clusterSize: 5)
        let large = planner.effectiveTime(now: now, clusterSize: 1000)
        #expect(small.nanoseconds % 1_000_000_000 == 0 && large.nanoseconds % 1_000_000_000 == 0)
        #expect(small - now >= .seconds(2) && small - now < .seconds(3))
        #expect(large - now >= .seconds(6))
    }
}
