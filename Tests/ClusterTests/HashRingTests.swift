import Primitives
import Testing

@testable import Cluster

@Suite struct XXH64Tests {
    @Test func matchesTheReferenceVectors() {
        #expect(XXH64.hash("") == 0xEF46_DB37_51D8_E999)
        #expect(XXH64.hash("a") == 0xD24E_C4F1_A98C_6E5B)
        #expect(XXH64.hash("abc") == 0x44BC_2CF5_AD77_0999)
    }

    @Test func longInputsUseEveryByte() {
        let base = Array(repeating: UInt8(7), count: 100)
        var changed = base
        changed[63] = 8
        #expect(XXH64.hash(base) != XXH64.hash(changed))
    }
}

@Suite struct HashRingTests {
    static let keys: [UInt64] = {
        var random = SplitMix64(seed: 42)
        return (0..<10_000).map { _ in random.next() }
    }()

    static func names(_ count: Int) -> [String] { (0..<count).map { "agentd-\($0)" } }

    @Test func successorsMeetEveryMemberOnceStartingWithTheOwner() {
        let ring = HashRing(members: Self.names(20))
        for key in Self.keys.prefix(200) {
            var met: [String] = []
            #expect(
                ring.firstSuccessor(of: key) {
                    met.append($0); return false
                } == nil)
            #expect(met.first == ring.owner(of: key))
            #expect(met.count == 20 && Set(met).count == 20)
            #expect(ring.firstSuccessor(of: key) { $0 == met[7] } == met[7])
        }
        #expect(HashRing(members: []).firstSuccessor(of: 1) { _ in true } == nil)
    }

    @Test(arguments: [2, 5, 10, 50, 100])
    func loadStaysCloseToTheMean(members: Int) {
        let ring = HashRing(members: Self.names(members))
        var load: [String: Int] = [:]
        for key in Self.keys { load[ring.owner(of: key)!, default: 0] += 1 }
        let mean = Double(Self.keys.count) / Double(members)
        let maximum = Double(load.values.max()!) / mean
        let minimum = Double(Self.names(members).map { load[$0] ?? 0 }.min()!) / mean
        // 512 tokens spread the key space ±~5% (1/√512); 10,000 targets add counting noise
        // of 1/√(targets per member), 10% at 100 members.
        let tolerance = members <= 10 ? 0.15 : 0.35
        #expect(maximum <= 1 + tolerance)
        #expect(minimum >= 1 - tolerance)
    }

    @Test(arguments: [2, 10, 100])
    func aJoinMovesAboutOneNthAndOnlyToTheNewcomer(members: Int) {
        let ring = HashRing(members: Self.names(members))
        let joined = HashRing(members: Self.names(members + 1))
        var moved = 0
        for key in Self.keys where ring.owner(of: key) != joined.owner(of: key) {
            moved += 1
            #expect(joined.owner(of: key) == "agentd-\(members)")
        }
        let fraction = Double(moved) / Double(Self.keys.count)
        let ideal = 1 / Double(members + 1)
        #expect(abs(fraction - ideal) <= max(0.3 * ideal, 0.004))
    }

    @Test(arguments: [3, 10, 100])
    func aLeaveMovesOnlyTheLeaversTargets(members: Int) {
        let ring = HashRing(members: Self.names(members))
        let left = HashRing(members: Self.names(members - 1))
        var moved = 0
        for key in Self.keys where ring.owner(of: key) != left.owner(of: key) {
            moved += 1
            #expect(ring.owner(of: key) == "agentd-\(members - 1)")
        }
        let ideal = 1 / Double(members)
        #expect(abs(Double(moved) / Double(Self.keys.count) - ideal) <= max(0.3 * ideal, 0.004))
    }

    @Test func ownersDoNotDependOnTheOrderMembersAreGiven() {
        let names = Self.names(20)
        let one = HashRing(members: names)
        let other = HashRing(members: names.reversed())
        #expect(Self.keys.allSatisfy { one.owner(of: $0) == other.owner(of: $0) })
    }

    @Test func anEmptyRingOwnsNothingAndALoneMemberOwnsEverything() {
        #expect(HashRing(members: []).owner(of: 1) == nil)
        let ring = HashRing(members: ["solo"])
        #expect(Self.keys.prefix(100).allSatisfy { ring.owner(of: $0) == "solo" })
        #expect(ring.owner(of: .max) == "solo")
    }
}
