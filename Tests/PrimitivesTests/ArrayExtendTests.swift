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

    /// One element at a time, full storage grows by an eighth (and 64), not twofold, and every
    /// element appended stays in order. (The allocator rounds a large block up to whole 4 KiB
    /// pages, 1,024 of these elements: the capacity may be that much more.)
    @Test func appendingOneAtATimeGrowsTheStorageByAnEighth() {
        var array: [UInt32] = []
        var capacities: Set<Int> = []
        for value in 0..<100_000 as Range<UInt32> {
            let before = array.capacity
            array.appendGrowingByAnEighth(value)
            if array.capacity != before {
                #expect(array.capacity <= before + before / 8 + 64 + 1_024, "grew from \(before) to \(array.capacity)")
                capacities.insert(array.capacity)
            }
        }
        #expect(array == Array(0..<100_000))
        #expect(array.capacity < 100_000 + 100_000 / 8 + 64 + 1_024)
        #expect(capacities.count > 20)
    }
}
