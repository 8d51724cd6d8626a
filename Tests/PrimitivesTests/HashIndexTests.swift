import Primitives
import Testing

@Suite struct HashIndexTests {
    @Test func everyPositionIsFoundAfterTheIndexGrows() {
        var keys: [UInt64] = []
        var index = HashIndex()
        for key in stride(from: UInt64(7), to: 7 * 50_000, by: 7) {
            let hash = HashIndex.hash(key)
            #expect(index.find(hash: hash, where: { keys[$0] == key }) == nil)
            keys.append(key)
            index.insert(keys.count - 1, hash: hash) { HashIndex.hash(keys[$0]) }
        }
        #expect(index.count == keys.count)
        for (position, key) in keys.enumerated() {
            #expect(index.find(hash: HashIndex.hash(key), where: { keys[$0] == key }) == position)
        }
        #expect(index.find(hash: HashIndex.hash(3), where: { keys[$0] == 3 }) == nil)
    }

    @Test func positionsSharingOneHashAreToldApartByTheCaller() {
        var names: [String] = []
        var index = HashIndex()
        for number in 0..<100 {
            names.append("name-\(number)")
            index.insert(number, hash: 42) { _ in 42 }
        }
        for (position, name) in names.enumerated() {
            #expect(index.find(hash: 42, where: { names[$0] == name }) == position)
        }
        #expect(index.find(hash: 42, where: { names[$0] == "absent" }) == nil)
    }

    /// Positions from 32,767 on take four bytes a slot: an index holding smaller ones, given a
    /// larger one, widens and still finds them all.
    @Test func aPositionBeyondSixteenBitsWidensTheIndexAndKeepsEveryPosition() {
        var keys: [UInt64: Int] = [:]
        var index = HashIndex()
        func add(_ key: UInt64, at position: Int) {
            keys[key] = position
            index.insert(position, hash: HashIndex.hash(key)) { position in
                HashIndex.hash(keys.first { $0.value == position }!.key)
            }
        }
        for key in 0..<UInt64(100) { add(key, at: Int(key)) }
        add(1_000, at: 40_000)
        add(1_001, at: Int(Int32.max) - 1)
        add(1_002, at: 100)
        #expect(index.count == 103)
        for (key, position) in keys {
            #expect(index.find(hash: HashIndex.hash(key), where: { $0 == position }) == position)
        }
        #expect(index.find(hash: HashIndex.hash(5_000), where: { _ in false }) == nil)
    }
}
