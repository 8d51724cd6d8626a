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
}
