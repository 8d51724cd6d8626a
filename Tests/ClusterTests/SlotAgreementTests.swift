import Primitives
import Testing

@testable import Cluster

/// Ownership and scraping read one slot formula (`ScrapeSlots`): the slot a hand-off takes effect
/// at is a slot the scrape loop wakes for, and every scrape slot has exactly the owner the hand-off
/// announced, before and after it.
@Suite struct SlotAgreementTests {
    static let start = ClusterTime(seconds: 1_800_000_000)

    static func participant(_ name: String, from time: ClusterTime, lamport: UInt64) -> Member {
        Member(
            node: Node(name: name, address: "\(name):1"), incarnation: 0, liveness: .alive, reporters: [],
            history: [StateChange(role: .participant, lamport: lamport, effective: time)])
    }

    @Test func theHandoffSlotIsAScrapeSlotAndOwnersChangeExactlyThere() throws {
        var random = SplitMix64(seed: 11)
        let intervals: [Duration] = [
            .milliseconds(250), .seconds(1), .milliseconds(2500), .seconds(15), .seconds(60), .milliseconds(7919),
        ]
        let targets = (0..<2_000).map { index in
            ScrapeTarget(key: random.next(), interval: intervals[index % intervals.count])
        }
        var tracker = OwnershipTracker()
        let founders = [Self.participant("a", from: .zero, lamport: 1), Self.participant("b", from: .zero, lamport: 1)]
        _ = tracker.update(timeline: MembershipTimeline(founders), now: Self.start)
        _ = tracker.setTargets(targets, now: Self.start)
        let joins = Self.start + .milliseconds(3_333)
        let changes = tracker.update(
            timeline: MembershipTimeline(founders + [Self.participant("c", from: joins, lamport: 2)]),
            now: Self.start + .seconds(1))
        #expect(changes.count > targets.count / 5)
        let moved = Dictionary(uniqueKeysWithValues: changes.map { ($0.target, $0) })
        for target in targets {
            let slots = ScrapeSlots(key: target.key, interval: target.interval)
            // The scrape loop's slots around the join: the one before it, and the next few.
            var slot = slots.slot(atOrAfter: joins.nanoseconds) - slots.interval
            let before = tracker.owner(of: target.key, at: ClusterTime(nanoseconds: slot))
            if let change = moved[target.key] {
                #expect(change.effective.nanoseconds == slots.slot(atOrAfter: change.effective.nanoseconds))
                #expect(change.effective.nanoseconds == slots.slot(atOrAfter: joins.nanoseconds))
                #expect(before == change.previousOwner)
            }
            for _ in 0..<4 {
                let owner = tracker.owner(of: target.key, at: ClusterTime(nanoseconds: slot))
                if let change = moved[target.key] {
                    #expect(owner == (slot < change.effective.nanoseconds ? change.previousOwner : change.newOwner))
                } else {
                    #expect(owner == before)
                }
                slot += slots.interval
            }
        }
    }
}
