import Primitives
import Testing

@Suite struct ShortCopyTests {
    /// Every length from 0 to 80, at every alignment of both sides within 8 bytes: the bytes
    /// arrive in order, and not one byte before or after the destination range is written.
    @Test func copiesExactlyTheBytesAskedForAtEveryLengthAndAlignment() {
        let source = (0..<128).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let guardByte: UInt8 = 0xA5
        for count in 0...80 {
            for sourceOffset in 0..<8 {
                for destinationOffset in 0..<8 {
                    var destination = [UInt8](repeating: guardByte, count: 128)
                    source.withUnsafeBytes { from in
                        destination.withUnsafeMutableBytes { to in
                            (to.baseAddress! + 16 + destinationOffset).copyShort(
                                from: from.baseAddress! + sourceOffset, count: count)
                        }
                    }
                    let start = 16 + destinationOffset
                    let copied = Array(destination[start..<start + count])
                    #expect(
                        copied == Array(source[sourceOffset..<sourceOffset + count]),
                        "count \(count), offsets \(sourceOffset)/\(destinationOffset)")
                    let outside = destination[..<start] + destination[(start + count)...]
                    #expect(
                        outside.allSatisfy { $0 == guardByte },
                        "count \(count): a byte outside the range was written")
                }
            }
        }
    }
}
