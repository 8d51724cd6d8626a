import Primitives
import Testing

@testable import Cluster

/// `clustering { balance = "series" }` in the ownership tracker and on the wire: published weights
/// move targets at planned slots, with their cause, and every member computes the same owners.
@Suite struct WeightedOwnershipTests {
    static let start = ClusterTime(seconds: 1_800_000_000)
    static let names = ["agentd-1", "agentd-2", "agentd-3"]

    /// Two large targets and eighteen small ones, 1 s apart, balanced by series.
    static let targets: [ScrapeTarget] = {
        var random = SplitMix64(seed: 20)
        return (0..<20).map { _ in ScrapeTarget(key: random.next(), interval: .seconds(1), balance: .series) }
    }()
    static let weights: [UInt64: UInt64] = Dictionary(
        uniqueKeysWithValues: targets.enumerated().map { ($1.key, $0 < 2 ? 2_000 : 200) })

    static func member(_ name: String, weights: WeightPublication? = nil) -> Member {
        Member(
            node: Node(name: name, address: "\(name):1"), incarnation: 0, liveness: .alive,
            history: [StateChange(role: .participant, lamport: 1, effective: .zero)], weights: weights)
    }

    static func loads(_ tracker: OwnershipTracker, at time: ClusterTime) -> [String: UInt64] {
        var loads: [String: UInt64] = [:]
        for target in targets { loads[tracker.owner(of: target.key, at: time)!, default: 0] += weights[target.key]! }
        return loads
    }

    static func imbalance(_ loads: [String: UInt64]) -> Double {
        Double(loads.values.max()!) * Double(names.count) / Double(loads.values.reduce(0, +))
    }

    /// A tracker with the three members and the targets, no weights published yet.
    static func ringTracker() -> OwnershipTracker {
        var tracker = OwnershipTracker()
        _ = tracker.update(timeline: MembershipTimeline(names.map { member($0) }), now: start)
        _ = tracker.setTargets(targets, now: start)
        return tracker
    }

    @Test func publishedWeightsMoveTargetsAtTheirPlannedSlotWithTheirCause() throws {
        var tracker = Self.ringTracker()
        let ringLoads = Self.loads(tracker, at: Self.start + .seconds(1))
        #expect(
            tracker.owners(of: Self.targets[0].key, at: Self.start) == [
                tracker.ring(at: Self.start).owner(of: Self.targets[0].key)!
            ])

        // agentd-2 publishes every weight, effective 2 s after it learned them (a planned change).
        let effective = Self.start + .seconds(4)
        let publication = WeightPublication(version: 1, effective: effective, weights: Self.weights)
        let members = Self.names.map { Self.member($0, weights: $0 == "agentd-2" ? publication : nil) }
        let changes = tracker.update(timeline: MembershipTimeline(members), now: Self.start + .seconds(2))

