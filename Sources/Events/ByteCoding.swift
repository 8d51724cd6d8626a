import Primitives

/// LEB128 varints, zig-zag, fixed-width little-endian integers and length-prefixed
/// strings: the primitives of the event codec.
struct ByteWriter {
    var bytes: [UInt8]

    init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    mutating func varint(_ value: UInt64) { Varint.append(value, to: &bytes) }

    @inline(__always)
    mutating func varint(_ value: Int) { varint(UInt64(value)) }

    @inline(__always)
    mutating func zigzag(_ value: Int64) {
        varint(Varint.zigzag(value))
    }

    mutating func uint64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            varint(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func labels(_ labels: Labels) {
        varint(labels.count)
        for label in labels {
            string(label.name)
            string(label.value)
        }
    }
}

/// Reads what `ByteWriter` wrote; every read checks bounds and throws with the offset.
struct ByteReader {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { index >= bytes.count }

    func error(_ message: String) -> EventDecodeError {
        EventDecodeError(offset: index, message: message)
    }

    @inline(__always)
    mutating func byte() throws(EventDecodeError) -> UInt8 {
        guard index < bytes.count else { throw error("unexpected end of payload") }
        defer { index += 1 }
        return bytes[index]
    }

    @inline(__always)
    mutating func varint() throws(EventDecodeError) -> UInt64 {
        switch Varint.read(bytes, at: &index, end: bytes.count) {
        case .value(let value): return value
        case .truncated: throw error("unexpected end of payload in a varint")
        case .overflow: throw error("varint over 64 bits")
        }
    }

    mutating func count(limit: Int = 1 << 28) throws(EventDecodeError) -> Int {
        let value = try varint()
        guard value <= UInt64(limit) else { throw error("count \(value) is implausibly large") }
        return Int(value)
    }

    @inline(__always)
    mutating func zigzag() throws(EventDecodeError) -> Int64 {
        let value = try varint()
        return Varint.unzigzag(value)
    }

    mutating func uint64() throws(EventDecodeError) -> UInt64 {
        guard index + 8 <= bytes.count else { throw error("unexpected end of payload in a fixed64") }
        var value: UInt64 = 0
        for shift in 0..<8 { value |= UInt64(bytes[index + shift]) << (8 * UInt64(shift)) }
        index += 8
        return value
    }

    mutating func string() throws(EventDecodeError) -> String {
        let length = try count()
        guard index + length <= bytes.count else { throw error("string of \(length) bytes runs past the payload") }
        defer { index += length }
        return String(decoding: bytes[index..<(index + length)], as: UTF8.self)
    }

    /// The fixed start of a `samples` payload (docs/wal-format.md): flags, target key,
    /// the scrape's timestamp, the sample count, and where the route's bytes lie (flag 4),
    /// their structure checked (``route(in:)`` decodes them).
    mutating func samplesHeader() throws(EventDecodeError) -> (
        flags: UInt8, target: UInt64, timestamp: Int64, count: Int, route: Range<Int>?
    ) {
        let flags = try byte()
        guard flags & ~7 == 0 else { throw error("unknown samples flags \(flags)") }
        let target = try uint64()
        let timestamp = try zigzag()
        let count = try count()
        guard flags & 4 != 0 else { return (flags, target, timestamp, count, nil) }
        let start = index
        for _ in 0..<(try self.count(limit: 1 << 16)) {
            let length = try self.count()
            guard index + length <= bytes.count else {
                throw error("receiver of \(length) bytes runs past the payload")
            }
            index += length
        }
        return (flags, target, timestamp, count, start..<index)
    }

    /// The receivers of a route whose bytes ``samplesHeader()`` found at `range`.
    func route(in range: Range<Int>) -> [String] {
        var reader = ByteReader(bytes)
        reader.index = range.lowerBound
        // The structure was checked by `samplesHeader`.
        var route: [String] = []
        for _ in 0..<((try? reader.count(limit: 1 << 16)) ?? 0) {
            guard let receiver = try? reader.string() else { break }
            route.append(receiver)
        }
        return route
    }

    /// Steps over what `labels()` would read, checking its structure but making no strings.
    mutating func skipLabels() throws(EventDecodeError) {
        let count = try count(limit: Labels.maximumCount)
        for _ in 0..<(2 * count) {
            let length = try self.count()
            guard index + length <= bytes.count else {
                throw error("string of \(length) bytes runs past the payload")
            }
            index += length
        }
    }

    mutating func labels() throws(EventDecodeError) -> Labels {
        let count = try count(limit: Labels.maximumCount)
        var labels: [Label] = []
        labels.reserveCapacity(count)
        for _ in 0..<count { labels.append(Label(try string(), try string())) }
        return Labels(sorted: labels)
    }
}

/// A payload that does not decode, with the byte offset inside the payload.
public struct EventDecodeError: Error, Sendable, CustomStringConvertible {
    public var offset: Int
    public var message: String

    public var description: String { "payload offset \(offset): \(message)" }
}
