import Primitives

/// A label set in the WAL's encoding (a varint count, then each name and value as a varint
/// length and its UTF-8 bytes; docs/wal-format.md), as a range of a byte array that may hold
/// other things too: usually a `series` record's payload, shared with the decoder that read it,
/// so that a reader keeping a series' labels keeps no copy of them.
public struct EncodedLabels: Sendable {
    /// The bytes the labels are a range of.
    public let storage: [UInt8]
    /// Where the encoding starts in `storage` (at the count).
    public let start: Int
    /// Where it ends.
    public let end: Int

    /// The labels `storage[start..<end]` encode.
    ///
    /// - Precondition: the range holds one whole label encoding (as a decoder checks it).
    init(storage: [UInt8], start: Int, end: Int) {
        self.storage = storage
        self.start = start
        self.end = end
    }

    /// The encoding of `labels`, in a buffer of its own.
    public init(_ labels: Labels) {
        var writer = ByteWriter(capacity: 16 * labels.count + 8)
        writer.labels(labels)
        self.init(storage: writer.bytes, start: 0, end: writer.bytes.count)
    }

    /// Calls `body` with each label's name and value bytes, in order.
    public func forEach(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        storage.withUnsafeBytes { bytes in
            var index = start
            let count = Self.varint(bytes, &index)
            for _ in 0..<count {
                let nameLength = Self.varint(bytes, &index)
                let name = UnsafeRawBufferPointer(rebasing: bytes[index..<(index + nameLength)])
                index += nameLength
                let valueLength = Self.varint(bytes, &index)
                let value = UnsafeRawBufferPointer(rebasing: bytes[index..<(index + valueLength)])
                index += valueLength
                body(name, value)
            }
        }
    }

    /// The labels, decoded.
    public var labels: Labels {
        var labels: [Label] = []
        forEach { name, value in
            labels.append(Label(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        return Labels(sorted: labels)
    }

    /// A varint of an encoding that has been checked whole (what the fields of an
    /// `EncodedLabels` are): reads it at `index` and moves `index` past it.
    @inlinable @inline(__always)
    public static func varint(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> Int {
        var value = 0
        var shift = 0
        while true {
            let byte = bytes[index]
            index += 1
            value |= Int(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }
}
