/// LEB128 unsigned varints and zig-zag signed ones: the integer coding of the WAL's event records,
/// the gossip messages and the remote-write protobuf.
public enum Varint {
    /// Appends `value` as a LEB128 varint: 7 bits a byte, the low group first, the high bit set on
    /// every byte but the last.
    @inline(__always)
    public static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// How many bytes `value` takes as a varint: one per started group of 7 bits; 0 takes one.
    @inline(__always)
    public static func size(of value: UInt64) -> Int {
        let bits = 64 - (value | 1).leadingZeroBitCount
        return (bits + 6) / 7
    }

    /// Zig-zag: small magnitudes of either sign become small unsigned values (0, -1, 1, -2 → 0, 1, 2, 3).
    @inline(__always)
    public static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    /// The inverse of `zigzag`.
    @inline(__always)
    public static func unzigzag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }
}
