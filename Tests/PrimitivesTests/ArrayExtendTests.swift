import Primitives
import Testing

@Suite struct ArrayExtendTests {
    /// Per-ref arrays grow to the ref asked for, filled with the value, and their storage by an
    /// eighth beyond it: past a thousand elements, one more does not double it.
    @Test func extendingFillsToTheCountAndGrowsTheStorageByAnEighth() {
        var array: [UInt32] = [1, 2]
        array.extend(to: 1_000, with: 7)
        #expect(array.count == 1_000)
        #expect(array[0] == 1 && array[1] == 2 && array[2...].allSatisfy { $0 == 7 })
        #expect(array.capacity >= 1_000 && array.capacity < 1_200)
        array.extend(to: 10, with: 9)
        #expect(array.count == 1_000)
        array.extend(to: array.capacity + 1, with: 9)
        #expect(array.last == 9)
        #expect(array.capacity < array.count + array.count / 8 + 64)
    }
}
