import Primitives

#if canImport(Glibc)
    import Glibc
#endif

/// Assigns dense series refs (0, 1, 2, …) to label sets, for the lifetime of the
/// process. Refs are not stable across restarts, and need not be: every segment
/// defines the refs it uses.
///
/// A series is kept as its labels' encoding in a `series` record (labels are sorted
/// and unique, so equal label sets encode equally): that is what the encoder writes.
/// The encodings lie end to end in chunks of ``chunkSize`` bytes that never move (a
/// remote-write label set keeps a range of one rather than a copy), found by ref through
/// two small arrays and by content through a ``HashIndex``: about 15 bytes a series
/// besides the encoding itself, where an array per series keyed in a dictionary took 70.
struct SeriesRegistry {
    /// The most bytes a chunk holds (a larger encoding gets a chunk of its own).
    static let chunkSize = 1 << 20

    private var chunks: [ByteChunk] = []
    /// By ref: the chunk (high 24 bits) and offset in it (low 40 bits) of the encoding.
    private var locations: [UInt64] = []
    /// By ref: the encoding's length.
    private var lengths: [UInt32] = []
    /// Refs by the XXH64 of their encoding.
    private var index = HashIndex()

    var count: Int { locations.count }

    mutating func ref(for labels: Labels) -> UInt64 {
        var writer = ByteWriter(capacity: 128)
        writer.labels(labels)
        return writer.bytes.withUnsafeBytes { bytes in
            let hash = XXH64.hash(bytes)
            if let ref = index.find(hash: hash, where: { self.encoding($0, equals: bytes) }) {
                return UInt64(ref)
            }
            let ref = locations.count
            store(bytes)
            // Taken out while it grows: growing reads the encodings of the refs it holds.
            var index = self.index
            self.index = HashIndex()
            index.insert(ref, hash: hash) { ref in withEncoding(UInt64(ref)) { XXH64.hash($0) } }
            self.index = index
            return UInt64(ref)
        }
    }

    private mutating func store(_ bytes: UnsafeRawBufferPointer) {
        if chunks.isEmpty || chunks[chunks.count - 1].count + bytes.count > chunks[chunks.count - 1].capacity {
            chunks.append(ByteChunk(capacity: Swift.max(Self.chunkSize, bytes.count)))
        }
        let chunk = chunks.count - 1
        let offset = chunks[chunk].append(bytes)
        locations.append(UInt64(chunk) << 40 | UInt64(offset))
        lengths.append(UInt32(bytes.count))
    }

    private func encoding(_ ref: Int, equals bytes: UnsafeRawBufferPointer) -> Bool {
        guard Int(lengths[ref]) == bytes.count else { return false }
        return withEncoding(UInt64(ref)) { memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }
    }

    /// Calls `body` with the encoded labels of `ref`.
    ///
    /// - Precondition: `ref` was handed out by this registry.
    func withEncoding<Result>(_ ref: UInt64, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let labels = encodedLabels(ref)
        return withExtendedLifetime(labels) { body(labels.unsafeBytes) }
    }

    /// The encoded labels of `ref`: a range of the registry's own bytes, which never move.
    ///
    /// - Precondition: `ref` was handed out by this registry.
    func encodedLabels(_ ref: UInt64) -> EncodedLabels {
        let location = locations[Int(ref)]
        let offset = Int(location & (1 << 40 - 1))
        return EncodedLabels(
            chunks[Int(location >> 40)], start: offset, end: offset + Int(lengths[Int(ref)]))
    }

    /// The labels of `ref`, decoded.
    func labels(_ ref: UInt64) -> Labels? {
        guard ref < UInt64(locations.count) else { return nil }
        var reader = ByteReader(withEncoding(ref) { Array($0) })
        return try? reader.labels()
    }
}
