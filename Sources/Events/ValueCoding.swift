/// How one sample value is coded against the previous value of the same series.
/// See docs/wal-format.md, "samples".
enum ValueCoding {
    static let maxExactInteger = Double(1 << 53)

    @inline(__always)
    static func encode(_ value: UInt64, previous: UInt64, into out: inout [UInt8]) {
        if value == previous {
            out.append(0)
            return
        }
        let current = Double(bitPattern: value)
        let before = Double(bitPattern: previous)
        if isSmallInteger(current), isSmallInteger(before) {
            let delta = Int64(current) - Int64(before)
            let zigzag = UInt64(bitPattern: (delta << 1) ^ (delta >> 63))
            if zigzag < 128 {
                out.append(0x80 | UInt8(zigzag))
                return
            }
            if zigzag < 1 << 49 {  // at most 7 varint bytes: shorter than the 8-byte XOR worst case
                out.append(0x41)
                var rest = zigzag
                while rest >= 0x80 {
                    out.append(UInt8(truncatingIfNeeded: rest) | 0x80)
                    rest >>= 7
                }
                out.append(UInt8(rest))
                return
            }
        }
        let xor = value ^ previous
        let leading = xor.leadingZeroBitCount / 8
        let trailing = xor.trailingZeroBitCount / 8
        out.append(UInt8(1 + 8 * leading + trailing))
        var shift = 56 - 8 * leading
        let stop = 8 * trailing
        while shift >= stop {
            out.append(UInt8(truncatingIfNeeded: xor >> UInt64(shift)))
            shift -= 8
        }
    }

    /// Decodes one value per ref from `bytes[offset...]`, each against and into `previous[ref]`,
    /// storing the values in `values` when given. Returns the offset after the last value.
    /// The refs must index `previous`. This is the replay's inner loop: raw pointers, one
    /// bounds check per read.
    static func decode(
        _ refs: UnsafeBufferPointer<UInt64>, previous: UnsafeMutablePointer<UInt64>,
        from bytes: UnsafeBufferPointer<UInt8>,
        at offset: Int, into values: UnsafeMutablePointer<Double>?
    ) throws(EventDecodeError) -> Int {
        guard let base = bytes.baseAddress else {
            if refs.isEmpty { return offset }
            throw EventDecodeError(offset: offset, message: "unexpected end of payload")
        }
        let end = bytes.count
        var index = offset
        for (position, ref) in refs.enumerated() {
            guard index < end else { throw EventDecodeError(offset: index, message: "unexpected end of payload") }
            let head = base[index]
            index += 1
            let before = previous[Int(ref)]
            var bits: UInt64
            if head >= 0x80 {
                let zigzag = UInt64(head & 0x7F)
                bits = try integerStep(before, zigzag: zigzag, at: index)
            } else if head == 0 {
                bits = before
            } else if head <= 0x40 {
                let code = Int(head) - 1
                let leading = code >> 3
                let trailing = code & 7
                let count = 8 - leading - trailing
                guard count > 0 else {
                    throw EventDecodeError(offset: index - 1, message: "bad XOR value code \(head)")
                }
                guard index + count <= end else {
                    throw EventDecodeError(offset: index, message: "unexpected end of payload in a value")
                }
                var xor: UInt64 = 0
                for byte in 0..<count { xor = xor << 8 | UInt64(base[index + byte]) }
                index += count
                bits = before ^ (xor << UInt64(8 * trailing))
            } else if head == 0x41 {
                var zigzag: UInt64 = 0
                var shift: UInt64 = 0
                while true {
                    guard index < end, shift < 64 else {
                        throw EventDecodeError(offset: index, message: "bad varint in an integer value")
                    }
                    let byte = base[index]
                    index += 1
                    zigzag |= UInt64(byte & 0x7F) << shift
                    if byte < 0x80 { break }
                    shift += 7
                }
                bits = try integerStep(before, zigzag: zigzag, at: index)
            } else {
                throw EventDecodeError(offset: index - 1, message: "unknown value code 0x\(String(head, radix: 16))")
            }
            previous[Int(ref)] = bits
            values?[position] = Double(bitPattern: bits)
        }
        return index
    }

    @inline(__always)
    private static func integerStep(_ previous: UInt64, zigzag: UInt64, at offset: Int) throws(EventDecodeError)
        -> UInt64
    {
        let delta = Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1)
        let before = Double(bitPattern: previous)
        guard isSmallInteger(before) else {
            throw EventDecodeError(offset: offset, message: "integer delta against a non-integer value")
        }
        return Double(Int64(before) &+ delta).bitPattern
    }

    /// A finite integer of magnitude below 2^53 that is not -0.0: exact as Int64 and back.
    @inline(__always)
    static func isSmallInteger(_ value: Double) -> Bool {
        value.magnitude < maxExactInteger && value.rounded(.towardZero) == value
            && !(value == 0 && value.sign == .minus)
    }
}
