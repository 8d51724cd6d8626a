/// The 14-byte record header and the rules that decide whether a record is valid.
/// See docs/wal-format.md, "Record framing".
enum RecordFrame {
    static let headerSize = 14
    static let maxLength = 64 << 20
    static let compressedFlag: UInt8 = 1
    /// The type of a padding record: what `Repair` writes over a damaged span so that
    /// every later record keeps its offset. Flags 0, a zero-filled payload, a valid CRC.
    /// Readers step over padding and signal a lost record; `Record` refuses this type.
    static let paddingType: UInt8 = 255

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
        case invalid(CorruptionError.Cause)
    }

    enum HeaderOutcome {
        case valid(type: UInt8, length: Int)
        case incomplete(needed: Int)
        case invalid(CorruptionError.Cause)
    }

    /// Rule 2 for the 14 header bytes at the start of `bytes` (which must hold them).
    private static func fault(_ bytes: UnsafeRawBufferPointer) -> CorruptionError.Cause? {
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        let rawLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        let type = bytes[12]
        let flags = bytes[13]
        if type == 0 {
            let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
            return crc == 0 && length == 0 ? .zeroed : .recordTypeZero
        }
        if flags & ~compressedFlag != 0 { return .unknownFlags(flags) }
        if length > maxLength { return .recordTooLong(length: length) }
        if flags & compressedFlag != 0 {
            if rawLength <= length || rawLength > 255 * length + 16 {
                return .compressedLengths(stored: length, raw: rawLength)
            }
        } else if rawLength != length {
            return .lengthsDiffer(stored: length, raw: rawLength)
        }
        return nil
    }

    /// Checks the header at the start of `bytes` (rules 1 and 2 of the format), without
    /// looking at the payload.
    static func header(_ bytes: UnsafeRawBufferPointer) -> HeaderOutcome {
        guard bytes.count >= headerSize else { return .incomplete(needed: headerSize) }
        if let fault = fault(bytes) { return .invalid(fault) }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        return .valid(type: bytes[12], length: length)
    }

    /// The framed size of the record whose header starts `bytes` (which must hold 14
    /// bytes) when that header passes rule 2 and a writer could have written it (its
    /// payload before compression is at most `maxLength` too); nil otherwise. Cheap and
    /// allocation-free: the test a resynchronising scan makes at every byte before it
    /// spends a checksum on a candidate.
    static func plausibleSize(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard fault(bytes) == nil else { return nil }
        let rawLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        guard rawLength <= maxLength else { return nil }
        return headerSize + Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
    }

    /// Writes a padding record of exactly `size` bytes (at least `headerSize`, at most
    /// `headerSize + maxLength`) at `offset` of `file`, the zero payload in chunks.
    static func writePadding(size: Int, at offset: Int, to file: SegmentFile) throws {
        precondition(size >= headerSize && size <= headerSize + maxLength, "padding of \(size) bytes")
        let length = UInt32(size - headerSize)
        var header: [UInt8] = [0, 0, 0, 0]
        appendUInt32(length, to: &header)
        appendUInt32(length, to: &header)
        header += [paddingType, 0]
        let zeros = [UInt8](repeating: 0, count: Swift.min(size - headerSize, 1 << 20))
        var crc = header.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[4...])) }
        var remaining = size - headerSize
        while remaining > 0 {
            let count = Swift.min(remaining, zeros.count)
            crc = zeros.withUnsafeBytes {
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<count]), continuing: crc)
            }
            remaining -= count
        }
        header.withUnsafeMutableBytes { $0.storeBytes(of: crc.littleEndian, toByteOffset: 0, as: UInt32.self) }
        try header.withUnsafeBytes { (bytes) throws in try file.write(bytes, at: offset) }
        var written = headerSize
        while written < size {
            let count = Swift.min(size - written, zeros.count)
            try zeros.withUnsafeBytes { (bytes) throws in
                try file.write(UnsafeRawBufferPointer(rebasing: bytes[..<count]), at: offset + written)
            }
            written += count
        }
    }

    /// How a damaged span of `size` bytes (at least `headerSize`) is covered by padding
    /// records: as few as possible, each at most `headerSize + maxPayload` bytes and none
    /// shorter than a header.
    static func paddingSizes(covering size: Int, maxPayload: Int = maxLength) -> [Int] {
        precondition(size >= headerSize, "a span of \(size) bytes cannot hold a padding record")
        precondition(maxPayload >= headerSize, "padding records of at most \(maxPayload) payload bytes")
        let largest = headerSize + maxPayload
        var sizes: [Int] = []
        var remaining = size
        while remaining > 0 {
            var piece = Swift.min(remaining, largest)
            // Leave either nothing or room for one more header behind.
            if remaining - piece > 0 && remaining - piece < headerSize { piece = remaining - headerSize }
            sizes.append(piece)
            remaining -= piece
        }
        return sizes
    }

    /// Decodes the record at the start of `bytes`.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        let type: UInt8
        let length: Int
        switch header(bytes) {
        case .valid(let validType, let validLength): (type, length) = (validType, validLength)
        case .incomplete(let needed): return .incomplete(needed: needed)
        case .invalid(let cause): return .invalid(cause)
        }
        let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let rawLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        let compressed = bytes[13] & compressedFlag != 0
        guard bytes.count >= headerSize + length else { return .incomplete(needed: headerSize + length) }
        let covered = UnsafeRawBufferPointer(rebasing: bytes[4..<(headerSize + length)])
        let actual = CRC32C.checksum(covered)
        if actual != crc {
            return .invalid(.checksumMismatch(stored: crc, computed: actual))
        }
        let stored = UnsafeRawBufferPointer(rebasing: bytes[headerSize..<(headerSize + length)])
        let payload: [UInt8]
        if compressed {
            guard let decompressed = LZ4.decompress(stored, rawLength: rawLength) else {
                return .invalid(.decompression(rawLength: rawLength))
            }
            payload = decompressed
        } else {
            payload = Array(stored)
        }
        return .record(Record(storedType: type, payload: payload), size: headerSize + length)
    }

    private static func appendUInt32(_ value: UInt32, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }
}
