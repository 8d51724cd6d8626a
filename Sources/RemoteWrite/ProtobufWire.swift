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

}
