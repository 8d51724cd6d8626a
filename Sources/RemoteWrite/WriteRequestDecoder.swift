import Primitives

/// Decodes `prometheus.WriteRequest` messages, for tests and test receivers.
///
/// Strict where it matters: truncated varints, lengths past the end of their message, wrong wire
/// types for known fields and invalid UTF-8 are rejected with the byte offset where they occur.
/// Unknown fields (metadata = 3, exemplars, histograms) are skipped as protobuf requires.
public enum WriteRequestDecoder {
    /// Decodes a whole, uncompressed `WriteRequest`.
    public static func decode(_ bytes: some Collection<UInt8>) throws(WriteRequestDecodingError) -> [RemoteWriteSeries]
    {
        let array = Array(bytes)
        var reader = Reader(bytes: array, start: 0, end: array.count)
        var series: [RemoteWriteSeries] = []
        while !reader.isAtEnd {
            let (field, wireType, tagOffset) = try reader.readTag()
            if field == 1 {
                guard wireType == .lengthDelimited else {
                    throw .init(offset: tagOffset, reason: .unexpectedWireType(field: field, in: "WriteRequest"))
                }
                var message = try reader.readSubmessage()
                series.append(try decodeTimeSeries(&message))
            } else {
                try reader.skip(wireType, tagOffset: tagOffset)
            }
        }
        return series
    }

    /// Decompresses a snappy block and decodes the `WriteRequest` inside.
    public static func decode(snappyCompressed body: some Collection<UInt8>) throws -> [RemoteWriteSeries] {
        try decode(Snappy.uncompress(body))
    }

    private static func decodeTimeSeries(_ reader: inout Reader) throws(WriteRequestDecodingError) -> RemoteWriteSeries
    {
        var series = RemoteWriteSeries(labels: [], samples: [])
        while !reader.isAtEnd {
            let (field, wireType, tagOffset) = try reader.readTag()
            switch field {
            case 1, 2:
                guard wireType == .lengthDelimited else {
                    throw .init(offset: tagOffset, reason: .unexpectedWireType(field: field, in: "TimeSeries"))
                }
                var message = try reader.readSubmessage()
                if field == 1 {
                    series.labels.append(try decodeLabel(&message))
                } else {
                    series.samples.append(try decodeSample(&message))
                }
            default:
                try reader.skip(wireType, tagOffset: tagOffset)
            }
        }
        return series
    }

    private static func decodeLabel(_ reader: inout Reader) throws(WriteRequestDecodingError) -> RemoteWriteLabel {
        var label = RemoteWriteLabel(name: "", value: "")
        while !reader.isAtEnd {
            let (field, wireType, tagOffset) = try reader.readTag()
            switch field {
            case 1, 2:
                guard wireType == .lengthDelimited else {
                    throw .init(offset: tagOffset, reason: .unexpectedWireType(field: field, in: "Label"))
                }
                let text = try reader.readString()
                if field == 1 { label.name = text } else { label.value = text }
            default:
                try reader.skip(wireType, tagOffset: tagOffset)
            }
        }
        return label
    }

    private static func decodeSample(_ reader: inout Reader) throws(WriteRequestDecodingError) -> RemoteWriteSample {
        var sample = RemoteWriteSample(timestamp: 0, value: 0)
        while !reader.isAtEnd {
            let (field, wireType, tagOffset) = try reader.readTag()
            switch (field, wireType) {
            case (1, .fixed64):
                sample.value = Double(bitPattern: try reader.readFixed64())
            case (2, .varint):
                sample.timestamp = Int64(bitPattern: try reader.readVarint())
            case (1, _), (2, _):
                throw .init(offset: tagOffset, reason: .unexpectedWireType(field: field, in: "Sample"))
            default:
                try reader.skip(wireType, tagOffset: tagOffset)
            }
        }
        return sample
    }

    /// A cursor over one message's bytes; offsets are absolute within the whole request.
    private struct Reader {
        let bytes: [UInt8]
        var offset: Int
        let end: Int

        init(bytes: [UInt8], start: Int, end: Int) {
            self.bytes = bytes
            self.offset = start
            self.end = end
        }

        var isAtEnd: Bool { self.offset >= self.end }

