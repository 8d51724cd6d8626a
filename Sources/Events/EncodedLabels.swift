import Primitives

#if canImport(Glibc)
    import Glibc
#endif

/// A label set in the WAL's encoding (a varint count, then each name and value as a varint
/// length and its UTF-8 bytes; docs/wal-format.md), as a range of bytes that may hold other
/// things too: a `series` record's payload shared with the decoder that read it, or the series
/// registry's own copy, so that whoever keeps a series' labels this way keeps no copy of them.
public struct EncodedLabels: Sendable {
    enum Storage: Sendable {
        case array([UInt8])
        case chunk(ByteChunk)
    }

    let storage: Storage
    /// Where the encoding starts in the storage (at the count), and ends: 32 bits each, so that
    /// a label set keeping one stays small (storages are WAL records and registry chunks).
    private let bounds: (start: UInt32, end: UInt32)

    var start: Int { Int(bounds.start) }
    var end: Int { Int(bounds.end) }

    /// - Precondition: `storage[start..<end]` holds one whole label encoding (as a decoder checks
    ///   it), and `end` is below 4 GiB.
    init(_ storage: Storage, start: Int, end: Int) {
        precondition(start <= end && end <= Int(UInt32.max), "labels are encoded below 4 GiB into their storage")
        self.storage = storage
        self.bounds = (UInt32(start), UInt32(end))
    }

    /// The encoding of `labels`, in a buffer of its own.
    public init(_ labels: Labels) {
        var writer = ByteWriter(capacity: 16 * labels.count + 8)
        writer.labels(labels)
        self.init(.array(writer.bytes), start: 0, end: writer.bytes.count)
    }

    /// Calls `body` with the encoding's bytes.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        switch storage {
        case .array(let array):
            array.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
        case .chunk(let chunk):
            body(chunk.bytes(start, end))
        }
    }

    /// Calls `body` with each label's name and value bytes, in order.
    public func forEach(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        withUnsafeBytes { bytes in
            var index = 0
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

    /// Whether both encode the same labels (the same bytes: equal label sets encode equally).
    public func hasSameBytes(as other: EncodedLabels) -> Bool {
        withUnsafeBytes { mine in
            other.withUnsafeBytes { theirs in
                mine.count == theirs.count
                    && (mine.isEmpty || memcmp(mine.baseAddress!, theirs.baseAddress!, mine.count) == 0)
            }
        }
    }

    /// A varint of an encoding that has been checked whole (what an `EncodedLabels` holds): reads
    /// it at `index` and moves `index` past it.
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
