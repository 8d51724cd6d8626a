import Primitives

#if canImport(Glibc)
    import Glibc
#endif

/// A label set in the WAL's encoding (a varint count, then each name and value as a varint
/// length and its UTF-8 bytes; docs/wal-format.md), as a range of bytes that may hold other
/// things too: a `series` record's payload (copied once per record into a ``ByteChunk``, shared
/// by every series the record defines), or the series registry's own bytes, so that whoever
/// keeps a series' labels this way keeps no copy of them.
public struct EncodedLabels: Sendable {
    /// The bytes the encoding is a range of: a raw allocation that never moves.
    @usableFromInline let storage: ByteChunk
    /// Where the encoding starts in the storage (at the count), and ends: 32 bits each, so that
    /// a label set keeping one stays small (storages are WAL records and registry chunks).
    @usableFromInline let bounds: (start: UInt32, end: UInt32)

    var start: Int { Int(bounds.start) }
    var end: Int { Int(bounds.end) }

    /// - Precondition: `storage`'s bytes `start..<end` hold one whole label encoding (as a decoder
    ///   checks it), and `end` is below 4 GiB.
    init(_ storage: ByteChunk, start: Int, end: Int) {
        precondition(start <= end && end <= storage.count, "labels are encoded inside their storage")
        self.storage = storage
        self.bounds = (UInt32(start), UInt32(end))
    }

    /// The encoding of `labels`, in a buffer of its own.
    public init(_ labels: Labels) {
        var writer = ByteWriter(capacity: 16 * labels.count + 8)
        writer.labels(labels)
        self.init(copying: writer.bytes)
    }

    /// A label encoding copied out of `bytes` (which must hold one whole encoding, checked).
    init(copying bytes: [UInt8]) {
        self.init(bytes.withUnsafeBytes { ByteChunk(copying: $0) }, start: 0, end: bytes.count)
    }

    /// How many bytes the encoding takes (without touching them).
    @inlinable
    public var byteCount: Int { Int(bounds.end) - Int(bounds.start) }

    /// The encoding's bytes. They never move, and stay valid as long as this value or a copy of
    /// it lives: a holder may keep the buffer beside the value and read it without a closure.
    @inlinable
    public var unsafeBytes: UnsafeRawBufferPointer { storage.bytes(Int(bounds.start), Int(bounds.end)) }

    /// Calls `body` with the encoding's bytes.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        withExtendedLifetime(storage) { body(unsafeBytes) }
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