        mutating func readVarint() throws(WriteRequestDecodingError) -> UInt64 {
            let start = self.offset
            switch Varint.read(self.bytes, at: &self.offset, end: self.end) {
            case .value(let value): return value
            case .truncated: throw .init(offset: start, reason: .truncated(expected: "varint"))
            case .overflow: throw .init(offset: start, reason: .varintOverflow)
            }
        }

        mutating func readTag() throws(WriteRequestDecodingError) -> (UInt64, ProtobufWire.WireType, Int) {
            let start = self.offset
            let key = try self.readVarint()
            guard let wireType = ProtobufWire.WireType(rawValue: UInt8(key & 7)) else {
                throw .init(offset: start, reason: .unsupportedWireType(UInt8(key & 7)))
            }
            guard key >> 3 != 0 else { throw .init(offset: start, reason: .invalidFieldNumber) }
            return (key >> 3, wireType, start)
        }

        mutating func readFixed64() throws(WriteRequestDecodingError) -> UInt64 {
            guard self.end - self.offset >= 8 else {
                throw .init(offset: self.offset, reason: .truncated(expected: "fixed64"))
            }
            var value: UInt64 = 0
            for index in 0..<8 {
                value |= UInt64(self.bytes[self.offset + index]) << (8 * UInt64(index))
            }
            self.offset += 8
            return value
        }

        mutating func readLengthPrefix() throws(WriteRequestDecodingError) -> Range<Int> {
            let start = self.offset
            let length = try self.readVarint()
            guard length <= UInt64(self.end - self.offset) else {
                throw .init(
                    offset: start, reason: .lengthOutOfBounds(length: length, available: self.end - self.offset))
            }
            let range = self.offset..<(self.offset + Int(length))
            self.offset = range.upperBound
            return range
        }

        mutating func readSubmessage() throws(WriteRequestDecodingError) -> Reader {
            let range = try self.readLengthPrefix()
            return Reader(bytes: self.bytes, start: range.lowerBound, end: range.upperBound)
        }

        mutating func readString() throws(WriteRequestDecodingError) -> String {
            let range = try self.readLengthPrefix()
            guard let text = String(validating: self.bytes[range], as: UTF8.self) else {
                throw .init(offset: range.lowerBound, reason: .invalidUTF8)
            }
            return text
        }

        mutating func skip(_ wireType: ProtobufWire.WireType, tagOffset: Int) throws(WriteRequestDecodingError) {
            switch wireType {
            case .varint:
                _ = try self.readVarint()
            case .fixed64:
                _ = try self.readFixed64()
            case .lengthDelimited:
                _ = try self.readLengthPrefix()
            case .fixed32:
                guard self.end - self.offset >= 4 else {
                    throw .init(offset: self.offset, reason: .truncated(expected: "fixed32"))
                }
                self.offset += 4
            }
        }
    }
}

/// A malformed `WriteRequest`, with the byte offset of the fault in the uncompressed message.
public struct WriteRequestDecodingError: Error, Hashable, CustomStringConvertible {
    /// What was wrong.
    public enum Reason: Hashable, Sendable {
        case truncated(expected: String)
        case varintOverflow
        case unsupportedWireType(UInt8)
        case invalidFieldNumber
        case unexpectedWireType(field: UInt64, in: String)
        case lengthOutOfBounds(length: UInt64, available: Int)
        case invalidUTF8
    }

    /// Byte offset in the uncompressed message.
    public var offset: Int
    /// What was wrong.
    public var reason: Reason

    /// Creates an error.
    public init(offset: Int, reason: Reason) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String {
        let what: String
        switch self.reason {
        case .truncated(let expected): what = "truncated \(expected)"
        case .varintOverflow: what = "varint longer than 64 bits"
        case .unsupportedWireType(let type): what = "unsupported wire type \(type)"
        case .invalidFieldNumber: what = "field number 0"
        case .unexpectedWireType(let field, let message): what = "wrong wire type for \(message) field \(field)"
        case .lengthOutOfBounds(let length, let available):
            what = "length \(length) exceeds the \(available) bytes left in the message"
        case .invalidUTF8: what = "string is not valid UTF-8"
        }
        return "WriteRequest: \(what) at byte offset \(self.offset)"
    }
}
