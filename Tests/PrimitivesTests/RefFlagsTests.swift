import Primitives
import Testing

@Suite struct RefFlagsTests {
    /// Flags are set one by one, read back exactly (none set beyond the last word, or ever for
    /// a neighbour), and cleared all at once.
    @Test func flagsAreSetReadAndClearedExactly() {
        var flags = RefFlags()
        #expect(!flags.contains(0) && !flags.contains(1_000_000))
        let set = [0, 1, 63, 64, 65, 127, 128, 4_095, 100_000]
        for index in set { flags.insert(index) }
        for index in 0...100_100 {
            #expect(flags.contains(index) == set.contains(index), "\(index)")
        }
        #expect(!flags.contains(10_000_000))
        flags.removeAll()
        #expect(set.allSatisfy { !flags.contains($0) })
        flags.insert(64)
        #expect(flags.contains(64) && !flags.contains(63) && !flags.contains(65))
    }
}