        let balancedLoads = Self.loads(tracker, at: effective + .seconds(1))
        print(
            "series per member: ring \(ringLoads.sorted { $0.key < $1.key }) → balanced \(balancedLoads.sorted { $0.key < $1.key })"
        )
        #expect(Self.imbalance(balancedLoads) <= 1.10, "\(balancedLoads)")
        #expect(Self.imbalance(ringLoads) > 1.10, "the ring already balances this draw: \(ringLoads)")
        #expect(!changes.isEmpty)
        #expect(tracker.lateSlots == 0)
        for change in changes {
            let target = try #require(Self.targets.first { $0.key == change.target })
            #expect(change.effective == target.firstSlot(atOrAfter: effective))
            #expect(change.previousOwner == tracker.owner(of: change.target, at: effective - .seconds(1)))
            #expect(change.newOwner == tracker.owner(of: change.target, at: effective))
            guard case .rebalanced(let rebalance) = change.cause else {
                Issue.record("cause \(change.cause)")
                continue
            }
            #expect(rebalance.member == change.previousOwner || rebalance.member == change.newOwner)
            #expect(rebalance.weight == Self.weights[change.target])
            #expect(rebalance.loads == balancedLoads)
        }
        // Every target that did not change kept its owner across the publication.
        let moved = Set(changes.map(\.target))
        for target in Self.targets where !moved.contains(target.key) {
            #expect(
                tracker.owner(of: target.key, at: effective - .seconds(1))
                    == tracker.owner(of: target.key, at: effective))
        }
        #expect(tracker.weight(of: Self.targets[0].key, at: effective) == 2_000)
        #expect(tracker.weight(of: Self.targets[0].key, at: effective - .seconds(1)) == nil)
    }

    @Test func aRepublicationInsideTheBandMovesNothing() {
        var tracker = Self.ringTracker()
        let first = WeightPublication(version: 1, effective: Self.start + .seconds(4), weights: Self.weights)
        _ = tracker.update(
            timeline: MembershipTimeline(Self.names.map { Self.member($0, weights: $0 == "agentd-1" ? first : nil) }),
            now: Self.start + .seconds(2))
        // Another member measures every target again, each within ±5 %: what it publishes is the
        // agreed weight, so the new publication changes no input.
        var random = SplitMix64(seed: 5)
        var republished: [UInt64: UInt64] = [:]
        for (key, weight) in Self.weights {
            let noise = Double(random.next() % 101) / 1_000 - 0.05
            let measured = UInt64(Double(weight) * (1 + noise))
            republished[key] = SeriesBalance.published(weight, measured: measured)
        }
        #expect(republished == Self.weights)
        let second = WeightPublication(version: 2, effective: Self.start + .seconds(9), weights: republished)
        let changes = tracker.update(
            timeline: MembershipTimeline(
                Self.names.map {
                    Self.member($0, weights: $0 == "agentd-1" ? first : $0 == "agentd-3" ? second : nil)
                }),
            now: Self.start + .seconds(7))
        #expect(changes.isEmpty)
    }

    @Test func membersThatSawTheSamePublicationsInAnotherOrderAgreeOnEveryOwner() {
        let early = WeightPublication(version: 1, effective: Self.start + .seconds(4), weights: Self.weights)
        var heavier = Self.weights
        heavier[Self.targets[5].key] = 1_500
        let late = WeightPublication(version: 3, effective: Self.start + .seconds(8), weights: heavier)
        // One member hears agentd-1's publication, then agentd-3's; the other both at once, in
        // another order; each before it takes effect.
        var one = Self.ringTracker()
        _ = one.update(
            timeline: MembershipTimeline(Self.names.map { Self.member($0, weights: $0 == "agentd-1" ? early : nil) }),
            now: Self.start + .seconds(1))
        _ = one.update(
            timeline: MembershipTimeline(
                Self.names.map { Self.member($0, weights: $0 == "agentd-1" ? early : $0 == "agentd-3" ? late : nil) }),
            now: Self.start + .seconds(3))
        var other = Self.ringTracker()
        _ = other.update(
            timeline: MembershipTimeline(
                Self.names.reversed().map {
                    Self.member($0, weights: $0 == "agentd-1" ? early : $0 == "agentd-3" ? late : nil)
                }),
            now: Self.start + .seconds(3))
        for offset in [0, 4, 6, 8, 12] {
            let time = Self.start + .seconds(offset)
            for target in Self.targets {
                #expect(one.owner(of: target.key, at: time) == other.owner(of: target.key, at: time))
            }
        }
        #expect(one.weight(of: Self.targets[5].key, at: Self.start + .seconds(8)) == 1_500)
        #expect(one.lateSlots == 0 && other.lateSlots == 0)
    }

    @Test func aDeadMembersPublicationNoLongerCounts() {
        var tracker = Self.ringTracker()
        let publication = WeightPublication(version: 1, effective: Self.start + .seconds(4), weights: Self.weights)
        var members = Self.names.map { Self.member($0, weights: $0 == "agentd-3" ? publication : nil) }
        _ = tracker.update(timeline: MembershipTimeline(members), now: Self.start + .seconds(2))
        #expect(tracker.seriesLoads(at: Self.start + .seconds(5)) != nil)
        let death = Self.start + .seconds(10)
        members[2].history.append(StateChange(role: .dead, lamport: 2, effective: death))
        members[2].liveness = .dead
        _ = tracker.update(timeline: MembershipTimeline(members), now: death)
        // Its targets go back to the ring of the two left; nobody's weights are in effect.
        #expect(tracker.seriesLoads(at: death) == nil)
        for target in Self.targets {
            #expect(
                tracker.owner(of: target.key, at: death)
                    == HashRing(members: ["agentd-1", "agentd-2"]).owner(of: target.key))
        }
    }

    @Test func weightsTravelOnTheWireOnlyWhenSomeoneHasPublished() throws {
        let codec = MessageCodec(clusterName: "c")
        let plain = Message(
            sender: Node(name: "agentd-1", address: "a:1"), sequence: 1, sentAt: Self.start, body: .gossip,
            gossip: [Self.member("agentd-2")])
        let plainBytes = codec.encode(plain)
        #expect(plainBytes[3] == 0, "a message without weights keeps the earlier encoding")
        var weighed = plain
        weighed.gossip.append(
            Self.member(
                "agentd-3", weights: WeightPublication(version: 9, effective: Self.start, weights: Self.weights)))
        let bytes = codec.encode(weighed)
        #expect(bytes[3] == 2)
        #expect(try codec.decode(bytes) == weighed)
        #expect(try codec.decode(plainBytes) == plain)
        #expect(MessageCodec.encodedSize(of: weighed.gossip[1]) > 20 * 9)
        // A key twice is refused with its offset.
        var twice = bytes
        let first = try #require(Self.weights.keys.sorted().first)
        let second = try #require(Self.weights.keys.sorted().dropFirst().first)
        let keyBytes = withUnsafeBytes(of: second.littleEndian) { Array($0) }
        let firstBytes = withUnsafeBytes(of: first.littleEndian) { Array($0) }
        let at = try #require(Self.find(keyBytes, in: twice))
        twice.replaceSubrange(at..<(at + 8), with: firstBytes)
        #expect(throws: MessageRejection.malformed(offset: at, reason: "target \(first) weighed twice")) {
            try codec.decode(twice)
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }

    @Test func aPublicationSpreadsByGossipAndTellsTheShell() throws {
        let codec = MessageCodec(clusterName: "c")
        var a = Membership(node: Node(name: "agentd-1", address: "a:1"), codec: codec, now: Self.start, seed: 1)
        var b = Membership(node: Node(name: "agentd-2", address: "b:1"), codec: codec, now: Self.start, seed: 2)
        a.seed(with: [b.selfMember], now: Self.start)
        b.seed(with: [a.selfMember], now: Self.start)
        let published = a.publishWeights(Self.weights, now: Self.start)
        #expect(published.contains(.weightsChanged("agentd-1")))
        let own = try #require(a.selfMember.weights)
        #expect(own.weights == Self.weights && own.effective >= Self.start + .seconds(2))
        // a's next gossip round carries it; b learns it and says so.
        var heard: [Directive] = []
        var now = Self.start
        for _ in 0..<20 where !heard.contains(.weightsChanged("agentd-1")) {
            now = now + .milliseconds(200)
            for case .send(let message, let destination) in a.onTick(now: now) where destination == "b:1" {
                heard += try b.receive(codec.encode(message), now: now)
            }
        }
        #expect(heard.contains(.weightsChanged("agentd-1")))
        #expect(b.members["agentd-1"]?.weights == own)
        // A newer publication replaces it; an older one heard again does not.
        _ = a.publishWeights([:], now: now)
        #expect(try #require(a.selfMember.weights).version > own.version)
    }
}
