/// The 14-byte record header and the rules that decide whether a record is valid.
/// See docs/wal-format.md, "Record framing".
enum RecordFrame {
    static let headerSize = 14
    static let maxLength = 64 << 20
    static let compressedFlag: UInt8 = 1

    /// Appends the framed form of `record` to `buffer`, compressing its payload when
    /// that saves bytes. `scratch` is reused between calls to avoid allocations.
    static func append(_ record: Record, to buffer: inout [UInt8], scratch: inout [UInt8]) {
        let compressed = LZ4.compress(record.payload, into: &scratch)
        let stored = compressed ? scratch : record.payload
        let start = buffer.count
        buffer.append(contentsOf: [0, 0, 0, 0])  // crc, filled in below
        appendUInt32(UInt32(stored.count), to: &buffer)
        appendUInt32(UInt32(record.payload.count), to: &buffer)
        buffer.append(record.type)
        buffer.append(compressed ? compressedFlag : 0)
        buffer.append(contentsOf: stored)
        let crc = buffer.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + 4)...])) }
        buffer.withUnsafeMutableBytes { $0.storeBytes(of: crc.littleEndian, toByteOffset: start, as: UInt32.self) }
    }

    /// Size of the framed record for a payload of `rawLength` bytes at most.
    static func framedSizeBound(rawLength: Int) -> Int { headerSize + rawLength }

    enum Outcome {
        case record(Record, size: Int)
        /// Not enough bytes for the record the header announces (or for a header).
        case incomplete(needed: Int)
        case invalid(String)
    }

    enum HeaderOutcome {
        case valid(type: UInt8, length: Int)
        case incomplete(needed: Int)
        case invalid(String)
    }

    /// Checks the header at the start of `bytes` (rules 1 and 2 of the format), without
    /// looking at the payload.
    static func header(_ bytes: UnsafeRawBufferPointer) -> HeaderOutcome {
        guard bytes.count >= headerSize else { return .incomplete(needed: headerSize) }
        let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        let rawLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        let type = bytes[12]
        let flags = bytes[13]
        if type == 0 {
            return .invalid(crc == 0 && length == 0 ? "zeroed bytes where a record should start" : "record type 0")
        }
        if flags & ~compressedFlag != 0 { return .invalid("unknown record flags 0x\(String(flags, radix: 16))") }
        if length > maxLength { return .invalid("record length \(length) exceeds \(maxLength)") }
        if flags & compressedFlag != 0 {
            if rawLength <= length || rawLength > 255 * length + 16 {
                return .invalid("compressed record lengths \(length)/\(rawLength) are inconsistent")
            }
        } else if rawLength != length {
            return .invalid("record lengths \(length)/\(rawLength) differ without compression")
        }
        return .valid(type: type, length: length)
    }

    /// Decodes the record at the start of `bytes`.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        let type: UInt8
        let length: Int
        switch header(bytes) {
        case .valid(let validType, let validLength): (type, length) = (validType, validLength)
        case .incomplete(let needed): return .incomplete(needed: needed)
        case .invalid(let reason): return .invalid(reason)
        }
        let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let rawLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        let compressed = bytes[13] & compressedFlag != 0
        guard bytes.count >= headerSize + length else { return .incomplete(needed: headerSize + length) }
        let covered = UnsafeRawBufferPointer(rebasing: bytes[4..<(headerSize + length)])
        let actual = CRC32C.checksum(covered)
        if actual != crc {
            return .invalid(
                "checksum mismatch (stored 0x\(String(crc, radix: 16)), computed 0x\(String(actual, radix: 16)))")
        }
        let stored = UnsafeRawBufferPointer(rebasing: bytes[headerSize..<(headerSize + length)])
        let payload: [UInt8]
        if compressed {
            guard let decompressed = LZ4.decompress(stored, rawLength: rawLength) else {
                return .invalid("lz4 payload does not decompress to \(rawLength) bytes")
            }
            payload = decompressed
        } else {
            payload = Array(stored)
        }
        return .record(Record(type: type, payload: payload), size: headerSize + length)
    }

    private static func appendUInt32(_ value: UInt32, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }
}
