/// Protobuf wire-format primitives shared by the encoder and the decoder.
enum ProtobufWire {
    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    @inline(__always)
    static func tag(field: UInt8, wireType: WireType) -> UInt8 {
        field << 3 | wireType.rawValue
    }

    /// Writes a varint at `pointer` and returns the position after it.
    @inline(__always)
    static func writeVarint(_ value: UInt64, at pointer: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var value = value
        var pointer = pointer
        while value >= 0x80 {
            pointer.pointee = UInt8(truncatingIfNeeded: value) | 0x80
            pointer += 1
            value >>= 7
        }
        pointer.pointee = UInt8(value)
        return pointer + 1
    }
}
