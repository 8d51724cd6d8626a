import Primitives

/// Reads the codec's primitive types from a byte array, throwing ``MessageRejection/malformed(offset:reason:)``
/// with the offset of the first byte that does not fit. Never traps on any input.
struct BinaryReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(_ bytes: [UInt8], from offset: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.end = min(end ?? bytes.count, bytes.count)
        self.offset = min(offset, self.end)
    }

    var remaining: Int { self.end - self.offset }

    func fail(_ reason: String, at offset: Int? = nil) -> MessageRejection {
        .malformed(offset: offset ?? self.offset, reason: reason)
    }

    mutating func readByte(_ field: String) throws(MessageRejection) -> UInt8 {
        guard self.offset < self.end else { throw self.fail("truncated \(field)") }
        defer { self.offset += 1 }
        return self.bytes[self.offset]
    }

    mutating func readVarint(_ field: String) throws(MessageRejection) -> UInt64 {
        let start = self.offset
        switch Varint.read(self.bytes, at: &self.offset, end: self.end) {
        case .value(let value): return value
        case .truncated: throw self.fail("truncated \(field)", at: start)
        case .overflow: throw self.fail("\(field) overflows 64 bits", at: start)
        }
    }

    mutating func readSignedVarint(_ field: String) throws(MessageRejection) -> Int64 {
        let raw = try self.readVarint(field)
        return Varint.unzigzag(raw)
    }

    mutating func readFixed64(_ field: String) throws(MessageRejection) -> UInt64 {
        guard self.remaining >= 8 else { throw self.fail("truncated \(field)") }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(self.bytes[self.offset + index]) << (8 * index) }
        self.offset += 8
        return value
    }

    /// A varint length (at most `maximumLength`) and that many bytes of valid UTF-8.
    mutating func readString(_ field: String, maximumLength: Int) throws(MessageRejection) -> String {
        let start = self.offset
        let length = try self.readVarint("\(field) length")
        guard length <= UInt64(maximumLength) else {
            throw self.fail("\(field) of \(length) bytes exceeds \(maximumLength)", at: start)
        }
        guard Int(length) <= self.remaining else { throw self.fail("truncated \(field)", at: start) }
        let slice = self.bytes[self.offset..<(self.offset + Int(length))]
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw self.fail("\(field) is not valid UTF-8")
        }
        self.offset += Int(length)
        return string
    }

    /// A varint element count, checked against the bytes left (each element takes at least
    /// `minimumElementSize` bytes) so that a forged count cannot make the decoder allocate.
    mutating func readCount(_ field: String, minimumElementSize: Int, maximum: Int) throws(MessageRejection) -> Int {
        let start = self.offset
        let count = try self.readVarint("\(field) count")
        guard count <= UInt64(maximum) else {
            throw self.fail("\(count) \(field) exceed the limit of \(maximum)", at: start)
        }
        guard count * UInt64(minimumElementSize) <= UInt64(self.remaining) else {
            throw self.fail("\(count) \(field) cannot fit in the \(self.remaining) bytes left", at: start)
        }
        return Int(count)
    }
}
