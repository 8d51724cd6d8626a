/// Reads the answer section of a DNS response (RFC 1035 §4.1), following name compression.
public enum DNSMessage {
    /// The records of the answer section.
    public static func answers(_ bytes: [UInt8]) throws(DNSMessageError) -> [DNSRecord] {
        var reader = Reader(bytes: bytes)
        let header = try reader.bytes(12)
        let questions = Int(header[4]) << 8 | Int(header[5])
        let answers = Int(header[6]) << 8 | Int(header[7])
        for _ in 0..<questions {
            _ = try reader.name()
            _ = try reader.bytes(4)
        }
        var records: [DNSRecord] = []
        for _ in 0..<answers {
            _ = try reader.name()
            let type = try reader.uint16()
            _ = try reader.uint16()  // class
            _ = try reader.bytes(4)  // TTL
            let length = Int(try reader.uint16())
            let start = reader.offset
            guard start + length <= bytes.count else { throw DNSMessageError("record data runs past the message") }
            var data = Reader(bytes: bytes, offset: start)
            switch type {
            case 1:
                guard length == 4 else { throw DNSMessageError("A record of \(length) bytes") }
                records.append(.a(try data.bytes(4).map(String.init).joined(separator: ".")))
            case 28:
                guard length == 16 else { throw DNSMessageError("AAAA record of \(length) bytes") }
                records.append(.aaaa(IPv6Text.format(try data.bytes(16))))
            case 33:
                let priority = try data.uint16()
                let weight = try data.uint16()
                let port = try data.uint16()
                records.append(.srv(priority: priority, weight: weight, port: port, target: try data.name()))
            case 15:
                let preference = try data.uint16()
                records.append(.mx(preference: preference, exchange: try data.name()))
            case 2:
                records.append(.ns(try data.name()))
            case 5:
                records.append(.cname(try data.name()))
            default:
                records.append(.other(type: type))
            }
            reader.offset = start + length
        }
        return records
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func bytes(_ count: Int) throws(DNSMessageError) -> ArraySlice<UInt8> {
            guard offset + count <= bytes.count else { throw DNSMessageError("message ends early") }
            defer { offset += count }
            return bytes[offset..<offset + count]
        }

        mutating func uint16() throws(DNSMessageError) -> UInt16 {
            let two = try bytes(2)
            return UInt16(two[two.startIndex]) << 8 | UInt16(two[two.startIndex + 1])
        }

        /// A domain name in presentation form with its trailing dot (`.` for the root).
        mutating func name() throws(DNSMessageError) -> String {
            var labels: [String] = []
            var position = offset
            var jumped = false
            var jumps = 0
            var length = 0
            while true {
                guard position < bytes.count else { throw DNSMessageError("name runs past the message") }
                let count = Int(bytes[position])
                if count & 0xC0 == 0xC0 {
                    guard position + 1 < bytes.count else { throw DNSMessageError("name runs past the message") }
                    jumps += 1
                    guard jumps <= 64 else { throw DNSMessageError("name compression loops") }
                    if !jumped { offset = position + 2 }
                    jumped = true
                    position = (count & 0x3F) << 8 | Int(bytes[position + 1])
                    continue
                }
                guard count & 0xC0 == 0 else { throw DNSMessageError("unknown label type") }
                if count == 0 {
                    if !jumped { offset = position + 1 }
                    break
                }
                guard position + 1 + count <= bytes.count else { throw DNSMessageError("name runs past the message") }
                length += count + 1
                guard length <= 255 else { throw DNSMessageError("name longer than 255 bytes") }
                labels.append(String(decoding: bytes[position + 1..<position + 1 + count], as: UTF8.self))
                position += 1 + count
            }
            return labels.isEmpty ? "." : labels.joined(separator: ".") + "."
        }
    }
}

/// A DNS response that could not be read.
public struct DNSMessageError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// IPv6 addresses in RFC 5952 text: lower-case hex, the longest run of zero groups as `::`.
enum IPv6Text {
    static func format(_ bytes: ArraySlice<UInt8>) -> String {
        let base = bytes.startIndex
        let groups = (0..<8).map { UInt16(bytes[base + 2 * $0]) << 8 | UInt16(bytes[base + 2 * $0 + 1]) }
        var best = (start: -1, length: 0)
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index > best.length && end - index > 1 { best = (index, end - index) }
            index = end
        }
        func hex(_ range: Range<Int>) -> String {
            range.map { String(groups[$0], radix: 16) }.joined(separator: ":")
        }
        guard best.start >= 0 else { return hex(0..<8) }
        return hex(0..<best.start) + "::" + hex(best.start + best.length..<8)
    }
}
