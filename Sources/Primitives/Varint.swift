/// LEB128 unsigned varints and zig-zag signed ones: the integer coding of the WAL's event records,
/// the gossip messages and the remote-write protobuf.
public enum Varint {
    /// Appends `value` as a LEB128 varint: 7 bits a byte, the low group first, the high bit set on
    /// every byte but the last.
    @inlinable @inline(__always)
    public static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// Writes `value` as a LEB128 varint at `pointer` and returns the position after it (the
    /// caller has made room: at most 10 bytes, ``size(of:)`` exactly).
    @inlinable @inline(__always)
    public static func write(_ value: UInt64, at pointer: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
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

    /// Reads the varint at `cursor` and moves `cursor` past it, for bytes already checked whole
    /// (a label encoding a decoder has read, numbers a table wrote): no bound, no overflow check.
    /// Most such varints are lengths and numbers below 128, one byte.
    @inlinable @inline(__always)
    public static func readChecked(_ cursor: inout UnsafeRawPointer) -> Int {
        let first = cursor.load(as: UInt8.self)
        cursor += 1
        if first < 0x80 { return Int(first) }
        var value = Int(first & 0x7F)
        var shift = 7
        while true {
            let byte = cursor.load(as: UInt8.self)
            cursor += 1
            value |= Int(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    /// How many bytes `value` takes as a varint: one per started group of 7 bits; 0 takes one.
    @inlinable @inline(__always)
    public static func size(of value: UInt64) -> Int {
        let bits = 64 - (value | 1).leadingZeroBitCount
        return (bits + 6) / 7
    }

    /// What reading a varint found.
    public enum Read: Equatable {
        case value(UInt64)
        /// The bytes ended inside it.
        case truncated
        /// More than 64 bits: an 11th byte, or a 10th above 1.
        case overflow
    }

    /// Reads the varint at `bytes[index]`, stopping before `end`, and moves `index` past it (on
    /// success only). Strict: a value is at most 10 bytes and 64 bits.
    @inlinable @inline(__always)
    public static func read(_ bytes: [UInt8], at index: inout Int, end: Int) -> Read {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var position = index
        while position < end {
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 { return .overflow }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 {
                index = position
                return .value(result)
            }
            shift += 7
        }
        return .truncated
    }

    /// Zig-zag: small magnitudes of either sign become small unsigned values (0, -1, 1, -2 → 0, 1, 2, 3).
    @inlinable @inline(__always)
    public static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    /// The inverse of `zigzag`.
    @inlinable @inline(__always)
    public static func unzigzag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }
}
