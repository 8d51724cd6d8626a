import Primitives
import Testing

/// The one varint coding of the WAL, the gossip and remote write: round trips, sizes, and the
/// strict reader's two refusals.
@Suite struct VarintTests {
    @Test func valuesRoundTripAndTakeTheSizeTheyAnnounce() {
        var random = SplitMix64(seed: 7)
        let values: [UInt64] =
            [0, 1, 127, 128, 16_383, 16_384, .max, .max - 1]
            + (0..<1_000).map { _ in
                random.next() >> (random.next() % 64)
            }
        for value in values {
            var bytes: [UInt8] = [0xAA]
            Varint.append(value, to: &bytes)
            #expect(bytes.count - 1 == Varint.size(of: value))
            var index = 1
            #expect(Varint.read(bytes, at: &index, end: bytes.count) == .value(value))
            #expect(index == bytes.count)
            // Written at a pointer: the same bytes, and the position right after them.
            var written = [UInt8](repeating: 0xAA, count: 12)
            let end = written.withUnsafeMutableBufferPointer { buffer in
                Varint.write(value, at: buffer.baseAddress! + 1) - buffer.baseAddress!
            }
            #expect(Array(written[0..<end]) == bytes)
            #expect(written[end] == 0xAA)
            // Read back unchecked (values an Int holds): the value, and the position after it.
            if value <= UInt64(Int.max) {
                let (read, after) = bytes.withUnsafeBytes { buffer in
                    var cursor = buffer.baseAddress! + 1
                    return (Varint.readChecked(&cursor), cursor - buffer.baseAddress!)
                }
                #expect(read == Int(value) && after == bytes.count)
            }
        }
        for value: Int64 in [0, -1, 1, .min, .max, -64, 63] {
            #expect(Varint.unzigzag(Varint.zigzag(value)) == value)
        }
        #expect(Varint.zigzag(-1) == 1 && Varint.zigzag(1) == 2)
    }

    @Test func aTruncatedOrOverlongVarintIsRefusedAndTheIndexStays() {
        var index = 0
        #expect(Varint.read([0x80, 0x80], at: &index, end: 2) == .truncated)
        #expect(Varint.read([0x80, 0x01], at: &index, end: 1) == .truncated)
        #expect(index == 0)
        let eleven = [UInt8](repeating: 0xFF, count: 10) + [0x01]
        #expect(Varint.read(eleven, at: &index, end: eleven.count) == .overflow)
        let tenthTooBig = [UInt8](repeating: 0xFF, count: 9) + [0x02]
        #expect(Varint.read(tenthTooBig, at: &index, end: tenthTooBig.count) == .overflow)
        #expect(index == 0)
    }
}
