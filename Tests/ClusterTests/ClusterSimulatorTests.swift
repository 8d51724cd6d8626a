import Testing

@testable import Cluster

@Suite struct ClusterSimulatorTests {
    @Test(arguments: [3, 10, 100])
    func aKilledMemberIsDeclaredDeadByEveryoneAndASlowOneByNobody(size: Int) {
        let simulator = ClusterSimulator(size: size, conditions: .lossyLAN, seed: UInt64(size))
        let slow = 1
        let victim = size - 1
        simulator.setSlowness(.milliseconds(300), of: slow)
        var wronglyDeclared: [String] = []
        simulator.onChange = { _, change in
            if change.kind == .declaredDead && change.member.name != ClusterSimulator.name(of: victim) {
                wronglyDeclared.append(change.member.name)
            }
        }
        simulator.run(for: .seconds(5))
        simulator.kill(victim)
        let killedAt = simulator.now
        let detected = simulator.run(
            until: { sim in sim.running.allSatisfy { sim.liveness(of: victim, seenBy: $0) == .dead } },
            limit: .seconds(20)
        )
        #expect(detected)
        if size <= 10 { #expect(simulator.now - killedAt < .seconds(4)) }
        simulator.run(for: .seconds(20))
        #expect(wronglyDeclared.isEmpty)
        #expect(simulator.agrees)
    }

    @Test func deadAndDepartedMembersAreForgottenAfterTheRetentionAndNotLearnedAgain() {
        var settings = MembershipSettings()
        settings.deadMemberRetention = .seconds(60)
        let simulator = ClusterSimulator(size: 6, settings: settings, conditions: .lossyLAN, seed: 21)
        simulator.run(for: .seconds(3))
        simulator.kill(5)
        simulator.leave(4)
        let down = simulator.run(
            until: { sim in
                sim.running.allSatisfy {
                    sim.liveness(of: 5, seenBy: $0) == .dead && sim.liveness(of: 4, seenBy: $0) == .left
                }
            }, limit: .seconds(20))
        #expect(down)
        // Still known just before the retention has passed, for everyone.
        simulator.run(for: .seconds(50))
        #expect(simulator.running.allSatisfy { simulator.liveness(of: 5, seenBy: $0) == .dead })
        // Forgotten by everyone once it has, and not taken back from anyone's gossip or push-pull
        // (two push-pull intervals later).
        #expect(
            simulator.run(
                until: { sim in
                    sim.running.allSatisfy {
                        sim.liveness(of: 5, seenBy: $0) == nil && sim.liveness(of: 4, seenBy: $0) == nil
                    }
                }, limit: .seconds(30)))
        simulator.run(for: .seconds(70))
        for observer in simulator.running {
            #expect(simulator.liveness(of: 5, seenBy: observer) == nil)
            #expect(simulator.liveness(of: 4, seenBy: observer) == nil)
            #expect(simulator.peers[observer].membership.clusterSize == 4)
        }
        #expect(simulator.agrees)
    }

    @Test func aHealedPartitionConvergesBackToOneCluster() {
        let simulator = ClusterSimulator(size: 10, conditions: .lossyLAN, seed: 11)
        simulator.run(for: .seconds(3))
        simulator.partition([Array(0..<5)])
        simulator.run(for: .seconds(10))
        #expect(simulator.liveness(of: 7, seenBy: 0) == .dead)
        #expect(simulator.liveness(of: 0, seenBy: 7) == .dead)
        simulator.heal()
        #expect(simulator.run(until: { $0.agrees }, step: .milliseconds(500), limit: .seconds(90)))
        let timelines = simulator.peers.map { $0.membership.timeline.participants(at: simulator.now + .seconds(30)) }
        #expect(Set(timelines).count == 1)
        #expect(timelines[0].count == 10)
    }

    @Test func membersJoiningThroughASeedAgreeOnTheRing() {
        let simulator = ClusterSimulator(size: 6, conditions: .lossyLAN, seed: 5, bootstrapped: false)
        for index in 1..<6 { simulator.join(index, through: [0]) }
        simulator.run(for: .seconds(2))
        for index in 0..<6 { simulator.becomeParticipant(index) }
        #expect(simulator.run(until: { $0.agrees }, limit: .seconds(30)))
        simulator.run(for: .seconds(10))
        let later = simulator.now + .seconds(5)
        let views = simulator.peers.map { $0.membership.timeline.participants(at: later) }
        #expect(views.allSatisfy { $0 == (0..<6).map(ClusterSimulator.name(of:)).sorted() })
    }

    @Test func runsAreReproducibleFromTheSeed() {
        func run() -> (Int, Int) {
            let simulator = ClusterSimulator(size: 10, seed: 99)
            simulator.run(for: .seconds(3))
            simulator.kill(4)
            simulator.run(for: .seconds(5))
            return (simulator.messagesSent, simulator.bytesSent)
        }
        #expect(run() == run())
    }
}
