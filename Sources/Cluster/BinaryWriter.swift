import Primitives

/// Appends the codec's primitive types to a byte array.
struct BinaryWriter {
    var bytes: [UInt8]

    init(capacity: Int = 256) {
        self.bytes = []
        self.bytes.reserveCapacity(capacity)
    }

    mutating func writeByte(_ byte: UInt8) {
        self.bytes.append(byte)
    }

    /// LEB128 unsigned varint.
    mutating func writeVarint(_ value: UInt64) {
        Varint.append(value, to: &self.bytes)
    }

    /// Zig-zag signed varint.
    mutating func writeSignedVarint(_ value: Int64) {
        self.writeVarint(Varint.zigzag(value))
    }

    /// Eight bytes, little-endian (hashes: a varint would take ten).
    mutating func writeFixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { self.bytes.append(contentsOf: $0) }
    }

    /// A varint byte length followed by the UTF-8 bytes.
    mutating func writeString(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            self.writeVarint(UInt64(utf8.count))
            self.bytes.append(contentsOf: utf8)
        }
    }
}
