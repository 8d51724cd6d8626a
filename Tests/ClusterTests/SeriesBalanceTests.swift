import Foundation
import Primitives
import Testing

@testable import Cluster

@Suite struct SeriesBalanceTests {
    static func names(_ count: Int) -> [String] { (0..<count).map { "agentd-\($0)" } }

    /// A series count from a long tail: Pareto (α = 1.3) from 100 series, cut at 5,000 (node
    /// exporters next to a few kube-state-metrics).
    static func pareto(_ random: inout SplitMix64) -> UInt64 {
        let uniform = Double(random.next() >> 11 | 1) / Double(1 << 53)
        return UInt64(min(100 * pow(uniform, -1 / 1.3), 5_000))
    }

    /// `count` targets with random keys and long-tailed weights, from a fixed seed.
    static func longTailed(count: Int, seed: UInt64) -> [UInt64: UInt64] {
        var random = SplitMix64(seed: seed)
        var weights: [UInt64: UInt64] = [:]
        for _ in 0..<count { weights[random.next()] = Self.pareto(&random) }
        return weights
    }

    /// The series each member carries when the plain ring decides (what `balance = "targets"` does).
    static func ringImbalance(_ ring: HashRing, _ weights: [UInt64: UInt64]) -> Double {
        var loads = Dictionary(uniqueKeysWithValues: ring.members.map { ($0, UInt64(0)) })
        for (key, weight) in weights { loads[ring.owner(of: key)!]! += weight }
        let total = loads.values.reduce(0, +)
        return Double(loads.values.max()!) * Double(loads.count) / Double(total)
    }

    @Test(arguments: [3, 5, 10, 20, 50, 100])
    func seriesPerMemberStayWithinTenPercentOfTheMean(members: Int) {
        let ring = HashRing(members: Self.names(members))
        let weights = Self.longTailed(count: 40 * members, seed: UInt64(members))
        let balance = SeriesBalance(ring: ring, weights: weights)
        #expect(balance.imbalance <= 1.10, "\(balance.loads)")
        #expect(weights.keys.allSatisfy { balance.owner(of: $0) != nil })
        #expect(balance.loads.values.reduce(0, +) == weights.values.reduce(0, +))
        print(
            "N=\(members): series max/mean \(balance.imbalance) balanced, \(Self.ringImbalance(ring, weights)) by the ring"
        )
    }

    @Test func everyMemberComputesTheSameAssignmentWhateverTheOrderItLearnedTheWeightsIn() {
        let ring = HashRing(members: Self.names(10).reversed())
        let weights = Self.longTailed(count: 400, seed: 7)
        var shuffled: [UInt64: UInt64] = [:]
        var random = SplitMix64(seed: 1)
        for (key, weight) in weights.shuffled(using: &random) { shuffled[key] = weight }
        let first = SeriesBalance(ring: ring, weights: weights)
        let second = SeriesBalance(ring: HashRing(members: Self.names(10)), weights: shuffled)
        #expect(first == second)
    }

    @Test func weightNoiseOfFivePercentMovesNoTarget() {
        let ring = HashRing(members: Self.names(10))
        let published = Self.longTailed(count: 400, seed: 11)
        let before = SeriesBalance(ring: ring, weights: published)
        var random = SplitMix64(seed: 3)
        for _ in 0..<20 {
            var next: [UInt64: UInt64] = [:]
            for (key, weight) in published {
                let noise = Double(random.next() % 1001) / 10_000 - 0.05  // −5 % … +5 %
                let measured = UInt64((Double(weight) * (1 + noise)).rounded())
                next[key] = SeriesBalance.published(weight, measured: measured)
            }
            #expect(next == published)
            #expect(SeriesBalance(ring: ring, weights: next) == before)
        }
    }

    @Test func aWeightIsRepublishedOnlyOnceItLeavesTheBand() {
        #expect(SeriesBalance.published(nil, measured: 120) == 120)
        #expect(SeriesBalance.published(0, measured: 120) == 120)
        #expect(SeriesBalance.published(100, measured: 110) == 100)
        #expect(SeriesBalance.published(100, measured: 90) == 100)
        #expect(SeriesBalance.published(100, measured: 111) == 111)
        #expect(SeriesBalance.published(100, measured: 89) == 89)
    }

    @Test(arguments: [3, 10, 100])
    func aJoinMovesLittleMoreSeriesThanItsShare(members: Int) {
        let weights = Self.longTailed(count: 40 * members, seed: 5)
        let before = SeriesBalance(ring: HashRing(members: Self.names(members)), weights: weights)
        let after = SeriesBalance(ring: HashRing(members: Self.names(members + 1)), weights: weights)
        let total = weights.values.reduce(0, +)
        let moved = weights.filter { before.owner(of: $0.key) != after.owner(of: $0.key) }.values.reduce(0, +)
        let fraction = Double(moved) / Double(total)
        let ideal = 1 / Double(members + 1)
        print("N=\(members)→\(members + 1): moved \(fraction) of the series, ideal \(ideal)")
        #expect(after.imbalance <= 1.10)
        #expect(fraction <= 3 * ideal)
    }

    @Test func aTargetHeavierThanTheBoundGoesWhereItMustAndTheRestStayEven() {
        // One target of 10,000 series among 3 members carrying 3,000 more: nobody can stay within
        // 10 % of the mean, so the giant takes a member of its own and the other two share the
        // rest within 10 % of theirs (1,500).
        var weights: [UInt64: UInt64] = [1: 10_000]
        for key in 2...31 { weights[UInt64(key) &* 0x9E37_79B9_7F4A_7C15] = 100 }
        let balance = SeriesBalance(ring: HashRing(members: Self.names(3)), weights: weights)
        let giant = balance.owner(of: 1)!
        #expect(balance.loads[giant] == 10_000)
        let others = balance.loads.filter { $0.key != giant }.values
        #expect(others.reduce(0, +) == 3_000 && others.allSatisfy { $0 <= 1_650 }, "\(balance.loads)")
    }

    @Test func unmeasuredTargetsCountAsTheMeanOfTheMeasured() {
        let ring = HashRing(members: Self.names(2))
        let balance = SeriesBalance(ring: ring, weights: [1: 300, 2: 100, 3: 0])
        #expect(balance.loads.values.reduce(0, +) == 600)
        #expect(SeriesBalance(ring: ring, weights: [1: 0, 2: 0]).loads.values.reduce(0, +) == 2)
        #expect(SeriesBalance(ring: HashRing(members: []), weights: [1: 5]).owner(of: 1) == nil)
    }
}
